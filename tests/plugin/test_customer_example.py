"""A customer's integration test with the dfns_sim pytest plugin (the README snippet)."""
import pytest

from scenarios.client import ok


def test_signup_login_and_admin_view(dfns_user_factory, dfns_sa):
    alice = dfns_user_factory(kind="Fido2")  # delegated registration + login, virtual passkey
    assert [c["kind"] for c in ok(alice.api.request("GET",
                                                    "/auth/credentials"))["items"]] == ["Fido2"]
    assert ok(dfns_sa.request("GET", f"/auth/users/{alice.userId}"))["kind"] == "EndUser"


@pytest.mark.dfns_sim_only  # needs the simulator's controls: skipped against --dfns-target
def test_backend_survives_a_dfns_outage(dfns_sim, dfns_sa):
    dfns_sim.faults.add("error", path="/auth/users", status=503, times=1)
    assert dfns_sa.request("GET", "/auth/users").status_code == 503  # your retry logic here
    assert ok(dfns_sa.request("GET", "/auth/users"))["items"]
