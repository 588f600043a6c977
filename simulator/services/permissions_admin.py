"""Permission management: create, read, update, archive permissions; assign and revoke them.

Wire shapes follow dfns-api-docs ``api-docs/permissions`` (Permission ``{id, orgId, name,
operations, status, predicateIds, isImmutable, isArchived, dateCreated, dateUpdated}``,
Assignment ``{id, permissionId, identityId, isImmutable, dateCreated, dateUpdated}``).
Managed permissions (``DfnsFullAdminAccess``, the default end-user one) are immutable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from simulator import errors
from simulator.clock import iso8601
from simulator.models import Assignment, Permission
from simulator.services import permissions
from simulator.services.core import Core

PERMISSION_NOT_FOUND = "permission not found"
ASSIGNMENT_NOT_FOUND = "assignment not found"
IDENTITY_NOT_FOUND = "identity not found"
PERMISSION_IMMUTABLE = "permission is immutable and cannot be modified"
PERMISSION_NAME_TAKEN = "a permission with this name already exists"
PERMISSION_ARCHIVED = "permission is archived"
ALREADY_ASSIGNED = "permission is already assigned to this identity"


def permission_view(permission: Permission) -> dict[str, Any]:
    return {
        "id": permission.id,
        "orgId": permission.org_id,
        "name": permission.name,
        "operations": permissions.render_operations(permission),
        "status": "Archived" if permission.is_archived else permission.status,
        "predicateIds": [],
        "isImmutable": permission.is_managed,
        "isArchived": permission.is_archived,
        "dateCreated": iso8601(permission.date_created),
        "dateUpdated": iso8601(permission.date_updated or permission.date_created),
    }


def assignment_view(assignment: Assignment) -> dict[str, Any]:
    return {
        "id": assignment.id,
        "permissionId": assignment.permission_id,
        "identityId": assignment.identity_id,
        "identityKind": assignment.identity_kind,
        "isImmutable": False,
        "dateCreated": iso8601(assignment.date_created),
        "dateUpdated": iso8601(assignment.date_created),
    }


def _check_operations(operations: Iterable[str]) -> tuple[str, ...]:
    ops = tuple(dict.fromkeys(operations))
    if not ops:
        raise errors.bad_request("a permission must have at least one operation",
                                 field="operations")
    known = set(permissions.known_operations())
    unknown = [op for op in ops if op not in known]
    if unknown:
        raise errors.bad_request(f"unknown operation: {unknown[0]}", field="operations")
    return ops


def _name_taken(core: Core, org_id: str, name: str, exclude: str = "") -> bool:
    # Archived permissions keep their name (docs: "its name is still considered as taken").
    return any(p.name == name and p.id != exclude
               for p in core.store.find("permissions", "org", org_id))


def create(core: Core, *, org_id: str, name: str, operations: Iterable[str]) -> Permission:
    if not name.strip():
        raise errors.bad_request("permission name cannot be empty", field="name")
    ops = _check_operations(operations)
    if _name_taken(core, org_id, name):
        raise errors.conflict(PERMISSION_NAME_TAKEN, name=name)
    return permissions.create_permission(core, org_id=org_id, name=name, operations=ops)


def get(core: Core, org_id: str, permission_id: str) -> Permission:
    permission: Permission | None = core.store.get("permissions", permission_id)
    if permission is None or permission.org_id != org_id:
        raise errors.not_found(PERMISSION_NOT_FOUND, permissionId=permission_id)
    return permission


def list_all(core: Core, org_id: str) -> list[Permission]:
    return sorted(core.store.find("permissions", "org", org_id), key=lambda p: p.id)


def _mutable(core: Core, org_id: str, permission_id: str) -> Permission:
    permission = get(core, org_id, permission_id)
    if permission.is_managed:
        raise errors.forbidden(PERMISSION_IMMUTABLE, permissionId=permission_id)
    return permission


def update(core: Core, org_id: str, permission_id: str, body: Mapping[str, Any]) -> Permission:
    permission = _mutable(core, org_id, permission_id)
    if permission.is_archived:
        raise errors.bad_request(PERMISSION_ARCHIVED, permissionId=permission_id)
    changes: dict[str, Any] = {"date_updated": core.now()}
    if "name" in body:
        name = body["name"]
        if not name.strip():
            raise errors.bad_request("permission name cannot be empty", field="name")
        if _name_taken(core, org_id, name, exclude=permission.id):
            raise errors.conflict(PERMISSION_NAME_TAKEN, name=name)
        changes["name"] = name
    if "operations" in body:
        changes["operations"] = _check_operations(body["operations"])
    return core.replace("permissions", permission.id, permission, **changes)


def archive(core: Core, org_id: str, permission_id: str, *, is_archived: bool) -> Permission:
    permission = _mutable(core, org_id, permission_id)
    return core.replace("permissions", permission.id, permission, is_archived=is_archived,
                        status="Archived" if is_archived else "Active", date_updated=core.now())


def identity_kind(core: Core, org_id: str, identity_id: str) -> str:
    """What an id names: a user, a service account, a PAT / token, or an application."""
    user = core.store.get("users", identity_id)
    if user is not None and user.org_id == org_id and not user.is_archived:
        return "ServiceAccount" if user.is_service_account else "User"
    token = core.store.get("tokens", identity_id)
    if token is not None and token.org_id == org_id and not token.is_archived \
            and token.kind in ("Pat", "ServiceAccount", "Application"):
        return "Pat" if token.kind == "Pat" else "Token"
    app = core.store.get("apps", identity_id)
    if app is not None and app.org_id == org_id and not app.is_archived:
        return "Application"
    raise errors.not_found(IDENTITY_NOT_FOUND, identityId=identity_id)


def assign(core: Core, org_id: str, permission_id: str, identity_id: str) -> Assignment:
    permission = get(core, org_id, permission_id)
    if permission.is_archived:
        raise errors.bad_request(PERMISSION_ARCHIVED, permissionId=permission_id)
    kind = identity_kind(core, org_id, identity_id)
    for existing in core.store.find("assignments", "identity", identity_id):
        if existing.permission_id == permission.id and not existing.is_archived:
            raise errors.conflict(ALREADY_ASSIGNED, assignmentId=existing.id)
    return permissions.assign(core, permission=permission, identity_id=identity_id,
                              identity_kind=kind)


def revoke(core: Core, org_id: str, assignment_id: str,
           permission_id: str | None = None) -> Assignment:
    assignment: Assignment | None = core.store.get("assignments", assignment_id)
    if assignment is None or assignment.org_id != org_id or assignment.is_archived \
            or (permission_id is not None and assignment.permission_id != permission_id):
        raise errors.not_found(ASSIGNMENT_NOT_FOUND, assignmentId=assignment_id)
    return core.replace("assignments", assignment.id, assignment, is_archived=True)


def list_assignments(core: Core, org_id: str, permission_id: str | None = None) -> list[Assignment]:
    if permission_id is not None:
        get(core, org_id, permission_id)
        rows = core.store.find("assignments", "permission", permission_id)
    else:
        rows = [a for a in core.store.scan("assignments") if a.org_id == org_id]
    return sorted((a for a in rows if not a.is_archived), key=lambda a: a.id)
