"""Login challenge flows: login code, init, complete, delegated login, logout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator import errors
from simulator.errors import ApiError
from simulator.models import Application, Code, User, evolve
from simulator.services.challenges import (
    assertion_view,
    new_challenge,
    relying_party,
    require_signing_credentials,
    signing_credentials,
)
from simulator.services.core import Core
from simulator.services.factors import verify_assertion
from simulator.services.identity import (
    Caller,
    consume_challenge,
    new_login_session,
    resolve_challenge,
)
from simulator.services.users import active_user, consume_code, save_code


def send_login_code(core: Core, *, org_id: str, username: str) -> dict[str, Any]:
    user = active_user(core, org_id, username, service_account=False)
    code = core.random.code(4, 4)
    save_code(core, Code(
        code=code, purpose="login", org_id=org_id, user_id=user.id,
        expires_at=core.now() + core.config.lifetimes.login_code,
    ))
    core.send_mail(org_id=org_id, to=user.username, kind="login-code",
                   subject="Your Dfns login code", body=f"Your one-time login code: {code}",
                   code=code, user_id=user.id)
    return {"message": "success"}


def init(core: Core, app: Application, *, org_id: str, username: str,
         login_code: str | None) -> dict[str, Any]:
    # Service accounts never log in: they sign with their token's key, and a login session
    # would outlive the token's daysValid.
    user = active_user(core, org_id, username, service_account=False)
    if login_code is not None:
        consume_code(core, code=login_code, purpose="login", user=user)
    credentials = signing_credentials(core, user, app, None,
                                      include_password_protected=login_code is not None)
    require_signing_credentials(credentials)
    challenge = new_challenge(core, kind="login", user=user, app=app,
                              lifetime=core.config.lifetimes.login_challenge,
                              allowed_credentials=tuple(c.uuid for c in credentials))
    return assertion_view(core, challenge, credentials)


def complete(core: Core, app: Application, body: Mapping[str, Any]) -> dict[str, Any]:
    challenge = resolve_challenge(core, body["challengeIdentifier"], kind="login")
    user: User | None = core.store.get("users", challenge.user_id)
    if user is None or user.is_archived:
        raise errors.unauthorized(errors.USER_NOT_FOUND)
    if not user.is_active and core.config.policy.on("user.active"):
        raise errors.bad_request(errors.USER_DEACTIVATED)
    verify_factors(core, challenge, body, app)
    consume_challenge(core, challenge)
    return {"token": new_login_session(core, user, app=app)}


def verify_factors(core: Core, challenge: Any, body: Mapping[str, Any], app: Application) -> Any:
    """First factor, and the second one if sent (it must be a different credential)."""
    rps = [relying_party(app)]
    first = verify_assertion(core, challenge, body["firstFactor"], relying_parties=rps)
    second = body.get("secondFactor")
    if isinstance(second, Mapping):
        other = verify_assertion(core, challenge, second, relying_parties=rps)
        if other.uuid == first.uuid:
            raise ApiError(401, errors.INVALID_CREDENTIAL)
    return first


def delegated(core: Core, app: Application, *, sa: Caller, username: str) -> dict[str, Any]:
    user = active_user(core, sa.org_id, username, service_account=False)
    if not user.is_registered:
        # a session for a user with no credential would let its holder add the first one
        raise errors.bad_request("the user has not completed registration", userId=user.id)
    return {"token": new_login_session(core, user, app=app, delegated_by=sa.user.id)}


def logout(core: Core, caller: Caller, *, all_sessions: bool) -> dict[str, Any]:
    """Revoke the presented login token, or every login session of the user."""
    with core.store.transaction() as tx:
        targets = [caller.token]
        if all_sessions:
            targets = [t for t in tx.find("tokens", "user", caller.user.id) if t.kind == "Token"]
        for token in targets:
            if token.kind == "Token":
                tx.put("tokens", token.id, evolve(token, is_active=False))
    return {"message": "success"}
