"""Service accounts (endpoints.md §5): a user record with ``isServiceAccount``, a Key credential
and a long-lived token. Also the pieces PATs and applications share with them: the
AccessTokenInfo renderer and "never more permissions than the creator" grants.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from simulator import errors
from simulator.clock import iso8601
from simulator.config import DAY
from simulator.encoding import b64url_encode
from simulator.errors import ApiError
from simulator.models import (
    CUSTOMER_EMPLOYEE,
    KEY,
    TOKEN_LOGIN,
    TOKEN_SERVICE_ACCOUNT,
    AccessToken,
    Credential,
    Permission,
    User,
    evolve,
)
from simulator.services import permissions
from simulator.services.core import Core
from simulator.services.identity import Caller, issue_access_token
from simulator.services.users_admin import archive_records
from simulator.verification.public_keys import VerifyingKey, load_public_key_pem

SA_NOT_FOUND = "service account not found"
SA_NAME_TAKEN = "a service account with this name already exists"
PERMISSION_NOT_FOUND = "permission not found"
LAST_CREDENTIAL = "at least one active credential must remain"


@dataclass(frozen=True, kw_only=True)
class IssuedToken:
    user: User
    token: AccessToken
    credential: Credential
    access_token: str


def token_credential_id(core: Core) -> str:
    """Server-made credential ids are base64url of an ASCII ``ci-…`` id (credentials.md §2)."""
    return b64url_encode(core.new_id("ci").encode())


def create_service_account(core: Core, *, org_id: str, name: str, public_key: VerifyingKey,
                           days_valid: int | None = None, external_id: str | None = None,
                           permission_id: str | None = None) -> IssuedToken:
    now = core.now()
    days = _days(core, days_valid)
    user = User(id=core.new_id("us"), org_id=org_id, username=name, kind=CUSTOMER_EMPLOYEE,
                is_service_account=True, is_registered=True, registration="Delegated",
                external_id=external_id, date_created=now)
    token = AccessToken(id=core.new_id("to"), org_id=org_id, kind=TOKEN_SERVICE_ACCOUNT,
                        user_id=user.id, name=name, expires_at=now + days * DAY,
                        permission_id=permission_id, external_id=external_id, date_created=now)
    credential = Credential(uuid=core.new_id("cr"), org_id=org_id, user_id=user.id, kind=KEY,
                            cred_id=token_credential_id(core), public_key=public_key,
                            name=name, token_id=token.id, date_created=now)
    token = evolve(token, credential_uuid=credential.uuid)
    with core.store.transaction() as tx:
        tx.put("users", user.id, user)
        tx.put("credentials", credential.uuid, credential)
        access_token = issue_access_token(core, token, user)
    return IssuedToken(user=user, token=token, credential=credential, access_token=access_token)


# -- who may create, and with which permissions -----------------------------------------------
def require_human(core: Core, caller: Caller, operation: str) -> None:
    """PATs and service accounts may not mint long-lived identities (errors.md §3.4)."""
    if caller.is_service_account or caller.token.kind != TOKEN_LOGIN:
        if core.config.policy.on("token.human"):
            raise errors.not_permitted(caller.user.kind, caller.user.id, operation)


def org_permission(core: Core, org_id: str, permission_id: str) -> Permission:
    permission: Permission | None = core.store.get("permissions", permission_id)
    if permission is None or permission.org_id != org_id or permission.is_archived:
        raise errors.not_found(PERMISSION_NOT_FOUND, permissionId=permission_id)
    return permission


def _covered(ops: frozenset[str], operation: str) -> bool:
    if permissions.allows(ops, operation):
        return True
    aliases = permissions.SDK_ALIASES.get(operation)
    if not aliases:
        return False
    return all(permissions.allows(ops, a) for a in aliases)


def require_within(core: Core, caller: Caller, operations: Iterable[str]) -> None:
    """403 naming the first operation the caller (user ∩ token) does not hold itself."""
    if not core.config.policy.on("permissions.within"):
        return
    user_ops = permissions.operations_of(core, caller.user.id)
    token_ops = permissions.token_operations(core, caller)
    for op in operations:
        if not _covered(user_ops, op) or (token_ops is not None and not _covered(token_ops, op)):
            raise errors.not_permitted(caller.user.kind, caller.user.id, op)


def caller_permissions(core: Core, caller: Caller) -> list[Permission]:
    """The permissions a new identity inherits by default: the calling token's, else the user's."""
    from simulator.services.user_groups import _direct_permissions, permissions_of_user

    if caller.token.kind == "Pat":
        own = _direct_permissions(core, caller.token.id)
        if own:
            return own
    return permissions_of_user(core, caller.user.id)


def grant(core: Core, caller: Caller, *, identity_id: str, identity_kind: str,
          permission_id: str | None) -> None:
    """Assign ``permission_id`` (checked against the caller) or the caller's own permissions."""
    if permission_id:
        permission = org_permission(core, caller.org_id, permission_id)
        require_within(core, caller, permission.operations)
        chosen = [permission]
    else:
        chosen = caller_permissions(core, caller)
    for permission in chosen:
        permissions.assign(core, permission=permission, identity_id=identity_id,
                           identity_kind=identity_kind)


