"""One clock and one set of faults for simulators sharing a store (``serve --workers``).

Two ``Simulator`` objects on one SQLite file stand in for two workers: which one answers is
then certain. The cross-process version (two uvicorn processes, SQLite and Redis) is in
tests/load/test_workers.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scenarios.client import register_delegated, service_account_api
from simulator import Simulator, errors
from simulator.admin.control import ControlError
from simulator.admin.shared import META_KEY
from simulator.persistence.sqlite_store import SqliteStore
from tests.admin.helpers import admin, error_of
from virtual_authenticators import KeyAuthenticator

LOGIN_INIT = "/auth/login/init"


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Simulator]]:
    path = tmp_path / "shared.sqlite"
    parent = Simulator(store=SqliteStore(path))
    parent.bootstrap()
    parent.control.share(fresh=True)
    sims = [Simulator(store=SqliteStore(path)) for _ in range(2)]
    for sim in sims:
        sim.bootstrap()
        sim.control.share()
    yield sims


@pytest.fixture
def doors(workers: list[Simulator]) -> Iterator[list[httpx.Client]]:
    clients = [sim.client() for sim in workers]
    yield clients
    for client in clients:
        client.close()


def _login_init(door: httpx.Client) -> httpx.Response:
    return door.post(LOGIN_INIT, json={"username": "nobody@example.com",
                                       "orgId": door.get("/_sim/health").json()["orgId"]})


def test_a_clock_change_on_one_worker_is_the_time_of_all(workers: list[Simulator],
                                                          doors: list[httpx.Client]) -> None:
    first, second = doors
    admin(first, "POST", "clock", {"action": "freeze", "at": "2030-01-02T03:04:05Z"})
    assert admin(second, "GET", "clock") == {"now": "2030-01-02T03:04:05.000Z",
                                             "epoch": 1893553445.0, "frozen": True}
    admin(second, "POST", "clock", {"action": "advance", "seconds": 60})
    assert admin(first, "GET", "clock")["now"] == "2030-01-02T03:05:05.000Z"
    admin(first, "POST", "clock", {"action": "unfreeze"})
    assert admin(second, "GET", "clock")["frozen"] is False
    assert abs(workers[0].clock.now() - workers[1].clock.now()) < 5


def test_an_expiry_follows_the_shared_clock(workers: list[Simulator],
                                            doors: list[httpx.Client]) -> None:
    first, second = doors
    boot = workers[0].bootstrap()
    sa_first = service_account_api(first, boot)
    device = KeyAuthenticator()
    register_delegated(sa_first, "clock@example.com", device)
    init = first.post(LOGIN_INIT, json={"username": "clock@example.com", "orgId": boot["orgId"]})
    assert init.status_code == 200, init.text
    admin(second, "POST", "clock", {"action": "advance", "seconds": 3600})  # on the other one
    body = init.json()
    response = first.post("/auth/login", json={
        "challengeIdentifier": body["challengeIdentifier"], "firstFactor": device.sign(body)})
    assert error_of(response, 400) == errors.CHALLENGE_INVALID


def test_a_fault_added_on_one_worker_fires_times_in_all(doors: list[httpx.Client]) -> None:
    first, second = doors
    rule = admin(first, "POST", "faults", {"path": LOGIN_INIT, "status": 503, "times": 3})
    statuses = [_login_init(doors[i % 2]).status_code for i in range(6)]
    assert statuses.count(503) == 3 and statuses[:3] == [503, 503, 503]
    for door in doors:
        [view] = admin(door, "GET", "faults")["items"]
        assert (view["id"], view["fired"], view["remaining"], view["active"]) == (
            rule["id"], 3, 0, False)


def test_removing_or_clearing_on_one_worker_stops_the_fault_on_all(
        doors: list[httpx.Client]) -> None:
    first, second = doors
    rule = admin(first, "POST", "faults", {"path": LOGIN_INIT, "status": 500})
    assert _login_init(second).status_code == 500
    admin(second, "DELETE", f"faults/{rule['id']}")
    assert _login_init(first).status_code != 500
    admin(second, "POST", "faults", {"path": LOGIN_INIT, "status": 502})
    assert _login_init(first).status_code == 502
    admin(first, "DELETE", "faults")
    assert _login_init(second).status_code != 502
    assert admin(second, "GET", "faults")["items"] == []


def test_rule_ids_stay_unique_across_workers(doors: list[httpx.Client]) -> None:
    ids = [admin(doors[i % 2], "POST", "faults", {"path": "/nowhere", "status": 500})["id"]
           for i in range(4)]
    assert len(set(ids)) == 4


def test_concurrent_requests_on_both_workers_fire_a_counted_fault_exactly_n_times(
        workers: list[Simulator]) -> None:
    workers[0].faults.add("error", path=LOGIN_INIT, status=503, times=5)
    results: list[int] = []
    lock = threading.Lock()

    def hammer(sim: Simulator) -> None:
        with sim.client() as client:
            for _ in range(10):
                status = _login_init(client).status_code
                with lock:
                    results.append(status)

    time.sleep(workers[0].control.shared.settle_seconds)  # type: ignore[union-attr]
    threads = [threading.Thread(target=hammer, args=(sim,)) for sim in workers for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 40 and results.count(503) == 5


def test_reset_on_one_worker_clears_faults_and_clock_for_all(
        doors: list[httpx.Client]) -> None:
    first, second = doors
    admin(first, "POST", "faults", {"path": LOGIN_INIT, "status": 503})
    admin(first, "POST", "clock", {"action": "advance", "seconds": 86400})
    admin(second, "POST", "reset")
    assert admin(first, "GET", "faults")["items"] == []
    assert abs(admin(first, "GET", "clock")["epoch"] - time.time()) < 5


def test_a_fresh_server_drops_what_an_earlier_run_left(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    earlier = Simulator(store=SqliteStore(path))
    earlier.bootstrap()
    earlier.control.share()
    earlier.faults.add("error", path=LOGIN_INIT, status=503)
    earlier.clock.advance(7200)
    assert SqliteStore(path).read_meta(META_KEY)["faults"]["rules"]
    later = Simulator(store=SqliteStore(path))
    later.bootstrap()
    later.control.share(fresh=True)
    document = SqliteStore(path).read_meta(META_KEY)
    assert document["faults"]["rules"] == [] and document["clock"]["offset"] == 0.0
    assert len(later.faults) == 0 and abs(later.clock.now() - time.time()) < 5


def test_only_a_shared_store_can_share() -> None:
    with pytest.raises(ControlError) as info:
        Simulator().control.share()
    assert info.value.status == 501


def test_without_sharing_nothing_is_written_to_the_store(tmp_path: Path) -> None:
    sim = Simulator(store=SqliteStore(tmp_path / "solo.sqlite"))
    sim.faults.add("error", path=LOGIN_INIT, status=503)
    sim.clock.advance(10)
    assert SqliteStore(tmp_path / "solo.sqlite").read_meta(META_KEY) is None


def test_an_unreadable_shared_copy_keeps_the_last_state_and_never_fails_a_request(
        workers: list[Simulator], doors: list[httpx.Client]) -> None:
    first, second = doors
    admin(first, "POST", "clock", {"action": "advance", "seconds": 600})
    workers[1].control.shared.sync()  # type: ignore[union-attr]
    SqliteStore(workers[0].core.store.path).write_meta(  # type: ignore[attr-defined]
        META_KEY, {"version": 999, "clock": {"offset": "soon"}, "faults": {}})
    time.sleep(0.05)
    assert _login_init(second).status_code != 500
    assert abs(admin(second, "GET", "clock")["epoch"] - time.time() - 600) < 5


# -- restore and reset under sharing ------------------------------------------------------------
def _users(door: httpx.Client, boot: dict) -> httpx.Response:
    return service_account_api(door, boot).request("GET", "/auth/users")


def _sync() -> None:
    time.sleep(0.05)  # past every worker's sync interval, as the admin settle wait guarantees


def test_a_restore_on_one_worker_is_the_state_of_all(workers: list[Simulator],
                                                     doors: list[httpx.Client]) -> None:
    # A document from another simulator: another org, JWT secret and bootstrap identity.
    elsewhere = Simulator()
    elsewhere_boot = elsewhere.bootstrap()
    sa_elsewhere = service_account_api(elsewhere.client(), elsewhere_boot)
    register_delegated(sa_elsewhere, "restored@example.com", KeyAuthenticator())
    document = elsewhere.snapshot()
    first, second = doors
    assert admin(first, "POST", "restore", document) == {"restored": True}
    _sync()
    for door in doors:  # the restored secret and org hold on both, not just the one restoring
        response = _users(door, elsewhere_boot)
        assert response.status_code == 200, response.text
        assert "restored@example.com" in {u["username"] for u in response.json()["items"]}
        assert door.get("/_sim/health").json()["orgId"] == elsewhere_boot["orgId"]


def test_reset_on_any_worker_returns_to_the_restored_state(workers: list[Simulator],
                                                           doors: list[httpx.Client]) -> None:
    elsewhere = Simulator()
    boot = elsewhere.bootstrap()
    register_delegated(service_account_api(elsewhere.client(), boot), "kept@example.com",
                       KeyAuthenticator())
    first, second = doors
    admin(first, "POST", "restore", elsewhere.snapshot())
    _sync()
    register_delegated(service_account_api(second, boot), "later@example.com",
                       KeyAuthenticator())
    admin(second, "POST", "reset")  # the worker that did not restore
    _sync()
    for door in doors:
        names = {u["username"] for u in _users(door, boot).json()["items"]}
        assert "kept@example.com" in names and "later@example.com" not in names


def test_a_fresh_start_publishes_the_baseline_workers_reset_to(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite"
    parent = Simulator(store=SqliteStore(path))
    boot = parent.bootstrap()
    parent.control.share(fresh=True)
    worker = Simulator(store=SqliteStore(path))
    worker.bootstrap()
    worker.control.share()
    door = worker.client()
    register_delegated(service_account_api(door, boot), "temp@example.com", KeyAuthenticator())
    admin(door, "POST", "reset")
    names = {u["username"] for u in _users(door, boot).json()["items"]}
    assert "temp@example.com" not in names and boot["serviceAccount"]["userId"]
    assert _users(door, boot).status_code == 200  # the bootstrap identity survives the reset
