"""Registration challenge flows: direct, delegated (+ restart), end user with wallets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator import errors
from simulator.errors import ApiError
from simulator.models import (
    END_USER,
    RECOVERY_KEY,
    Application,
    Challenge,
    Credential,
    User,
    evolve,
)
from simulator.services import permissions
from simulator.services.challenges import new_challenge, registration_view, relying_party
from simulator.services.core import Core
from simulator.services.factors import verify_attestation
from simulator.services.identity import consume_challenge, new_login_session
from simulator.services.users import consume_code, create_user, find_user

FIRST_FACTOR_KINDS = ("Fido2", "Key", "PasswordProtectedKey")


def init(core: Core, app: Application, *, org_id: str, username: str, code: str) -> dict[str, Any]:
    user = find_user(core, org_id, username)
    if user is None:
        raise errors.unauthorized(errors.USER_NOT_FOUND)
    policy = core.config.policy
    if user.is_registered and policy.on("registration.once"):
        raise errors.unauthorized(errors.USER_EXISTS)
    if not user.is_active and policy.on("user.active"):
        raise errors.bad_request(errors.USER_DEACTIVATED)
    if policy.on("registration.code"):
        consume_code(core, code=code, purpose="registration", user=user,
                     expired_message=errors.REGISTRATION_CODE_EXPIRED)
    return _challenge_for(core, app, user)


def _challenge_for(core: Core, app: Application, user: User,
                   created_by: str = "") -> dict[str, Any]:
    challenge = new_challenge(core, kind="registration", user=user, app=app,
                              lifetime=core.config.lifetimes.registration_challenge,
                              created_by=created_by)
    return registration_view(core, challenge, user)


def delegated(core: Core, app: Application, *, sa_user: User, email: str, kind: str,
              external_id: str | None, restart: bool) -> dict[str, Any]:
    user = find_user(core, sa_user.org_id, email)
    if restart:
        if user is None:
            raise errors.unauthorized(errors.USER_NOT_FOUND)
    elif user is None:
        user = create_user(core, org_id=sa_user.org_id, username=email, kind=kind,
                           registration="Delegated", external_id=external_id)
    if user.is_registered and core.config.policy.on("registration.once"):
        raise errors.unauthorized(errors.USER_EXISTS)
    if not user.is_active and core.config.policy.on("user.active"):
        raise errors.bad_request(errors.USER_DEACTIVATED)
    return _challenge_for(core, app, user, created_by=sa_user.id)


def complete(core: Core, app: Application, challenge: Challenge, body: Mapping[str, Any],
             *, end_user: bool = False) -> dict[str, Any]:
    """Verify every credential of ``POST /auth/registration[/enduser]`` and register the user."""
    user: User | None = core.store.get("users", challenge.user_id)
    if user is None or user.is_archived:
        raise errors.unauthorized(errors.USER_NOT_FOUND)
    if user.is_registered and core.config.policy.on("registration.once"):
        raise errors.unauthorized(errors.USER_EXISTS)
    if end_user and user.kind != END_USER:
        raise errors.bad_request("end-user registration is only for users of kind EndUser")
    credentials = verify_new_credentials(core, app, challenge, user, body)
    validate_wallets = core.extensions.get("validate_end_user_wallets")
    if end_user and validate_wallets is not None:
        # refuse unsupported wallets before anything is written: no half-registered user
        validate_wallets(core, body.get("wallets") or [])
    consume_challenge(core, challenge, temp=True)
    with core.store.transaction() as tx:
        for credential in credentials:
            tx.put("credentials", credential.uuid, credential)
        user = evolve(tx.get("users", user.id), is_registered=True)
        tx.put("users", user.id, user)
    if user.kind == END_USER:
        # end users get the managed default end-user permission (README glossary)
        default = permissions.managed_permission(core, user.org_id, permissions.DEFAULT_END_USER)
        if default is not None:
            permissions.assign(core, permission=default, identity_id=user.id, identity_kind="User")
    result: dict[str, Any] = {
        "credential": credential_summary(credentials[0]),
        "user": {"id": user.id, "username": user.username, "orgId": user.org_id},
    }
    if end_user:
        hook = core.extensions.get("on_end_user_registered")
        wallets = hook(core, user, body.get("wallets") or []) if hook else []
        result["authentication"] = {"token": new_login_session(core, user, app=app)}
        result["wallets"] = wallets
    return result


def verify_new_credentials(core: Core, app: Application, challenge: Challenge, user: User,
                           body: Mapping[str, Any]) -> list[Credential]:
    """All credentials of one registration/recovery sign the same challenge (flows.md §1.5)."""
    first = body.get("firstFactorCredential")
    if not isinstance(first, Mapping):
        raise ApiError(400, "firstFactorCredential is required",
                       details={"field": "firstFactorCredential"})
    if (first.get("credentialKind") not in FIRST_FACTOR_KINDS
            and core.config.policy.on("schema.enum")):
        raise ApiError(400, "invalid firstFactorCredential.credentialKind: expected one of "
                       + ", ".join(FIRST_FACTOR_KINDS),
                       details={"field": "firstFactorCredential.credentialKind"})
    items: list[tuple[Mapping[str, Any], str]] = [(first, "Default Credential")]
    second = body.get("secondFactorCredential")
    if isinstance(second, Mapping):
        if second.get("credentialKind") not in FIRST_FACTOR_KINDS:
            raise ApiError(400, "invalid secondFactorCredential.credentialKind",
                           details={"field": "secondFactorCredential.credentialKind"})
        items.append((second, "Second Factor Credential"))
    recovery = body.get("recoveryCredential")
    if isinstance(recovery, Mapping):
        if recovery.get("credentialKind") != RECOVERY_KEY \
                and core.config.policy.on("registration.recovery_kind"):
            raise ApiError(400, "recoveryCredential must be of kind RecoveryKey",
                           details={"field": "recoveryCredential.credentialKind"})
        items.append((recovery, "Recovery Credential"))
    credentials: list[Credential] = []
    seen: set[str] = set()
    for attestation, default_name in items:
        name = attestation.get("credentialName") or default_name
        credential = verify_attestation(
            core, attestation, org_id=user.org_id, user_id=user.id, challenge=challenge.challenge,
            relying_parties=[relying_party(app)], name=name,
        )
        if credential.cred_id.rstrip("=") in seen and core.config.policy.on("credential.unique_id"):
            raise ApiError(400, "credential id already registered",
                           details={"credId": credential.cred_id})
        seen.add(credential.cred_id.rstrip("="))
        credentials.append(credential)
    return credentials


def credential_summary(credential: Credential) -> dict[str, Any]:
    return {"uuid": credential.uuid, "kind": credential.kind,
            "credentialKind": credential.kind, "name": credential.name}