def validity_seconds(core: Core, *, days: int | None, seconds: int | None = None) -> float:
    """Token lifetime from ``daysValid`` / ``secondsValid``, within the configured maximum."""
    limit = core.config.lifetimes.access_token_days_max
    if seconds is not None:
        if seconds > limit * DAY and core.config.policy.on("schema.range"):
            raise _too_long("secondsValid", limit * int(DAY))
        return float(seconds)
    return _days(core, days) * DAY


def _days(core: Core, days: int | None) -> int:
    limit = core.config.lifetimes.access_token_days_max
    if days is not None and days > limit and core.config.policy.on("schema.range"):
        raise _too_long("daysValid", limit)
    return days or core.config.lifetimes.access_token_days_default


def _too_long(field: str, maximum: int) -> ApiError:
    # The same answer (and the same TEST-ONLY rule, schema.range) as the schema's own bound.
    return ApiError(400, f"invalid {field}: must be at most {maximum}", details={"field": field},
                    code="invalid_request")


# -- AccessTokenInfo ---------------------------------------------------------------------------
def token_is_effective(core: Core, token: AccessToken) -> bool:
    if not token.is_active or token.is_archived:
        return False
    if token.user_id:
        user: User | None = core.store.get("users", token.user_id)
        return user is not None and user.is_active and not user.is_archived
    if token.app_id:
        app = core.store.get("apps", token.app_id)
        return app is not None and app.is_active and not app.is_archived
    return True


def _token_assignments(core: Core, token: AccessToken) -> list[dict[str, Any]]:
    if token.kind == TOKEN_SERVICE_ACCOUNT:
        return permissions.assignments_view(core, token.user_id)
    own = permissions.assignments_view(core, token.id)
    if own or token.kind != "Pat":
        return own
    # A PAT without its own permission carries its user's: shown as inherited (assignmentId "").
    return [{**a, "assignmentId": ""} for a in permissions.assignments_view(core, token.user_id)]


def access_token_info(core: Core, token: AccessToken,
                      access_token: str | None = None) -> dict[str, Any]:
    credential: Credential | None = (core.store.get("credentials", token.credential_uuid)
                                     if token.credential_uuid else None)
    info: dict[str, Any] = {
        "tokenId": token.id,
        "kind": token.kind,
        "name": token.name,
        "orgId": token.org_id,
        "linkedUserId": token.user_id or "",
        "linkedAppId": token.app_id or "",
        "credId": credential.cred_id if credential else "",
        "publicKey": credential.public_key.fingerprint if credential else "",
        "isActive": token_is_effective(core, token),
        "dateCreated": iso8601(token.date_created),
        "permissionAssignments": _token_assignments(core, token),
    }
    if token.external_id:
        info["externalId"] = token.external_id
    if access_token is not None:
        info["accessToken"] = access_token
    return info


# -- service-account lifecycle -------------------------------------------------------------------
def _sa_tokens(core: Core, user: User) -> list[AccessToken]:
    rows = [t for t in core.store.find("tokens", "user", user.id)
            if t.kind == TOKEN_SERVICE_ACCOUNT and not t.is_archived]
    return sorted(rows, key=lambda t: t.date_created)


def sa_view(core: Core, user: User, access_token: IssuedToken | None = None) -> dict[str, Any]:
    from simulator.services.users import user_view

    tokens = [access_token_info(core, t, access_token.access_token
                                if access_token is not None
                                and t.id == access_token.token.id else None)
              for t in _sa_tokens(core, user)]
    return {"userInfo": user_view(core, user), "accessTokens": tokens}


