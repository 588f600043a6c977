"""Permission management routes: CRUD, assignments (both eras), managed permissions."""

from __future__ import annotations

import pytest

from scenarios.client import DfnsApi, ok
from simulator import Simulator
from simulator.services import permissions
from tests.authz.helpers import service_account_with


def _error(response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"] == message


def test_create_get_list_update_archive(sa: DfnsApi) -> None:
    created = ok(sa.signed("POST", "/permissions",
                           {"name": "Readers", "operations": ["Wallets:Read"]}))
    assert created["name"] == "Readers" and created["operations"] == ["Wallets:Read"]
    assert (created["isImmutable"] is False and created["isArchived"] is False
            and created["status"] == "Active")
    assert created["id"].startswith("pm-")
    assert ok(sa.request("GET", f"/permissions/{created['id']}")) == created
    names = [p["name"] for p in ok(sa.request("GET", "/permissions"))["items"]]
    assert {"Readers", permissions.FULL_ADMIN, permissions.DEFAULT_END_USER} <= set(names)
    updated = ok(sa.signed("PUT", f"/permissions/{created['id']}",
                           {"name": "Readers2",
                            "operations": ["Wallets:Read", "Wallets:ReadSignature"]}))
    assert updated["name"] == "Readers2" and updated["operations"] == ["Wallets:Read",
                                                                       "Wallets:ReadSignature"]
    archived = ok(sa.signed("PUT", f"/permissions/{created['id']}/archive", {"isArchived": True}))
    assert archived["isArchived"] is True and archived["status"] == "Archived"
    restored = ok(sa.signed("PUT", f"/permissions/{created['id']}/archive", {"isArchived": False}))
    assert restored["isArchived"] is False


def test_create_rejections(sa: DfnsApi) -> None:
    _error(sa.signed("POST", "/permissions", {"name": "Empty", "operations": []}), 400,
           "a permission must have at least one operation")
    _error(sa.signed("POST", "/permissions", {"name": "Bogus", "operations": ["Nope:Nope"]}), 400,
           "unknown operation: Nope:Nope")
    ok(sa.signed("POST", "/permissions", {"name": "Dup", "operations": ["Wallets:Read"]}))
    _error(sa.signed("POST", "/permissions", {"name": "Dup", "operations": ["Wallets:Read"]}), 409,
           "a permission with this name already exists")
    _error(sa.request("GET", "/permissions/pm-unknown"), 404, "permission not found")


def test_full_admin_is_immutable_and_lists_every_operation(sa: DfnsApi) -> None:
    items = ok(sa.request("GET", "/permissions"))["items"]
    full = next(p for p in items if p["name"] == permissions.FULL_ADMIN)
    assert full["isImmutable"] is True
    assert "*" not in full["operations"]
    assert full["operations"] == list(permissions.known_operations())
    assert {"Auth:Users:Create", "Wallets:GenerateSignature",
            "Permissions:Create"} <= set(full["operations"])
    _error(sa.signed("PUT", f"/permissions/{full['id']}", {"name": "mine"}), 403,
           "permission is immutable and cannot be modified")
    _error(sa.signed("PUT", f"/permissions/{full['id']}/archive", {"isArchived": True}), 403,
           "permission is immutable and cannot be modified")


@pytest.mark.parametrize("era", ["sdk", "docs"])
def test_assign_and_revoke_changes_what_a_caller_may_do(sim: Simulator, sa: DfnsApi,
                                                        era: str) -> None:
    target = service_account_with(sim, ["Auth:Action:Sign"])
    caller = sa.as_(target.token, target.signer)
    denied = caller.request("GET", "/permissions")
    _error(denied, 403,
           f"CustomerEmployee {target.user_id} is not authorized to perform operation "
           "(Permissions:Read)")
    permission = ok(sa.signed("POST", "/permissions",
                              {"name": "Reader", "operations": ["Permissions:Read"]}))
    if era == "sdk":
        assignment = ok(sa.signed("POST", f"/permissions/{permission['id']}/assignments",
                                  {"identityId": target.user_id}))
    else:
        assignment = ok(sa.signed("POST", "/permissions/assignments",
                                  {"permissionId": permission["id"], "identityId": target.user_id}))
    assert (assignment["permissionId"] == permission["id"]
            and assignment["identityId"] == target.user_id)
    assert ok(caller.request("GET", "/permissions"))["items"]
    listed = ok(sa.request("GET", f"/permissions/{permission['id']}/assignments"))["items"]
    assert [a["id"] for a in listed] == [assignment["id"]]
    assert assignment["id"] in [a["id"]
                                for a in ok(sa.request("GET", "/permissions/assignments"))["items"]]
    _error(sa.signed("POST", f"/permissions/{permission['id']}/assignments",
                     {"identityId": target.user_id}),
           409, "permission is already assigned to this identity")
    if era == "sdk":
        ok(sa.signed("DELETE", f"/permissions/{permission['id']}/assignments/{assignment['id']}"))
    else:
        ok(sa.signed("DELETE", f"/permissions/assignments/{assignment['id']}"))
    assert caller.request("GET", "/permissions").status_code == 403
    _error(sa.signed("DELETE", f"/permissions/assignments/{assignment['id']}"), 404,
           "assignment not found")


def test_archived_permission_stops_granting(sim: Simulator, sa: DfnsApi) -> None:
    target = service_account_with(sim, ["Auth:Action:Sign"])
    caller = sa.as_(target.token, target.signer)
    permission = ok(sa.signed("POST", "/permissions",
                              {"name": "R", "operations": ["Permissions:Read"]}))
    ok(sa.signed("POST", f"/permissions/{permission['id']}/assignments",
                 {"identityId": target.user_id}))
    assert caller.request("GET", "/permissions").status_code == 200
    ok(sa.signed("PUT", f"/permissions/{permission['id']}/archive", {"isArchived": True}))
    assert caller.request("GET", "/permissions").status_code == 403
    _error(sa.signed("POST", f"/permissions/{permission['id']}/assignments",
                     {"identityId": sim.bootstrap()["serviceAccount"]["userId"]}),
           400, "permission is archived")


def test_assign_to_unknown_identity(sa: DfnsApi) -> None:
    permission = ok(sa.signed("POST", "/permissions",
                              {"name": "X", "operations": ["Wallets:Read"]}))
    _error(sa.signed("POST", f"/permissions/{permission['id']}/assignments",
                     {"identityId": "us-nobody"}),
           404, "identity not found")


def test_sdk_alias_grants_docs_era_operation(sim: Simulator, sa: DfnsApi) -> None:
    """Holding the SDK-era ``Permissions:Assign`` satisfies the docs-era assignment check."""
    target = service_account_with(sim, ["Auth:Action:Sign", "Permissions:Assign"])
    caller = sa.as_(target.token, target.signer)
    permission = ok(sa.signed("POST", "/permissions",
                              {"name": "Y", "operations": ["Wallets:Read"]}))
    ok(caller.signed("POST", f"/permissions/{permission['id']}/assignments",
                     {"identityId": target.user_id}))


def test_end_users_inherit_the_default_end_user_permission(sim: Simulator, sa: DfnsApi) -> None:
    from scenarios.client import register_delegated
    from virtual_authenticators import KeyAuthenticator

    user_id = register_delegated(sa, "enduser@example.com", KeyAuthenticator())["user"]["id"]
    def default_entries() -> list[dict]:
        info = ok(sa.request("GET", f"/auth/users/{user_id}"))
        return [a for a in info["permissionAssignments"]
                if a["permissionName"] == permissions.DEFAULT_END_USER]

    # Registration also assigns it: listed once, with that assignment's id.
    [assigned] = default_entries()
    assert assigned["assignmentId"].startswith("as-")
    assert "Wallets:GenerateSignature" in assigned["operations"]
    ok(sa.signed("DELETE", f"/permissions/assignments/{assigned['assignmentId']}"))
    [inherited] = default_entries()  # still held, now without an assignment
    assert inherited["assignmentId"] == "" and inherited["operations"] == assigned["operations"]
    assert permissions.allows(permissions.operations_of(sim.core, user_id),
                              "Wallets:GenerateSignature")
    assert not permissions.allows(permissions.operations_of(sim.core, user_id), "Auth:Users:Create")


def test_assign_to_an_application_widens_what_it_allows(sim: Simulator, sa: DfnsApi) -> None:
    from tests.authz.helpers import app_with

    app = app_with(sim, ["Auth:Action:Sign", "Auth:Users:Read"])
    through_app = DfnsApi(sa.http, sa.token, sa.signer, app_id=app.id)
    _error(through_app.request("GET", "/permissions"), 403,
           f"Application {app.id} is not authorized to perform operation (Permissions:Read)")
    permission = ok(sa.signed("POST", "/permissions",
                              {"name": "AppRead", "operations": ["Permissions:Read"]}))
    assignment = ok(sa.signed("POST", f"/permissions/{permission['id']}/assignments",
                              {"identityId": app.id}))
    assert assignment["identityKind"] == "Application"
    assert ok(through_app.request("GET", "/permissions"))["items"]
