"""User recovery (endpoints.md §10, credentials.md §5–6, flows.md §9).

Direct: a verification code e-mailed to the user, then a recovery challenge naming one of the
user's RecoveryKey credentials. Delegated: a service account asks for the challenge (it has
verified the user's identity itself). Completion proves possession of the old recovery key by
signing the JSON of ``newCredentials``; every new credential attests the recovery challenge.
Success replaces all of the user's credentials and revokes its PATs and sessions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulator import errors
from simulator.config import DAY
from simulator.encoding import same_id
from simulator.errors import ApiError
from simulator.models import RECOVERY_KEY, Application, Challenge, Code, Credential, User, evolve
from simulator.services.challenges import new_challenge, registration_view
from simulator.services.core import Core
from simulator.services.identity import consume_challenge
from simulator.services.registration import credential_summary, verify_new_credentials
from simulator.services.users import active_user, consume_code, save_code
from simulator.verification.client_data import decode_client_data
from simulator.verification.key_kinds import recovery_challenge_matches, verify_key_assertion


@dataclass(frozen=True, kw_only=True)
class RecoveryPolicy:
    """Optional knobs the product seeds describe; off by default."""

    notify_admins: bool = False
    # Who gets the notification; empty = every active human CustomerEmployee of the org.
    admin_emails: tuple[str, ...] = ()
    # After a recovery the user's wallets refuse to sign for this many days (0 = no lock).
    wallet_lock_days: float = 0.0


# Kept in the store, not in memory: a restart from a --state file and every --workers process
# see the same policy (a /_sim/reset goes back to the default, like the rest of the state).
_SETTINGS, _POLICY_KEY = "settings", "recovery_policy"


def policy(core: Core) -> RecoveryPolicy:
    stored = core.store.get(_SETTINGS, _POLICY_KEY)
    return stored if isinstance(stored, RecoveryPolicy) else RecoveryPolicy()


def configure(core: Core, **knobs: Any) -> RecoveryPolicy:
    with core.store.transaction() as tx:
        current = tx.get(_SETTINGS, _POLICY_KEY)
        updated = evolve(current if isinstance(current, RecoveryPolicy) else RecoveryPolicy(),
                         **knobs)
        tx.put(_SETTINGS, _POLICY_KEY, updated)
    return updated


def install(core: Core) -> None:
    """Wallet signing honours the lock a recovery sets (``wallet_lock_days``)."""
    core.extensions["recovery_lock_until"] = recovery_lock_until


def recovery_lock_until(core: Core, user_id: str) -> float | None:
    """Epoch until which the user's wallets are locked after a recovery, or ``None``."""
    until = core.store.get("recovery_locks", user_id)
    if until is None or until <= core.now():
        return None
    return float(until)


# -- 10.1 code ---------------------------------------------------------------------------
def send_code(core: Core, *, org_id: str, username: str) -> dict[str, Any]:
    user = active_user(core, org_id, username, service_account=False)
    for old in core.store.find("codes", "user", user.id):
        if old.purpose == "recovery" and not old.used:
            core.store.put("codes", old.code, evolve(old, used=True))
    code = core.random.code(4, 4)
    save_code(core, Code(code=code, purpose="recovery", org_id=user.org_id, user_id=user.id,
                         expires_at=core.now() + core.config.lifetimes.recovery_code))
    core.send_mail(org_id=user.org_id, to=user.username, kind="recovery-code",
                   subject="Your Dfns recovery verification code",
                   body=f"Use this code to recover your account: {code}", code=code,
                   user_id=user.id)
    return {"message": "success"}


# -- 10.2 / 10.3 challenge -----------------------------------------------------------------
def _recovery_credential(core: Core, user: User, credential_id: str) -> Credential:
    enforce = core.config.policy.on("recovery.credential")
    for credential in core.store.find("credentials", "user", user.id):
        if (same_id(credential.cred_id, credential_id) or credential.uuid == credential_id) \
                and ((credential.kind == RECOVERY_KEY and credential.usable) or not enforce):
            return credential
    raise errors.unauthorized(errors.NOT_RECOVERY_CREDENTIAL)


def _challenge(core: Core, app: Application, user: User, credential: Credential,
               created_by: str = "") -> dict:
    challenge = new_challenge(core, kind="recovery", user=user, app=app,
                              lifetime=core.config.lifetimes.recovery_challenge,
                              recovery_credential_uuid=credential.uuid, created_by=created_by)
    view = registration_view(core, challenge, user)
    view["allowedRecoveryCredentials"] = [
        {"id": credential.cred_id, "encryptedRecoveryKey": credential.encrypted_private_key or ""}]
    return view


