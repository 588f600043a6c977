"""Credential challenge flows: regular creation, creation with a one-time code, lifecycle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator import errors
from simulator.clock import iso8601, parse_iso8601
from simulator.errors import ApiError
from simulator.models import (
    CREDENTIAL_KINDS,
    RECOVERY_KEY,
    Application,
    Code,
    Credential,
    User,
    evolve,
)
from simulator.services.challenges import (
    credential_view,
    new_challenge,
    org_relying_parties,
    relying_party,
)
from simulator.services.core import Core
from simulator.services.factors import verify_attestation
from simulator.services.identity import Caller, consume_challenge, resolve_challenge
from simulator.services.users import consume_code, save_code


def _check_kind(kind: str, core: Core | None = None) -> str:
    if kind not in CREDENTIAL_KINDS and (core is None or core.config.policy.on("schema.enum")):
        raise ApiError(400, f"invalid kind: expected one of {', '.join(CREDENTIAL_KINDS)}",
                       details={"field": "kind"})
    return kind


def init(core: Core, app: Application, caller: Caller, *, kind: str) -> dict[str, Any]:
    challenge = new_challenge(core, kind="credential", user=caller.user, app=app,
                              lifetime=core.config.lifetimes.credential_challenge,
                              credential_kind=_check_kind(kind, core), token_id=caller.token.id)
    return credential_view(core, challenge, caller.user)


def complete(core: Core, app: Application, caller: Caller,
             body: Mapping[str, Any]) -> dict[str, Any]:
    challenge = resolve_challenge(core, body["challengeIdentifier"], kind="credential")
    policy = core.config.policy
    if challenge.user_id != caller.user.id and policy.on("challenge.identity"):
        raise ApiError(400, errors.CHALLENGE_INVALID)
    if challenge.via_code and policy.on("challenge.kind"):
        raise ApiError(400, errors.CHALLENGE_INVALID)
    # The FAQ's multi-device flow: the new passkey may live on any rpId of the org.
    rps = org_relying_parties(core, caller.org_id, first=app)
    return _create(core, challenge, caller.user, body, rps)


def _create(core: Core, challenge: Any, user: User, body: Mapping[str, Any],
            rps: list) -> dict[str, Any]:
    kind = body["credentialKind"]
    if kind != challenge.credential_kind and core.config.policy.on("credential.kind"):
        raise ApiError(400,
                       f"credentialKind {kind} does not match the challenge "
                       f"({challenge.credential_kind})",
                       details={"field": "credentialKind"})
    credential = verify_attestation(core, body, org_id=user.org_id, user_id=user.id,
                                    challenge=challenge.challenge, relying_parties=rps,
                                    name=body["credentialName"])
    consume_challenge(core, challenge)
    core.store.put("credentials", credential.uuid, credential)
    return credential_info(credential)


def create_code(core: Core, caller: Caller, *, expiration: Any) -> dict[str, Any]:
    now = core.now()
    expires_at = _parse_expiration(expiration)
    if expires_at <= now and core.config.policy.on("credential.code.future"):
        raise ApiError(400, "invalid expiration: must be in the future",
                       details={"field": "expiration"})
    if expires_at > now + core.config.lifetimes.credential_code_max + 1e-3 \
            and core.config.policy.on("credential.code.max_lifetime"):
        raise ApiError(400, "invalid expiration: must be at most 1 minute in the future",
                       details={"field": "expiration"})
    code = core.random.code(3, 3)
    save_code(core, Code(code=code, purpose="credential", org_id=caller.org_id,
                         user_id=caller.user.id, expires_at=expires_at))
    return {"code": code, "expiration": iso8601(expires_at)}


def _parse_expiration(value: Any) -> float:
    if isinstance(value, str):
        try:
            return parse_iso8601(value)
        except ValueError:
            raise ApiError(400, "invalid expiration: expected an ISO-8601 date",
                           details={"field": "expiration"}) from None
    number = float(value)
    return number / 1000.0 if number > 1e11 else number


def init_with_code(core: Core, app: Application, *, code: str, kind: str) -> dict[str, Any]:
    _check_kind(kind)
    record = consume_code(core, code=code, purpose="credential")
    user: User | None = core.store.get("users", record.user_id)
    if user is None or user.is_archived:
        raise errors.forbidden(errors.INVALID_CODE)
    if not user.is_active and core.config.policy.on("user.active"):
        raise errors.bad_request(errors.USER_DEACTIVATED)
    challenge = new_challenge(core, kind="credential", user=user, app=app,
                              lifetime=core.config.lifetimes.credential_challenge,
                              credential_kind=kind, via_code=True)
    return credential_view(core, challenge, user)


def complete_with_code(core: Core, body: Mapping[str, Any]) -> dict[str, Any]:
    challenge = resolve_challenge(core, body["challengeIdentifier"], kind="credential")
    if not challenge.via_code and core.config.policy.on("challenge.kind"):
        raise ApiError(400, errors.CHALLENGE_INVALID)
    user: User | None = core.store.get("users", challenge.user_id)
    if user is None or user.is_archived:
        raise ApiError(400, errors.USER_DEACTIVATED)
    if not user.is_active and core.config.policy.on("user.active"):
        raise ApiError(400, errors.USER_DEACTIVATED)
    app: Application | None = core.store.get("apps", challenge.app_id)
    # Every challenge names the app that issued it (new_challenge); apps are archived, never
    # deleted (an org reset removes its challenges with them).
    assert app is not None
    # Checked against App 2, the app of the code/init call that issued this challenge.
    return _create(core, challenge, user, body, [relying_party(app)])


def _own_credential(core: Core, caller: Caller, uuid: str) -> Credential:
    credential: Credential | None = core.store.get("credentials", uuid)
    if credential is None or credential.user_id != caller.user.id or credential.is_archived:
        raise errors.not_found("credential not found", credentialUuid=uuid)
    return credential


def set_active(core: Core, caller: Caller, *, uuid: str, active: bool) -> dict[str, Any]:
    credential = _own_credential(core, caller, uuid)
    core.store.put("credentials", uuid, evolve(credential, is_active=active))
    return {"message": "success"}


def delete(core: Core, caller: Caller, *, uuid: str) -> dict[str, Any]:
    credential = _own_credential(core, caller, uuid)
    _keep_one_first_factor(core, caller.user, credential)
    core.store.put("credentials", uuid, evolve(credential, is_active=False, is_archived=True))
    return {}


def _keep_one_first_factor(core: Core, user: User, leaving: Credential) -> None:
    if leaving.kind == RECOVERY_KEY or leaving.token_id:
        return
    others = [c for c in core.store.find("credentials", "user", user.id)
              if c.usable and c.uuid != leaving.uuid and c.kind != RECOVERY_KEY and not c.token_id]
    if not others:
        raise ApiError(400, "cannot remove the last active first-factor credential",
                       details={"credentialUuid": leaving.uuid})


def list_credentials(core: Core, caller: Caller) -> dict[str, Any]:
    rows = [c for c in core.store.find("credentials", "user", caller.user.id) if not c.is_archived]
    rows.sort(key=lambda c: c.date_created)
    return {"items": [credential_info(c) for c in rows]}


def credential_info(credential: Credential) -> dict[str, Any]:
    return {
        "kind": credential.kind,
        "credentialKind": credential.kind,
        "credentialId": credential.cred_id,
        "credentialUuid": credential.uuid,
        "dateCreated": iso8601(credential.date_created),
        "isActive": credential.usable,
        "name": credential.name,
        "publicKey": credential.public_key.fingerprint,
        "relyingPartyId": credential.rp_id,
        "origin": credential.origin,
    }