def get_service_account(core: Core, org_id: str, user_id: str) -> User:
    user: User | None = core.store.get("users", user_id)
    if user is None or user.is_archived or (
            (user.org_id != org_id or not user.is_service_account)
            and core.config.policy.on("entity.org_scope")):
        raise errors.not_found(SA_NOT_FOUND, serviceAccountId=user_id)
    return user


def list_service_accounts(core: Core, org_id: str) -> list[User]:
    rows = [u for u in core.store.find("users", "org", org_id)
            if u.is_service_account and not u.is_archived]
    return sorted(rows, key=lambda u: u.date_created)


def _name_taken(core: Core, org_id: str, name: str, *, except_id: str = "") -> bool:
    return any(u.username.lower() == name.lower() and u.id != except_id
               for u in list_service_accounts(core, org_id))


def create(core: Core, caller: Caller, body: dict[str, Any]) -> IssuedToken:
    require_human(core, caller, "Auth:ServiceAccounts:Create")
    public_key = load_public_key_pem(body["publicKey"], policy=core.config.policy)
    if body.get("permissionId"):  # validate before anything is written
        require_within(core, caller,
                       org_permission(core, caller.org_id, body["permissionId"]).operations)
    with core.store.transaction():
        if _name_taken(core, caller.org_id, body["name"]) and core.config.policy.on("name.unique"):
            raise errors.conflict(SA_NAME_TAKEN, name=body["name"])
        issued = create_service_account(
            core, org_id=caller.org_id, name=body["name"], public_key=public_key,
            days_valid=body.get("daysValid"), external_id=body.get("externalId"),
            permission_id=body.get("permissionId"))
        grant(core, caller, identity_id=issued.user.id, identity_kind="ServiceAccount",
              permission_id=body.get("permissionId"))
    return issued


def update(core: Core, org_id: str, user_id: str, body: dict[str, Any]) -> User:
    with core.store.transaction() as tx:
        user = get_service_account(core, org_id, user_id)
        name = body.get("name")
        if name is not None and _name_taken(core, org_id, name, except_id=user.id):
            raise errors.conflict(SA_NAME_TAKEN, name=name)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["username"] = name
        if "externalId" in body:
            changes["external_id"] = body["externalId"]
        user = evolve(user, **changes)
        tx.put("users", user.id, user)
        for token in _sa_tokens(core, user):
            tx.put("tokens", token.id,
                   evolve(token, name=user.username, external_id=user.external_id))
    return user


def set_active(core: Core, org_id: str, user_id: str, *, active: bool) -> User:
    """A deactivated SA's token answers 401 at once (resolve_caller); activation restores it."""
    user = get_service_account(core, org_id, user_id)
    return core.replace("users", user.id, user, is_active=active)


def archive(core: Core, org_id: str, user_id: str) -> User:
    with core.store.transaction() as tx:
        return archive_records(tx, get_service_account(core, org_id, user_id))


def _require_sa_caller(caller: Caller, operation: str) -> None:
    if not caller.is_service_account:
        raise errors.not_permitted(caller.user.kind, caller.user.id, operation)


def add_credential(core: Core, caller: Caller, *, public_key_pem: str,
                   name: str | None) -> Credential:
    """SDK: an extra Key credential for the calling service account (key rotation)."""
    _require_sa_caller(caller, "Auth:ServiceAccounts:Update")
    public_key = load_public_key_pem(public_key_pem, policy=core.config.policy)
    credential = Credential(uuid=core.new_id("cr"), org_id=caller.org_id, user_id=caller.user.id,
                            kind=KEY, cred_id=token_credential_id(core), public_key=public_key,
                            name=name or caller.user.username, date_created=core.now())
    core.store.put("credentials", credential.uuid, credential)
    return credential


def delete_credential(core: Core, caller: Caller, uuid: str) -> None:
    _require_sa_caller(caller, "Auth:ServiceAccounts:Update")
    with core.store.transaction() as tx:
        credential: Credential | None = tx.get("credentials", uuid)
        if credential is None or credential.user_id != caller.user.id or credential.is_archived:
            raise errors.not_found("credential not found", credentialUuid=uuid)
        others = [c for c in tx.find("credentials", "user", caller.user.id)
                  if c.usable and c.kind == KEY and c.uuid != uuid]
        if not others:
            raise errors.bad_request(LAST_CREDENTIAL, credentialUuid=uuid)
        tx.put("credentials", uuid, evolve(credential, is_active=False, is_archived=True))
