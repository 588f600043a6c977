"""The plugin's fixtures, used directly.

The plugin is installed through its pytest11 entry point.
"""

from __future__ import annotations

import httpx
import pytest

from scenarios.client import DfnsApi, login, ok
from simulator import Simulator
from simulator.pytest_plugin import DfnsUser


def test_plugin_is_loaded_through_its_entry_point(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("dfns_sim")


def test_dfns_sim_is_an_in_process_simulator(dfns_sim: Simulator, dfns_client: httpx.Client,
                                             dfns_bootstrap: dict) -> None:
    assert isinstance(dfns_sim, Simulator)
    assert dfns_bootstrap["orgId"] == dfns_sim.org_id
    assert dfns_bootstrap["baseUrl"] == str(dfns_client.base_url).rstrip("/")
    assert dfns_client.get("/_sim/health").json()["orgId"] == dfns_sim.org_id


def test_threaded_server_shares_the_state(dfns_sim: Simulator, dfns_sim_server: object,
                                          dfns_user_factory: object) -> None:
    alice: DfnsUser = dfns_user_factory()  # type: ignore[operator]  # registered in-process
    base_url = dfns_sim_server.base_url  # type: ignore[attr-defined]
    assert base_url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=base_url) as remote:
        items = ok(DfnsApi(remote, alice.token).request("GET", "/auth/credentials"))["items"]
        assert remote.get("/_sim/journal").json()["items"][-1]["path"] == "/auth/credentials"
    assert [c["kind"] for c in items] == ["Key"]


@pytest.mark.parametrize("kind", ["Key", "Fido2", "PasswordProtectedKey"])
def test_user_factory_kinds(kind: str, dfns_user_factory: object, dfns_client: httpx.Client,
                            dfns_bootstrap: dict) -> None:
    user: DfnsUser = dfns_user_factory(kind=kind)  # type: ignore[operator]
    assert user.username.endswith("@example.com") and user.userId.startswith("us-")
    assert user.authenticator.kind == kind
    me = [c["kind"] for c in ok(user.api.request("GET", "/auth/credentials"))["items"]]
    assert me == [kind]
    if kind != "PasswordProtectedKey":  # that kind signs user actions, not logins (spec)
        assert login(DfnsApi(dfns_client), org_id=dfns_bootstrap["orgId"],
                     username=user.username, device=user.authenticator)
    assert user.token not in repr(user)


def test_user_factory_options(dfns_user_factory: object) -> None:
    employee: DfnsUser = dfns_user_factory(username="boss@example.com",  # type: ignore[operator]
                                           user_kind="CustomerEmployee", algorithm="Ed25519")
    assert employee.username == "boss@example.com"
    assert employee.registration["user"]["username"] == "boss@example.com"
    assert employee.authenticator.algorithm == "Ed25519"


def test_authenticator_factory(dfns_authenticator_factory: object, dfns_bootstrap: dict) -> None:
    make = dfns_authenticator_factory
    assert make("Fido2").origin == dfns_bootstrap["origin"]  # type: ignore[operator]
    assert make("RecoveryKey",
                username="r@example.com").kind == "RecoveryKey"  # type: ignore[operator]
    assert make("PasswordProtectedKey",
                password="pw").kind == "PasswordProtectedKey"  # type: ignore[operator]
    with pytest.raises(ValueError, match="unknown credential kind 'Totp'"):
        make("Totp")  # type: ignore[operator]


@pytest.mark.dfns_sim(seed=11)
def test_marker_passes_simulator_settings(dfns_sim: Simulator) -> None:
    assert dfns_sim.config.seed == 11
