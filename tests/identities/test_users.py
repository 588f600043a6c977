"""User lifecycle (endpoints.md §7), through both doors."""

from __future__ import annotations

from scenarios.client import DfnsApi, delegated_login, ok, register_delegated
from simulator import Simulator, errors
from tests.identities.helpers import error, human, not_permitted, service_account_with
from virtual_authenticators import KeyAuthenticator


def test_deactivate_activate_update_delete(sim: Simulator, sa: DfnsApi) -> None:
    register_delegated(sa, "eve@example.com", KeyAuthenticator())
    session = sa.as_(delegated_login(sa, "eve@example.com"))
    assert ok(session.request("GET", "/auth/credentials"))["items"]
    user_id = next(u.id for u in sim.core.store.scan("users") if u.username == "eve@example.com")
    path = f"/auth/users/{user_id}"
    deactivated = ok(sa.signed("PUT", f"{path}/deactivate", {"force": False}))
    assert deactivated["isActive"] is False and deactivated["userId"] == user_id
    assert error(session.request("GET", "/auth/credentials")) == (401, errors.NOT_AUTHORIZED)
    assert error(sa.signed("POST", "/auth/login/delegated", {"username": "eve@example.com"})) == (
        400, errors.USER_DEACTIVATED)
    assert ok(sa.signed("PUT", f"{path}/activate"))["isActive"] is True
    # the session ended by the deactivation stays ended
    assert error(session.request("GET", "/auth/credentials")) == (401, errors.NOT_AUTHORIZED)
    assert ok(sa.as_(delegated_login(sa, "eve@example.com")).request("GET", "/auth/credentials"))
    updated = ok(sa.signed("PUT", path, {"externalId": "crm-42", "isSSORequired": True}))
    assert updated["externalId"] == "crm-42" and updated["isSSORequired"] is True
    assert ok(sa.request("GET", path))["externalId"] == "crm-42"
    archived = ok(sa.signed("DELETE", path))
    assert archived["isActive"] is False and archived["userId"] == user_id
    assert error(sa.request("GET", path)) == (404, "user not found")
    assert error(sa.signed("DELETE", path)) == (404, "user not found")
    assert user_id not in [u["userId"] for u in ok(sa.request("GET", "/auth/users"))["items"]]
    # the username can be registered again
    register_delegated(sa, "eve@example.com", KeyAuthenticator())


def test_unknown_and_other_org_users_are_not_found(sim: Simulator, sa: DfnsApi) -> None:
    from simulator.services.bootstrap import create_org
    from simulator.services.users import create_user

    other_org, _ = create_org(sim.core, name="Other", rp_id="localhost",
                              origin="http://localhost:3000",
                              app_name="Other app")
    stranger = create_user(sim.core, org_id=other_org.id, username="x@other.example",
                           kind="CustomerEmployee")
    for user_id in ("us-unknown", stranger.id):
        assert error(sa.request("GET", f"/auth/users/{user_id}")) == (404, "user not found")
        for method, suffix in (("PUT", "/activate"), ("PUT", "/deactivate"), ("DELETE", ""),
                               ("PUT", "")):
            assert error(sa.signed(method, f"/auth/users/{user_id}{suffix}")) == (
                404, "user not found")


def test_kind_dependent_operations(sim: Simulator, sa: DfnsApi) -> None:
    register_delegated(sa, "end@example.com", KeyAuthenticator())
    register_delegated(sa, "staff@example.com", KeyAuthenticator(), kind="CustomerEmployee")
    ids = {u.username: u.id for u in sim.core.store.scan("users")}
    employees_only, caller_id = service_account_with(
        sim, sa.http, ["Auth:Users:Update", "Auth:Types:Employee", "Auth:Action:Sign"])
    assert error(employees_only.signed("PUT",
                                       f"/auth/users/{ids['end@example.com']}/deactivate")) == (
        403, not_permitted("CustomerEmployee", caller_id, "Auth:Types:EndUser"))
    assert error(employees_only.signed("DELETE", f"/auth/users/{ids['end@example.com']}")) == (
        403, not_permitted("CustomerEmployee", caller_id, "Auth:Types:EndUser"))
    deactivate = f"/auth/users/{ids['staff@example.com']}/deactivate"
    assert ok(employees_only.signed("PUT", deactivate))["isActive"] is False
    no_update, other_id = service_account_with(sim, sa.http,
                                               ["Auth:Types:Employee", "Auth:Action:Sign"])
    assert error(no_update.signed("PUT", f"/auth/users/{ids['staff@example.com']}/activate")) == (
        403, not_permitted("CustomerEmployee", other_id, "Auth:Users:Update"))
    # user actions are required
    response = sa.request("PUT", f"/auth/users/{ids['staff@example.com']}/activate")
    assert error(response) == (403, errors.USER_ACTION_INVALID)


def test_list_users_paginates(sim: Simulator, sa: DfnsApi) -> None:
    for i in range(5):
        ok(sa.signed("POST", "/auth/users",
                     {"email": f"page{i}@example.com", "kind": "CustomerEmployee"}))
    total = len(ok(sa.request("GET", "/auth/users"))["items"])
    assert total == 6  # five employees + the bootstrap service account
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        query = "/auth/users?limit=2" + (f"&paginationToken={token}" if token else "")
        page = ok(sa.request("GET", query))
        assert len(page["items"]) <= 2
        seen += [u["userId"] for u in page["items"]]
        pages += 1
        token = page.get("nextPageToken")
        if not token:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == total
    employees = ok(sa.request("GET", "/auth/users?kind=EndUser"))["items"]
    assert employees == []
    for bad in ("0", "abc", "1001"):
        status, _ = error(sa.request("GET", f"/auth/users?limit={bad}"))
        assert status == 400


def test_invite_tenant_user(sim: Simulator, sa: DfnsApi) -> None:
    from simulator.services.bootstrap import create_org
    from simulator.services.users_admin import create_tenant_user

    home, _ = create_org(sim.core, name="Home", rp_id="localhost", origin="http://localhost:3000",
                         app_name="Home")
    create_tenant_user(sim.core, org_id=home.id, username="tina@tenant.example")
    assert ok(sa.signed("POST", "/auth/users/invite",
                        {"email": "tina@tenant.example", "kind": "TenantUser"})) == {}
    invited = [u for u in ok(sa.request("GET", "/auth/users"))["items"]
               if u["username"] == "tina@tenant.example"]
    assert (len(invited) == 1 and invited[0]["kind"] == "TenantUser"
            and invited[0]["permissionAssignments"] == [])
    assert sim.outbox("tina@tenant.example")[-1]["kind"] == "invitation"
    assert error(sa.signed("POST", "/auth/users/invite",
                           {"email": "tina@tenant.example", "kind": "TenantUser"})) == (
        409, "a user with this username already exists")
    assert error(sa.signed("POST", "/auth/users/invite",
                           {"email": "nobody@tenant.example", "kind": "TenantUser"})) == (
        404, "tenant user not found")
    status, message = error(sa.signed("POST", "/auth/users/invite",
                                      {"email": "a@b.c", "kind": "EndUser"}))
    assert status == 400 and message.startswith("invalid kind")


def test_a_human_admin_deactivating_itself_loses_access(sim: Simulator, sa: DfnsApi) -> None:
    admin = human(sim, sa, "self@example.com")
    assert ok(admin.api.signed("PUT",
                               f"/auth/users/{admin.user_id}/deactivate"))["isActive"] is False
    assert error(admin.api.request("GET", "/auth/users")) == (401, errors.NOT_AUTHORIZED)
