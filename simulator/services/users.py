"""Users: creation (with the registration-code e-mail), lookup, lifecycle."""

from __future__ import annotations

from typing import Any

from simulator import errors
from simulator.errors import ApiError
from simulator.models import CUSTOMER_EMPLOYEE, END_USER, Code, User, evolve
from simulator.services.core import Core


def find_user(core: Core, org_id: str, username: str) -> User | None:
    for user in core.store.find("users", "org_username", (org_id, username.lower())):
        if not user.is_archived:
            return user
    return None


def active_user(core: Core, org_id: str, username: str, *, service_account: bool = True) -> User:
    """The named user for login / recovery flows: 401 if unknown, 400 if deactivated.

    ``service_account=False`` treats service accounts as unknown (they never log in by
    delegation nor recover).
    """
    user = find_user(core, org_id, username)
    if user is None or (user.is_service_account and not service_account):
        raise errors.unauthorized(errors.USER_NOT_FOUND)
    if not user.is_active and core.config.policy.on("user.active"):
        raise errors.bad_request(errors.USER_DEACTIVATED)
    return user


def get_user(core: Core, org_id: str, user_id: str) -> User:
    user: User | None = core.store.get("users", user_id)
    if user is None or user.org_id != org_id or user.is_archived:
        raise errors.not_found("user not found", userId=user_id)
    return user


def create_user(core: Core, *, org_id: str, username: str, kind: str,
                registration: str | None = None, external_id: str | None = None,
                is_service_account: bool = False, is_sso_required: bool = False) -> User:
    if kind not in (CUSTOMER_EMPLOYEE, END_USER) and core.config.policy.on("schema.enum"):
        raise ApiError(400, "invalid kind: expected CustomerEmployee or EndUser",
                       details={"field": "kind"})
    if not username.strip():
        raise ApiError(400, "email is required", details={"field": "email"})
    if find_user(core, org_id, username) is not None:
        raise ApiError(409, "a user with this username already exists",
                       details={"username": username})
    mode = registration or ("Delegated" if kind == END_USER else "Direct")
    user = User(
        id=core.new_id("us"), org_id=org_id, username=username, kind=kind,
        registration=mode, external_id=external_id, is_service_account=is_service_account,
        is_registered=is_service_account, is_sso_required=is_sso_required,
        date_created=core.now(),
    )
    core.store.put("users", user.id, user)
    if mode == "Direct" and not is_service_account:
        send_registration_code(core, user)
    return user


def send_registration_code(core: Core, user: User) -> str:
    """E-mail a fresh registration code; any earlier code stops working."""
    for old in core.store.find("codes", "user", user.id):
        if old.purpose == "registration" and not old.used:
            core.store.put("codes", old.code, evolve(old, used=True))
    code = core.random.code(4, 4)
    save_code(core, Code(
        code=code, purpose="registration", org_id=user.org_id, user_id=user.id,
        expires_at=core.now() + core.config.lifetimes.registration_code,
    ))
    core.send_mail(org_id=user.org_id, to=user.username, kind="registration-code",
                   subject="Your Dfns registration code",
                   body=f"Use this code to register: {code}", code=code, user_id=user.id)
    return code


def save_code(core: Core, record: Code) -> None:
    """Store a new one-time code. Once expired it may be dropped (services/housekeeping), except
    a registration code: consume_code answers an expired one with its own message."""
    core.store.put("codes", record.code, record)
    if record.purpose != "registration":
        core.housekeeper.track("codes", record.code, record.expires_at)


def consume_code(core: Core, *, code: str, purpose: str, user: User | None = None,
                 expired_message: str | None = None) -> Code:
    """Redeem a one-time code exactly once (403 ``Invalid code`` otherwise)."""
    policy = core.config.policy
    with core.store.transaction() as tx:
        record: Code | None = tx.get("codes", code) if isinstance(code, str) else None
        if record is None and not policy.on("code.known"):
            # Mutant (TEST-ONLY): the value is not compared; the newest open code of the
            # purpose is redeemed instead, as a lookup that ignored the code would.
            open_codes = [c for c in tx.scan("codes") if c.purpose == purpose and not c.used]
            if open_codes:
                record = max(open_codes, key=lambda c: c.expires_at)
                code = record.code
        if record is None:
            raise errors.forbidden(errors.INVALID_CODE)
        if record.used and policy.on("code.single_use"):
            raise errors.forbidden(errors.INVALID_CODE)
        if (record.purpose != purpose or (user is not None and record.user_id != user.id)) \
                and policy.on("code.binding"):
            raise errors.forbidden(errors.INVALID_CODE)
        if record.expires_at <= core.now() and policy.on("code.expiry"):
            if expired_message:
                raise errors.bad_request(expired_message)
            raise errors.forbidden(errors.INVALID_CODE)
        tx.put("codes", code, evolve(record, used=True))
        return record


def user_view(core: Core, user: User) -> dict[str, Any]:
    from simulator.services.permissions import assignments_view

    credentials = [c for c in core.store.find("credentials", "user", user.id) if c.usable]
    first = credentials[0] if credentials else None
    assignments = assignments_view(core, user.id)
    return {
        "userId": user.id,
        "username": user.username,
        "name": user.username,
        "kind": user.kind,
        "orgId": user.org_id,
        "credentialUuid": first.uuid if first else "",
        "credentialId": first.cred_id if first else "",
        "isActive": user.is_active and not user.is_archived,
        "isServiceAccount": user.is_service_account,
        "isRegistered": user.is_registered,
        "isSSORequired": user.is_sso_required,
        "permissions": sorted({op for a in assignments for op in a["operations"]}),
        "permissionAssignments": assignments,
        **({"externalId": user.external_id} if user.external_id else {}),
    }