def init(core: Core, app: Application, *, org_id: str, username: str, code: str,
         credential_id: str) -> dict[str, Any]:
    user = active_user(core, org_id, username, service_account=False)
    if core.config.policy.on("recovery.code"):
        consume_code(core, code=code, purpose="recovery", user=user)
    credential = _recovery_credential(core, user, credential_id)
    return _challenge(core, app, user, credential)


def delegated(core: Core, app: Application, *, sa_user: User, username: str,
              credential_id: str) -> dict[str, Any]:
    user = active_user(core, sa_user.org_id, username, service_account=False)
    credential = _recovery_credential(core, user, credential_id)
    return _challenge(core, app, user, credential, created_by=sa_user.id)


# -- 10.4 completion -----------------------------------------------------------------------
def _verify_recovery_assertion(core: Core, challenge: Challenge, recovery: Mapping[str, Any],
                               new_credentials: Mapping[str, Any]) -> Credential:
    if recovery.get("kind") != RECOVERY_KEY:
        raise errors.bad_request("recovery.kind must be RecoveryKey", field="recovery.kind")
    assertion = recovery.get("credentialAssertion")
    if not isinstance(assertion, Mapping):
        raise errors.bad_request("recovery.credentialAssertion is required",
                                 field="recovery.credentialAssertion")
    credential: Credential | None = core.store.get("credentials",
                                                   challenge.recovery_credential_uuid)
    cred_id = assertion.get("credId")
    if credential is None or not isinstance(cred_id, str):
        raise errors.unauthorized(errors.NOT_RECOVERY_CREDENTIAL)
    if (not credential.usable or credential.kind != RECOVERY_KEY
            or not (same_id(credential.cred_id, cred_id) or credential.uuid == cred_id)) \
            and core.config.policy.on("recovery.credential"):
        raise errors.unauthorized(errors.NOT_RECOVERY_CREDENTIAL)
    with core.timed_verification():
        client_data = decode_client_data(assertion.get("clientData"), core.config.policy)
        if not recovery_challenge_matches(client_data, new_credentials, policy=core.config.policy):
            raise ApiError(401, errors.CHALLENGE_MISMATCH)
        verify_key_assertion(assertion, challenge=str(client_data.fields.get("challenge")),
                             public_key=credential.public_key, policy=core.config.policy)
    return credential


def complete(core: Core, app: Application, challenge: Challenge,
             body: Mapping[str, Any]) -> dict[str, Any]:
    user: User | None = core.store.get("users", challenge.user_id)
    if user is None or user.is_archived:
        raise errors.unauthorized(errors.USER_NOT_FOUND)
    if not user.is_active and core.config.policy.on("user.active"):
        raise errors.bad_request(errors.USER_DEACTIVATED)
    new_credentials = body["newCredentials"]
    _verify_recovery_assertion(core, challenge, body["recovery"], new_credentials)
    credentials = verify_new_credentials(core, app, challenge, user, new_credentials)
    consume_challenge(core, challenge, temp=True)
    now = core.now()
    revoke = core.config.policy.on("recovery.revoke")
    with core.store.transaction() as tx:
        for old in tx.find("credentials", "user", user.id):
            if old.is_active and revoke:
                tx.put("credentials", old.uuid, evolve(old, is_active=False))
        for token in tx.find("tokens", "user", user.id):
            # PATs and login sessions die with the old credentials.
            if token.kind in ("Pat", "Token") and token.is_active and revoke:
                tx.put("tokens", token.id, evolve(token, is_active=False))
        for credential in credentials:
            tx.put("credentials", credential.uuid, credential)
        lock_days = policy(core).wallet_lock_days
        if lock_days > 0:
            tx.put("recovery_locks", user.id, now + lock_days * DAY)
    _notify_admins(core, user)
    return {
        "credential": credential_summary(credentials[0]),
        "user": {"id": user.id, "username": user.username, "orgId": user.org_id},
    }


def _notify_admins(core: Core, user: User) -> None:
    knobs = policy(core)
    if not knobs.notify_admins:
        return
    recipients = list(knobs.admin_emails) or sorted(
        u.username for u in core.store.scan("users")
        if u.org_id == user.org_id and u.kind == "CustomerEmployee" and not u.is_service_account
        and u.is_active and not u.is_archived and u.id != user.id)
    for to in recipients:
        core.send_mail(org_id=user.org_id, to=to, kind="admin-notification",
                       subject=f"User {user.username} recovered their account",
                       body=f"User {user.username} ({user.id}) completed an account recovery; "
                            "all previous credentials and personal access tokens were revoked.",
                       user_id=user.id)
