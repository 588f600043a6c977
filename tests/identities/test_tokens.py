"""Token exchange ``POST /auth/tokens`` (endpoints.md §2.9)."""

from __future__ import annotations

from scenarios.client import DfnsApi, ok
from simulator import Simulator, errors
from simulator.services.bootstrap import create_org
from simulator.services.identity import new_login_session
from simulator.services.users_admin import create_tenant_user
from tests.identities.helpers import error, human, not_permitted


def test_tenant_user_exchanges_its_token_for_an_org_bound_one(sim: Simulator, sa: DfnsApi) -> None:
    home, home_app = create_org(sim.core, name="Home", rp_id="localhost",
                                origin="http://localhost:3000",
                                app_name="Home")
    tina = create_tenant_user(sim.core, org_id=home.id, username="tina@tenant.example")
    home_api = sa.as_(new_login_session(sim.core, tina, app=home_app))
    # not a member of the default org yet
    assert error(home_api.request("POST", "/auth/tokens", {"target": sim.org_id})) == (
        403, "user has no access to the target organization")
    ok(sa.signed("POST", "/auth/users/invite",
                 {"email": "tina@tenant.example", "kind": "TenantUser"}))
    exchanged = ok(home_api.request("POST", "/auth/tokens", {"target": sim.org_id}))["token"]
    org_api = sa.as_(exchanged)
    # the new token is bound to the org's own TenantUser record (credentials of that user: none yet)
    assert ok(org_api.request("GET", "/auth/credentials"))["items"] == []
    sim.clock.advance(3601)  # never outlives the presented (1 h) token
    assert error(org_api.request("GET", "/auth/credentials")) == (401, errors.NOT_AUTHORIZED)
    assert error(org_api.request("POST", "/auth/tokens", {"target": sim.org_id}))[0] == 401


def test_only_tenant_users_exchange_tokens(sim: Simulator, sa: DfnsApi, bootstrap: dict) -> None:
    assert error(sa.request("POST", "/auth/tokens", {"target": sim.org_id})) == (
        403,
        not_permitted("CustomerEmployee", bootstrap["serviceAccount"]["userId"], "/auth/tokens"))
    admin = human(sim, sa, "admin@example.com")
    assert error(admin.api.request("POST", "/auth/tokens", {"target": sim.org_id})) == (
        403, not_permitted("CustomerEmployee", admin.user_id, "/auth/tokens"))
    assert error(admin.api.request("POST", "/auth/tokens", {})) == (400, "target is required")
    assert error(DfnsApi(sa.http).request("POST", "/auth/tokens", {"target": sim.org_id})) == (
        401, errors.NOT_AUTHORIZED)
