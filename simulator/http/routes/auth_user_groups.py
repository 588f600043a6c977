"""User-group routes (SDK era, endpoints.md §8). The spec names no operations for them; the
simulator uses the user-management ones (read: ``Auth:Users:Read``, write: ``Auth:Users:Update``).
"""

from __future__ import annotations

import json
from typing import Any

from simulator.http.app import Call
from simulator.http.routing import AUTH, RouteTable
from simulator.http.schema import ID, NAME, Array, Obj, Str
from simulator.services import user_groups, users
from simulator.services.pagination import paginate

routes = RouteTable("User groups")

READ = ("Auth:Users:Read",)
WRITE = ("Auth:Users:Update",)
PAGE = Obj(optional={"limit": Str(max_length=10), "paginationToken": Str(max_length=500)})
DESCRIPTION = Str(max_length=2000)
USER_IDS = Obj(required={"userIds": Array(ID, min_items=1, max_items=1000)})


def _org(call: Call) -> str:
    return call.require_caller().org_id


@routes.route("GET", "/auth/user-groups", caller=AUTH, operations=READ, query=PAGE)
def list_groups(call: Call) -> Any:
    """List user groups."""
    return paginate(call, user_groups.list_groups(call.core, _org(call)), key=lambda g: g.id,
                    render=lambda g: user_groups.group_view(call.core, g))


@routes.route("POST", "/auth/user-groups", caller=AUTH, user_action=True, operations=WRITE,
              body=Obj(required={"name": NAME}, optional={"description": DESCRIPTION}))
def create_group(call: Call) -> Any:
    """Create user group."""
    group = user_groups.create_group(call.core, _org(call), name=call.body["name"],
                                     description=call.body.get("description"))
    return user_groups.group_view(call.core, group)


@routes.route("GET", "/auth/user-groups/{userGroupId}", caller=AUTH, operations=READ)
def get_group(call: Call) -> Any:
    """Get user group."""
    return user_groups.group_view(call.core, user_groups.get_group(call.core, _org(call),
                                                                   call.params["userGroupId"]))


@routes.route("PUT", "/auth/user-groups/{userGroupId}", caller=AUTH, user_action=True,
              operations=WRITE,
              body=Obj(optional={"name": NAME, "description": DESCRIPTION}))
def update_group(call: Call) -> Any:
    """Update user group (``description: null`` clears it)."""
    changes = dict(call.body)
    # The schema drops null members; an explicit ``"description": null`` means "clear it".
    raw = json.loads(call.raw_body) if call.raw_body.strip() else {}
    if isinstance(raw, dict) and "description" in raw and raw["description"] is None:
        changes["description"] = None
    group = user_groups.update_group(call.core, _org(call), call.params["userGroupId"], changes)
    return user_groups.group_view(call.core, group)


@routes.route("DELETE", "/auth/user-groups/{userGroupId}", caller=AUTH, user_action=True,
              operations=WRITE)
def delete_group(call: Call) -> Any:
    """Delete user group: assignments revoked, members removed, name reusable."""
    user_groups.delete_group(call.core, _org(call), call.params["userGroupId"])
    return {}


@routes.route("GET", "/auth/user-groups/{userGroupId}/members", caller=AUTH, operations=READ,
              query=PAGE)
def list_members(call: Call) -> Any:
    """List user-group members."""
    rows = user_groups.members(call.core, _org(call), call.params["userGroupId"])
    return paginate(call, rows, key=lambda u: u.id, render=lambda u: users.user_view(call.core, u))


@routes.route("POST", "/auth/user-groups/{userGroupId}/members", caller=AUTH, user_action=True,
              operations=WRITE, body=USER_IDS)
def add_members(call: Call) -> Any:
    """Add members."""
    user_groups.add_members(call.core, _org(call), call.params["userGroupId"], call.body["userIds"])
    return {}


@routes.route("DELETE", "/auth/user-groups/{userGroupId}/members", caller=AUTH, user_action=True,
              operations=WRITE, body=USER_IDS)
def remove_members(call: Call) -> Any:
    """Remove members."""
    user_groups.remove_members(call.core, _org(call), call.params["userGroupId"],
                               call.body["userIds"])
    return {}
