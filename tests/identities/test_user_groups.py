"""User groups (endpoints.md §8): members gain the group's permissions."""

from __future__ import annotations

from scenarios.client import DfnsApi, ok
from simulator import Simulator
from simulator.services import permissions
from tests.identities.helpers import error, human, not_permitted


def _assign_to_group(sim: Simulator, group_id: str, operations: list[str]) -> None:
    permission = permissions.create_permission(sim.core, org_id=sim.org_id, name=f"g-{group_id}",
                                               operations=tuple(operations))
    permissions.assign(sim.core, permission=permission, identity_id=group_id,
                       identity_kind="UserGroup")


def test_group_crud_and_member_permissions(sim: Simulator, sa: DfnsApi) -> None:
    nobody = human(sim, sa, "nobody@example.com", operations=None)
    assert error(nobody.api.request("GET", "/auth/users")) == (
        403, not_permitted("CustomerEmployee", nobody.user_id, "Auth:Users:Read"))
    group = ok(sa.signed("POST", "/auth/user-groups",
                         {"name": "readers", "description": "can read"}))
    assert (group["memberCount"] == 0 and group["description"] == "can read"
            and group["orgId"] == sim.org_id)
    gid = group["id"]
    _assign_to_group(sim, gid, ["Auth:Users:Read"])
    ok(sa.signed("POST", f"/auth/user-groups/{gid}/members", {"userIds": [nobody.user_id]}))
    assert ok(sa.request("GET", f"/auth/user-groups/{gid}"))["memberCount"] == 1
    members = ok(sa.request("GET", f"/auth/user-groups/{gid}/members"))["items"]
    assert [m["userId"] for m in members] == [nobody.user_id]
    assert ok(nobody.api.request("GET", "/auth/users"))["items"]
    ok(sa.signed("DELETE", f"/auth/user-groups/{gid}/members", {"userIds": [nobody.user_id]}))
    assert nobody.api.request("GET", "/auth/users").status_code == 403
    # update: rename, clear the description
    updated = ok(sa.signed("PUT", f"/auth/user-groups/{gid}",
                           {"name": "viewers", "description": None}))
    assert updated["name"] == "viewers" and "description" not in updated
    # deleting revokes the group's assignments and frees the name
    ok(sa.signed("POST", f"/auth/user-groups/{gid}/members", {"userIds": [nobody.user_id]}))
    assert nobody.api.request("GET", "/auth/users").status_code == 200
    assert ok(sa.signed("DELETE", f"/auth/user-groups/{gid}")) == {}
    assert nobody.api.request("GET", "/auth/users").status_code == 403
    assert error(sa.request("GET", f"/auth/user-groups/{gid}")) == (404, "user group not found")
    ok(sa.signed("POST", "/auth/user-groups", {"name": "viewers"}))


def test_group_rules_and_pagination(sim: Simulator, sa: DfnsApi) -> None:
    ok(sa.signed("POST", "/auth/user-groups", {"name": "ops"}))
    assert error(sa.signed("POST", "/auth/user-groups", {"name": "OPS"})) == (
        409, "a user group with this name already exists")
    assert error(sa.signed("POST", "/auth/user-groups", {})) == (400, "name is required")
    for name in ("g1", "g2", "g3"):
        ok(sa.signed("POST", "/auth/user-groups", {"name": name}))
    first = ok(sa.request("GET", "/auth/user-groups?limit=3"))
    rest = ok(sa.request("GET",
                         f"/auth/user-groups?limit=3&paginationToken={first['nextPageToken']}"))
    assert len(first["items"]) == 3 and len(rest["items"]) == 1 and "nextPageToken" not in rest
    # ids are random, so pick a group whose rename to "g3" really collides with another one
    gid = next(g["id"] for g in first["items"] + rest["items"] if g["name"] != "g3")
    assert error(sa.signed("POST", f"/auth/user-groups/{gid}/members",
                           {"userIds": ["us-nope"]})) == (
        404, "user not found")
    assert error(sa.signed("POST", "/auth/user-groups/ug-nope/members",
                           {"userIds": ["us-nope"]})) == (
        404, "user group not found")
    assert error(sa.signed("POST", f"/auth/user-groups/{gid}/members", {"userIds": []}))[0] == 400
    assert error(sa.signed("PUT", "/auth/user-groups/ug-nope",
                           {"name": "x"})) == (404, "user group not found")
    assert error(sa.signed("PUT", f"/auth/user-groups/{gid}", {"name": "g3"})) == (
        409, "a user group with this name already exists")
