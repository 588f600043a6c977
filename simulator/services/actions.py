"""User-action signing: challenge, signature → one-time token, and its enforcement.

The token is bound to the caller, method, path and payload (challenges.md §7), single-use,
and expires. Payloads are compared as JSON values, paths without query strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from simulator import errors
from simulator.errors import ApiError
from simulator.models import Application, UserActionToken, evolve
from simulator.services.challenges import (
    assertion_view,
    new_challenge,
    require_signing_credentials,
    signing_credentials,
)
from simulator.services.core import Core
from simulator.services.identity import Caller, consume_challenge, issue_jwt, resolve_challenge
from simulator.services.login import verify_factors
from simulator.tokens import APP_METADATA

_EMPTY = object()


def init(core: Core, app: Application, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    if not caller.user.is_active and core.config.policy.on("user.active"):
        raise errors.bad_request(errors.USER_DEACTIVATED)
    credentials = signing_credentials(core, caller.user, app, caller.token,
                                      include_password_protected=True)
    require_signing_credentials(credentials)
    challenge = new_challenge(
        core, kind="action", user=caller.user, app=app,
        lifetime=core.config.lifetimes.action_challenge,
        allowed_credentials=tuple(c.uuid for c in credentials), token_id=caller.token.id,
        method=body["userActionHttpMethod"].upper(), path=body["userActionHttpPath"],
        payload=body["userActionPayload"],
    )
    return assertion_view(core, challenge, credentials)


def sign(core: Core, app: Application, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    challenge = resolve_challenge(core, body["challengeIdentifier"], kind="action")
    if (challenge.token_id != caller.token.id or challenge.user_id != caller.user.id) \
            and core.config.policy.on("challenge.identity"):
        raise ApiError(400, errors.CHALLENGE_INVALID)
    credential = verify_factors(core, challenge, body, app)
    now = core.now()
    record = UserActionToken(
        id=core.new_id("ua"), org_id=caller.org_id, user_id=caller.user.id,
        token_id=caller.token.id, method=challenge.method, path=challenge.path,
        payload=challenge.payload, expires_at=now + core.config.lifetimes.user_action_token,
        credential_uuid=credential.uuid, challenge_id=challenge.id, date_signed=now,
    )
    # One commit: the challenge is spent exactly when its token exists (and a shared store
    # pays one write lock, not two).
    with core.store.transaction():
        consume_challenge(core, challenge)
        core.store.put("user_actions", record.id, record)
    core.housekeeper.track("user_actions", record.id, record.expires_at)
    token = issue_jwt(core, org_id=caller.org_id, user=caller.user, token_id=record.id,
                      kind="UserAction", expires_at=record.expires_at)
    return {"userAction": token}


def normalise_path(path: str) -> str:
    return unquote(path.split("?", 1)[0])


def _json_value(text: str | bytes | None) -> Any:
    """The JSON value of a payload; empty text, ``{}`` and absent are one value (row 5)."""
    if text is None:
        return _EMPTY
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return ("invalid", text)
    if not text.strip():
        return _EMPTY
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # a signed payload may nest past the stack
        return ("invalid", text)
    if value == {} or value is None:
        return _EMPTY
    return value


def payload_matches(signed: str, actual_body: bytes | None) -> bool:
    signed_value = _json_value(signed)
    actual_value = _json_value(actual_body)
    if isinstance(signed_value, tuple) or isinstance(actual_value, tuple):
        return False
    return _same_json(signed_value, actual_value)


def _same_json(a: Any, b: Any) -> bool:
    """Structural JSON equality: key order ignored, numbers by value, bool never equals int."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_json(a[k], b[k])
                                                                    for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same_json, a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _issued_to_token_credential(core: Core, record: UserActionToken) -> bool:
    """Whether a PAT or service-account token signed this action: such an action is good for
    that token only (challenges.md §7.2), never for its user's other sessions, which may hold
    more permissions than the PAT."""
    token = core.store.get("tokens", record.token_id)
    return token is not None and token.kind in ("Pat", "ServiceAccount")


def redeem(core: Core, caller: Caller, header: str | None, *, method: str, path: str,
           body: bytes | None) -> UserActionToken | None:
    """Check and consume ``X-DFNS-USERACTION`` for a protected request.

    ``None`` only when the TEST-ONLY policy switches ``ua.required`` off and no usable token
    was sent (the request then proceeds as if it needed none).
    """
    policy = core.config.policy
    if not header:
        if not policy.on("ua.required"):
            return None
        raise errors.forbidden(errors.USER_ACTION_INVALID)
    now = core.now()
    # With ua.expiry off the JWT's own exp must not reject the token either.
    claims = core.tokens.decode(header.strip(),
                                now=now if policy.on("ua.expiry") else float("-inf"))
    record: UserActionToken | None = None
    if claims is not None and (claims.get(APP_METADATA) or {}).get("tokenKind") == "UserAction":
        record = core.store.get("user_actions", str(claims.get("jti")))
    if record is None:
        if not policy.on("ua.required"):
            return None
        raise errors.forbidden(errors.USER_ACTION_INVALID)
    if record.expires_at <= now and policy.on("ua.expiry"):
        raise errors.forbidden(errors.USER_ACTION_INVALID)
    same_identity = record.user_id == caller.user.id and (
        record.token_id == caller.token.id
        or not (caller.is_token_credential or _issued_to_token_credential(core, record)))
    if not same_identity and policy.on("ua.bind.identity"):
        raise errors.forbidden(errors.USER_ACTION_INVALID)
    if record.method.upper() != method.upper() and policy.on("ua.bind.method"):
        raise errors.forbidden(errors.USER_ACTION_INVALID)
    if normalise_path(record.path) != normalise_path(path) and policy.on("ua.bind.path"):
        raise errors.forbidden(errors.USER_ACTION_INVALID)
    if not payload_matches(record.payload, body) and policy.on("ua.bind.payload"):
        raise errors.forbidden(errors.USER_ACTION_INVALID)
    with core.store.transaction() as tx:
        current = tx.get("user_actions", record.id)
        if current.used and policy.on("ua.single_use"):
            raise errors.bad_request(errors.USER_ACTION_USED)
        record = evolve(current, used=True)
        tx.put("user_actions", record.id, record)
    return record
