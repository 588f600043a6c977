"""Operation-based authorisation (endpoints.md §9 access-check order, §12 names).

An identity's operations are the union of its active permission assignments (and, for users,
their groups'); the managed ``DfnsFullAdminAccess`` holds every operation. A request is allowed
when the application allows it and, for authenticated calls, the user allows it and — for PATs
and service-account tokens carrying their own permission — the token allows it too.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator import errors
from simulator.models import Application, Assignment, Permission
from simulator.services.core import Core
from simulator.services.identity import Caller

FULL_ADMIN = "DfnsFullAdminAccess"
DEFAULT_END_USER = "DfnsDefaultEndUserAccess"
ALL_OPERATIONS = "*"

END_USER_OPERATIONS = (
    "Wallets:Read",
    "Wallets:ReadSignature",
    "Wallets:ReadTransaction",
    "Wallets:ReadTransfer",
    "Wallets:GenerateSignature",
    "Wallets:BroadcastTransaction",
    "Wallets:TransferAsset",
)

# SDK-era operation names mapped to the docs-era ones they stand for (endpoints.md §12).
SDK_ALIASES: dict[str, tuple[str, ...]] = {
    "Auth:Pats:Create": ("Auth:Users:Create", "Auth:Types:Pat"),
    "Auth:ServiceAccounts:Create": ("Auth:Apps:Create", "Auth:Types:ServiceAccount"),
    "Auth:Register:Delegated": ("Auth:Users:Create", "Auth:Users:Delegate"),
    "Auth:Login:Delegated": ("Auth:Users:Read", "Auth:Users:Delegate"),
    "Auth:Recover:Delegated": ("Auth:Users:Create", "Auth:Users:Delegate"),
    # Permission management: the SDK era folds assignments into Permissions:* names.
    "Permissions:Assign": ("PermissionAssignments:Create",),
    "Permissions:Revoke": ("PermissionAssignments:Revoke",),
    "Permissions:Read": ("PermissionAssignments:Read",),
}

# Operations the docs list (endpoints.md §12) plus the permission-management ones
# (dfns-api-docs api-docs/permissions); route declarations are added by known_operations().
DOCUMENTED_OPERATIONS: tuple[str, ...] = (
    "Auth:Action:Sign", "Auth:Apps:Create", "Auth:Apps:Read", "Auth:Apps:Update",
    "Auth:Creds:Create", "Auth:Creds:Read", "Auth:Creds:Update", "Auth:Creds:Code:Create",
    "Auth:Types:Application", "Auth:Types:Employee", "Auth:Types:EndUser", "Auth:Types:Pat",
    "Auth:Types:ServiceAccount", "Auth:Users:Create", "Auth:Users:Delegate", "Auth:Users:Read",
    "Auth:Users:Update", "Auth:Users:EndUser",
    "Wallets:Create", "Wallets:Read", "Wallets:Update", "Wallets:Delegate", "Wallets:Export",
    "Wallets:Import", "Wallets:GenerateSignature", "Wallets:ReadSignature",
    "Wallets:BroadcastTransaction", "Wallets:ReadTransaction", "Wallets:TransferAsset",
    "Wallets:ReadTransfer", "Wallets:Tags:Create", "Wallets:Tags:Delete", "Wallets:Tags:Add",
    "Permissions:Create", "Permissions:Read", "Permissions:Update", "Permissions:Archive",
    "PermissionAssignments:Create", "PermissionAssignments:Read", "PermissionAssignments:Revoke",
)


def known_operations() -> tuple[str, ...]:
    """Every operation name the simulator knows: documented ones, route declarations, aliases."""
    from simulator.http.routes import ALL_TABLES  # late: routes import this module

    names = set(DOCUMENTED_OPERATIONS) | set(SDK_ALIASES)
    for aliases in SDK_ALIASES.values():
        names.update(aliases)
    for table in ALL_TABLES:
        for spec in table.routes:
            names.update(spec.operations)
            if spec.sa_operation:
                names.add(spec.sa_operation)
    return tuple(sorted(names))


def render_operations(permission: Permission) -> list[str]:
    """Wire form of a permission's operations: ``*`` (full admin) becomes the full list."""
    if ALL_OPERATIONS in permission.operations:
        return list(known_operations())
    return list(permission.operations)


