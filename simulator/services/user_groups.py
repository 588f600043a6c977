"""User groups (SDK era, endpoints.md §8): named sets of members sharing permission assignments.

A group is an identity permissions can be assigned to (``assignments.identity_id`` = group id);
its members gain those operations in addition to their own. :func:`install` registers the
member lookup with :func:`simulator.services.permissions.operations_of`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from simulator import errors
from simulator.clock import iso8601
from simulator.models import GroupMembership, Permission, User, UserGroup, evolve
from simulator.services.core import Core

GROUP_NOT_FOUND = "user group not found"
GROUP_NAME_TAKEN = "a user group with this name already exists"


def install(core: Core) -> None:
    """Make group permissions count for members in every permission check."""
    core.extensions["group_operations"] = group_operations


def _member_groups(core: Core, user_id: str) -> list[UserGroup]:
    out = []
    for membership in core.store.find("group_members", "user", user_id):
        group: UserGroup | None = core.store.get("user_groups", membership.group_id)
        if group is not None and not group.is_archived:
            out.append(group)
    return out


def _direct_permissions(core: Core, identity_id: str) -> list[Permission]:
    out = []
    for assignment in core.store.find("assignments", "identity", identity_id):
        if assignment.is_archived:
            continue
        permission: Permission | None = core.store.get("permissions", assignment.permission_id)
        if permission is not None and not permission.is_archived:
            out.append(permission)
    return out


def group_operations(core: Core, identity_id: str) -> set[str]:
    ops: set[str] = set()
    for group in _member_groups(core, identity_id):
        for permission in _direct_permissions(core, group.id):
            ops.update(permission.operations)
    return ops


def permissions_of_user(core: Core, user_id: str) -> list[Permission]:
    """The permissions a user holds: its own assignments and its groups' (deduplicated)."""
    seen: dict[str, Permission] = {}
    for permission in _direct_permissions(core, user_id):
        seen.setdefault(permission.id, permission)
    for group in _member_groups(core, user_id):
        for permission in _direct_permissions(core, group.id):
            seen.setdefault(permission.id, permission)
    return list(seen.values())


# -- groups ---------------------------------------------------------------------------------
def _name_taken(core: Core, org_id: str, name: str, *, except_id: str = "") -> bool:
    return any(g.name.lower() == name.lower() and not g.is_archived and g.id != except_id
               for g in core.store.find("user_groups", "org", org_id))


def get_group(core: Core, org_id: str, group_id: str) -> UserGroup:
    group: UserGroup | None = core.store.get("user_groups", group_id)
    if group is None or group.org_id != org_id or group.is_archived:
        raise errors.not_found(GROUP_NOT_FOUND, userGroupId=group_id)
    return group


def list_groups(core: Core, org_id: str) -> list[UserGroup]:
    return [g for g in core.store.find("user_groups", "org", org_id) if not g.is_archived]


def create_group(core: Core, org_id: str, *, name: str, description: str | None) -> UserGroup:
    with core.store.transaction() as tx:
        if _name_taken(core, org_id, name):
            raise errors.conflict(GROUP_NAME_TAKEN, name=name)
        now = core.now()
        group = UserGroup(id=core.new_id("ug"), org_id=org_id, name=name, description=description,
                          date_created=now, date_updated=now)
        tx.put("user_groups", group.id, group)
    return group


def update_group(core: Core, org_id: str, group_id: str, changes: dict[str, Any]) -> UserGroup:
    with core.store.transaction() as tx:
        group = get_group(core, org_id, group_id)
        updates: dict[str, Any] = {"date_updated": core.now()}
        if changes.get("name") is not None:
            if _name_taken(core, org_id, changes["name"], except_id=group.id):
                raise errors.conflict(GROUP_NAME_TAKEN, name=changes["name"])
            updates["name"] = changes["name"]
        if "description" in changes:  # an explicit null clears it
            updates["description"] = changes["description"]
        group = evolve(group, **updates)
        tx.put("user_groups", group.id, group)
    return group


def delete_group(core: Core, org_id: str, group_id: str) -> None:
    """Archive the group: its assignments are revoked, members removed, its name reusable."""
    with core.store.transaction() as tx:
        group = get_group(core, org_id, group_id)
        for assignment in tx.find("assignments", "identity", group.id):
            if not assignment.is_archived:
                tx.put("assignments", assignment.id, evolve(assignment, is_archived=True))
        for membership in tx.find("group_members", "group", group.id):
            tx.delete("group_members", membership.id)
        tx.put("user_groups", group.id, evolve(group, is_archived=True, date_updated=core.now()))


# -- members --------------------------------------------------------------------------------
def _org_users(core: Core, org_id: str, user_ids: Iterable[str]) -> list[User]:
    out = []
    for user_id in user_ids:
        user: User | None = core.store.get("users", user_id)
        if user is None or user.org_id != org_id or user.is_archived:
            raise errors.not_found("user not found", userId=user_id)
        out.append(user)
    return out


def members(core: Core, org_id: str, group_id: str) -> list[User]:
    group = get_group(core, org_id, group_id)
    rows = [core.store.get("users", m.user_id)
            for m in core.store.find("group_members", "group", group.id)]
    return [u for u in rows if u is not None and not u.is_archived]


def add_members(core: Core, org_id: str, group_id: str, user_ids: list[str]) -> None:
    with core.store.transaction() as tx:
        group = get_group(core, org_id, group_id)
        for user in _org_users(core, org_id, user_ids):
            key = f"{group.id}:{user.id}"
            if tx.get("group_members", key) is None:
                tx.put("group_members", key, GroupMembership(
                    id=key, org_id=org_id, group_id=group.id, user_id=user.id,
                    date_created=core.now()))
        tx.put("user_groups", group.id, evolve(group, date_updated=core.now()))


def remove_members(core: Core, org_id: str, group_id: str, user_ids: list[str]) -> None:
    with core.store.transaction() as tx:
        group = get_group(core, org_id, group_id)
        for user in _org_users(core, org_id, user_ids):
            tx.delete("group_members", f"{group.id}:{user.id}")
        tx.put("user_groups", group.id, evolve(group, date_updated=core.now()))


def group_view(core: Core, group: UserGroup) -> dict[str, Any]:
    count = sum(1 for m in core.store.find("group_members", "group", group.id)
                if (u := core.store.get("users", m.user_id)) is not None and not u.is_archived)
    view: dict[str, Any] = {
        "id": group.id,
        "orgId": group.org_id,
        "name": group.name,
        "memberCount": count,
        "dateCreated": iso8601(group.date_created),
        "dateUpdated": iso8601(group.date_updated),
    }
    if group.description is not None:
        view["description"] = group.description
    return view