def expand(operations: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    for op in operations:
        out.add(op)
        out.update(SDK_ALIASES.get(op, ()))
    return frozenset(out)


def inherited_permissions(core: Core, identity_id: str) -> list[Permission]:
    """Permissions an identity holds without an assignment: EndUsers get the default one."""
    user = core.store.get("users", identity_id)
    if user is None or user.kind != "EndUser" or user.is_service_account:
        return []
    permission = managed_permission(core, user.org_id, DEFAULT_END_USER)
    return [permission] if permission is not None and not permission.is_archived else []


# What operations_of reads; a write to any of them forgets its cached answers.
_OPERATION_TABLES = ("users", "permissions", "assignments", "group_members", "user_groups")


def operations_of(core: Core, identity_id: str) -> frozenset[str]:
    """Every operation an identity (user, service account, app, PAT, group) may perform.

    Asked twice per request (the app and the caller); cached until a permission-related
    table changes.
    """
    return core.cached("operations", identity_id, _OPERATION_TABLES, _operations_of,
                       core, identity_id)


def _operations_of(core: Core, identity_id: str) -> frozenset[str]:
    ops: set[str] = set()
    for inherited in inherited_permissions(core, identity_id):
        ops.update(inherited.operations)
    for assignment in core.store.find("assignments", "identity", identity_id):
        if assignment.is_archived:
            continue
        permission: Permission | None = core.store.get("permissions", assignment.permission_id)
        if permission is None or permission.is_archived:
            continue
        ops.update(permission.operations)
    extra = core.extensions.get("group_operations")
    if extra is not None:
        ops.update(extra(core, identity_id))
    return expand(ops)


def allows(ops: frozenset[str], operation: str) -> bool:
    return ALL_OPERATIONS in ops or operation in ops


def token_operations(core: Core, caller: Caller) -> frozenset[str] | None:
    """Operations a PAT / SA token is limited to, or ``None`` when it carries the user's."""
    if caller.token.kind not in ("Pat",):
        return None
    own = operations_of(core, caller.token.id)
    if own or caller.token.permission_id:
        # A PAT created with its own permission stays limited to it, even once that
        # permission or its assignment is archived (then it may do nothing at all).
        return own
    return None


def check(core: Core, *, app: Application | None, caller: Caller | None,
          operations: tuple[str, ...], app_only: bool = False) -> None:
    """Raise 403 naming the first operation the app, the user or the token lacks."""
    if not operations:
        return
    policy = core.config.policy
    if app is not None and policy.on("permissions.app"):
        app_ops = operations_of(core, app.id)
        for op in operations:
            if not allows(app_ops, op):
                raise errors.not_permitted("Application", app.id, op)
    if caller is None or app_only:
        return
    if policy.on("permissions.user"):
        user_ops = operations_of(core, caller.user.id)
        for op in operations:
            if not allows(user_ops, op):
                raise errors.not_permitted(caller.user.kind, caller.user.id, op)
    token_ops = token_operations(core, caller) if policy.on("permissions.token") else None
    if token_ops is not None:
        for op in operations:
            if not allows(token_ops, op):
                raise errors.not_permitted(caller.user.kind, caller.user.id, op)


def create_permission(core: Core, *, org_id: str, name: str, operations: Iterable[str],
                      managed: bool = False) -> Permission:
    now = core.now()
    permission = Permission(
        id=core.new_id("pm"), org_id=org_id, name=name, operations=tuple(operations),
        is_managed=managed, date_created=now, date_updated=now,
    )
    core.store.put("permissions", permission.id, permission)
    return permission


def assign(core: Core, *, permission: Permission, identity_id: str,
           identity_kind: str) -> Assignment:
    for existing in core.store.find("assignments", "identity", identity_id):
        if existing.permission_id == permission.id and not existing.is_archived:
            return existing
    assignment = Assignment(
        id=core.new_id("as"), org_id=permission.org_id, permission_id=permission.id,
        identity_id=identity_id, identity_kind=identity_kind, date_created=core.now(),
    )
    core.store.put("assignments", assignment.id, assignment)
    return assignment


def managed_permission(core: Core, org_id: str, name: str) -> Permission | None:
    for permission in core.store.find("permissions", "org", org_id):
        if permission.name == name and permission.is_managed:
            return permission
    return None


def assignments_view(core: Core, identity_id: str) -> list[dict]:
    explicit = []
    for assignment in core.store.find("assignments", "identity", identity_id):
        if assignment.is_archived:
            continue
        permission = core.store.get("permissions", assignment.permission_id)
        if permission is None or permission.is_archived:
            continue
        explicit.append({
            "permissionId": permission.id,
            "permissionName": permission.name,
            "assignmentId": assignment.id,
            "operations": render_operations(permission),
        })
    # An inherited permission is listed (with no assignment id) only when no assignment of the
    # same permission is listed already: one entry per permission a user holds.
    assigned = {entry["permissionId"] for entry in explicit}
    inherited = [{"permissionId": p.id, "permissionName": p.name, "assignmentId": "",
                  "operations": render_operations(p)}
                 for p in inherited_permissions(core, identity_id) if p.id not in assigned]
    return inherited + explicit
