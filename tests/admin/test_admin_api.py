"""The admin API (/_sim/...) through both doors, and its Python twin on Simulator."""

from __future__ import annotations

import importlib.util
import os

import httpx
import pytest

from scenarios.client import DfnsApi, ok, register_delegated
from simulator import Simulator
from simulator.clock import parse_iso8601
from tests.admin.helpers import admin, error_of
from virtual_authenticators import KeyAuthenticator

HAS_CODEC = importlib.util.find_spec("simulator.persistence.codec") is not None
HAS_OPENAPI = importlib.util.find_spec("simulator.http.openapi") is not None


def test_health(door: httpx.Client, sim: Simulator) -> None:
    # pid: the process that answered (the in-process door and its threaded server: this one)
    assert admin(door, "GET", "health") == {"status": "ok", "orgId": sim.org_id,
                                            "pid": os.getpid()}


def test_unknown_admin_route_and_method(door: httpx.Client) -> None:
    assert error_of(door.get("/_sim/nope"), 404) == "route not found"
    assert error_of(door.put("/_sim/clock"), 405) == "method not allowed"
    assert error_of(door.post("/_sim/clock", content=b"{nope"),
                    400) == "request body is not valid JSON"


# -- reset --------------------------------------------------------------------------------
def test_reset_everything_keeps_the_bootstrap_identity(door: httpx.Client, sim: Simulator,
                                                       sa: DfnsApi, bootstrap: dict) -> None:
    register_delegated(sa, "gone@example.com", KeyAuthenticator())
    sim.faults.add("latency", path="/nowhere")
    sim.clock.freeze()
    sim.clock.advance(3600)
    assert admin(door, "POST", "reset") == {"reset": "all"}
    users = ok(sa.request("GET", "/auth/users"))["items"]  # the SA token still works
    assert "gone@example.com" not in [u["username"] for u in users]
    assert sim.faults.list() == [] and not sim.clock.is_frozen
    assert [e["path"] for e in sim.journal()] == ["/auth/users"]  # journal emptied by reset
    # the same username can be registered again
    register_delegated(sa, "gone@example.com", KeyAuthenticator())


def test_reset_one_org(door: httpx.Client, sim: Simulator, sa: DfnsApi, bootstrap: dict) -> None:
    register_delegated(sa, "first@example.com", KeyAuthenticator())
    result = admin(door, "POST", "reset", {"orgId": bootstrap["orgId"]})
    assert result["reset"] == "org" and result["removed"] > result["restored"] > 0
    usernames = [u["username"] for u in ok(sa.request("GET", "/auth/users"))["items"]]
    assert "first@example.com" not in usernames


def test_reset_rejections(door: httpx.Client) -> None:
    assert error_of(door.post("/_sim/reset", json={"orgId": "or-nope"}), 404) == "org not found"
    assert error_of(door.post("/_sim/reset", json={"orgId": 5}),
                    400) == "orgId must be a non-empty string"
    assert error_of(door.post("/_sim/reset", json=[1]),
                    400) == 'the body must be empty or {"orgId": ...}'


def test_reset_twin(sim: Simulator, bootstrap: dict) -> None:
    with sim.client() as client:
        sa = DfnsApi(client)
        sa = sa.as_(bootstrap["serviceAccount"]["accessToken"])
        sim.reset()
        assert ok(sa.request("GET", "/auth/users"))["items"]
        assert sim.reset(bootstrap["orgId"])["orgId"] == bootstrap["orgId"]


# -- seed -----------------------------------------------------------------------------------
def test_seed_makes_ids_replayable(door: httpx.Client, sim: Simulator, sa: DfnsApi) -> None:
    def new_user_id() -> str:
        return str(ok(sa.signed("POST", "/auth/users", {"email": "seeded@example.com",
                                                        "kind": "CustomerEmployee"}))["userId"])

    assert admin(door, "POST", "seed", {"seed": 42}) == {"seed": 42}
    first = new_user_id()
    sim.reset()  # keeps the seed and restarts its sequence
    admin(door, "POST", "seed", {"seed": 42})
    assert new_user_id() == first
    sim.reset()
    sim.seed(43)
    assert new_user_id() != first


def test_seed_rejections(door: httpx.Client) -> None:
    expected = "seed must be an integer (or null for true randomness)"
    assert error_of(door.post("/_sim/seed", json={"seed": "x"}), 400) == expected
    assert error_of(door.post("/_sim/seed", json={}),
                    400) == 'the body must be {"seed": <integer or null>}'
    assert admin(door, "POST", "seed", {"seed": None}) == {"seed": None}


# -- clock ------------------------------------------------------------------------------------
def test_clock_freeze_set_advance_unfreeze(door: httpx.Client, sim: Simulator) -> None:
    view = admin(door, "POST", "clock", {"action": "freeze", "at": "2030-01-01T00:00:00Z"})
    assert view == {"now": "2030-01-01T00:00:00.000Z", "epoch": 1893456000.0, "frozen": True}
    assert sim.core.now() == 1893456000.0
    assert admin(door, "POST", "clock",
                 {"action": "advance", "seconds": 90})["now"] == "2030-01-01T00:01:30.000Z"
    assert admin(door, "POST", "clock",
                 {"action": "set", "at": 1900000000})["epoch"] == 1900000000.0
    assert admin(door, "GET", "clock")["frozen"] is True
    view = admin(door, "POST", "clock", {"action": "unfreeze"})
    assert view["frozen"] is False and abs(view["epoch"] - 1900000000.0) < 5
    assert parse_iso8601(view["now"]) == pytest.approx(view["epoch"], abs=0.01)


def test_clock_twin(sim: Simulator) -> None:
    sim.clock.freeze(1000.0)
    sim.clock.advance(5)
    assert sim.control.clock_view() == {"now": "1970-01-01T00:16:45.000Z", "epoch": 1005.0,
                                        "frozen": True}


@pytest.mark.parametrize(("body", "message"), [
    ({"action": "warp"}, "action must be one of freeze, unfreeze, set, advance"),
    ({"action": "set"}, "set needs at (ISO-8601 or epoch seconds)"),
    ({"action": "set", "at": "yesterday"}, "at must be ISO-8601 or epoch seconds"),
    ({"action": "freeze", "at": -1}, "at is out of range (1970 to 3000)"),
    ({"action": "set", "at": 253402300799}, "at is out of range (1970 to 3000)"),
    ({"action": "set", "at": "9999-12-31T23:59:59.9999999Z"}, "at is out of range (1970 to 3000)"),
    ({"action": "set", "at": "0001-01-01T00:00:00Z"}, "at is out of range (1970 to 3000)"),
    ({"action": "advance", "seconds": "60"}, "advance needs seconds (a number, at most 100 years)"),
    ({"action": "advance", "seconds": 1e12}, "advance needs seconds (a number, at most 100 years)"),
    ([], "the body must be a JSON object with an action"),
])
def test_clock_rejections(door: httpx.Client, body: object, message: str) -> None:
    assert error_of(door.post("/_sim/clock", json=body), 400) == message


@pytest.mark.parametrize(("raw", "message"), [
    (b'{"action": "advance", "seconds": NaN}',
     "advance needs seconds (a number, at most 100 years)"),
    (b'{"action": "advance", "seconds": Infinity}',
     "advance needs seconds (a number, at most 100 years)"),
    (b'{"action": "set", "at": NaN}', "at is out of range (1970 to 3000)"),
])
def test_clock_rejects_non_finite_numbers(door: httpx.Client, sa: DfnsApi, raw: bytes,
                                          message: str) -> None:
    # Python's JSON reader accepts NaN and Infinity; the clock must not take them
    assert error_of(door.post("/_sim/clock", content=raw), 400) == message
    assert admin(door, "GET", "clock")["epoch"] > 0
    ok(sa.request("GET", "/permissions"))  # the simulator still works


def test_clock_cannot_be_advanced_out_of_range(door: httpx.Client, sa: DfnsApi) -> None:
    admin(door, "POST", "clock", {"action": "freeze", "at": "2999-12-31T00:00:00Z"})
    assert error_of(door.post("/_sim/clock", json={"action": "advance", "seconds": 86400 * 2}),
                    400) == "advance would take the clock out of range (1970 to 3000)"
    admin(door, "POST", "clock", {"action": "freeze", "at": 10})
    assert error_of(door.post("/_sim/clock", json={"action": "advance", "seconds": -11}),
                    400) == "advance would take the clock out of range (1970 to 3000)"
    assert admin(door, "GET", "clock")["now"] == "1970-01-01T00:00:10.000Z"


# -- outbox -----------------------------------------------------------------------------------
def test_outbox_read_filter_clear(door: httpx.Client, sim: Simulator, sa: DfnsApi) -> None:
    for email in ("a@example.com", "b@example.com"):
        ok(sa.signed("POST", "/auth/users", {"email": email, "kind": "CustomerEmployee"}))
    items = admin(door, "GET", "outbox")["items"]
    assert [m["to"] for m in items] == ["a@example.com", "b@example.com"]
    assert all(m["kind"] == "registration-code" and m["code"] for m in items)
    assert admin(door, "GET", "outbox", to="B@example.com")["items"] == items[1:]
    assert admin(door, "GET", "outbox", kind="login-code")["items"] == []
    assert admin(door, "GET", "outbox", limit=1)["items"] == items[1:]
    assert sim.outbox("a@example.com") == items[:1]
    assert sim.outbox(user_id=items[1]["userId"]) == items[1:]
    assert admin(door, "DELETE", "outbox", to="a@example.com") == {"deleted": 1}
    assert sim.clear_outbox() == 1
    assert admin(door, "GET", "outbox")["items"] == []
    assert error_of(door.get("/_sim/outbox", params={"limit": "x"}),
                    400) == "limit must be an integer"


# -- journal ----------------------------------------------------------------------------------
def test_journal_read_filter_clear(door: httpx.Client, sim: Simulator, anon: DfnsApi) -> None:
    anon.request("GET", "/auth/users")
    anon.request("POST", "/auth/login/init", {"username": "x@example.com"})
    admin(door, "GET", "clock")  # admin calls are never journaled
    entries = admin(door, "GET", "journal")["items"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/auth/users", 401), ("POST", "/auth/login/init", 401)]
    assert entries[1]["requestBody"] == {"username": "x@example.com"}
    assert entries[1]["responseBody"]["message"] == "User not found"
    assert admin(door, "GET", "journal", limit=1)["items"] == entries[1:]
    assert admin(door, "GET", "journal", method="get")["items"] == entries[:1]
    assert admin(door, "GET", "journal", path="/auth/login*")["items"] == entries[1:]
    assert sim.journal(status=401) == entries
    assert admin(door, "DELETE", "journal") == {"cleared": True}
    assert sim.journal() == []


def test_journal_is_a_bounded_ring() -> None:
    sim = Simulator(journal_size=3)
    with sim.client() as client:
        for i in range(5):
            client.get(f"/auth/users/us-{i}")
    assert [e["path"] for e in sim.journal()] == [f"/auth/users/us-{i}" for i in (2, 3, 4)]
    assert [e["seq"] for e in sim.journal()] == [3, 4, 5]
    sim.journal.clear()
    assert len(sim.journal) == 0


# -- snapshot / restore ----------------------------------------------------------------------
@pytest.mark.skipif(not HAS_CODEC, reason="simulator.persistence.codec is not there yet")
def test_snapshot_restore_round_trip(door: httpx.Client, sim: Simulator, sa: DfnsApi) -> None:
    register_delegated(sa, "kept@example.com", KeyAuthenticator())
    document = admin(door, "GET", "snapshot")
    register_delegated(sa, "dropped@example.com", KeyAuthenticator())
    assert admin(door, "POST", "restore", document) == {"restored": True}
    names = [u["username"] for u in ok(sa.request("GET", "/auth/users"))["items"]]
    assert "kept@example.com" in names and "dropped@example.com" not in names
    # the twin, and reset after a restore returns to the restored state
    twin = sim.snapshot()
    sim.restore(twin)
    sim.reset()
    names = [u["username"] for u in ok(sa.request("GET", "/auth/users"))["items"]]
    assert "kept@example.com" in names


@pytest.mark.skipif(not HAS_CODEC, reason="simulator.persistence.codec is not there yet")
def test_restore_rejects_a_bad_document(door: httpx.Client, sa: DfnsApi) -> None:
    assert error_of(door.post("/_sim/restore", json=[1]), 400) == \
        "the body must be a state document from /_sim/snapshot"
    message = error_of(door.post("/_sim/restore", json={"format": "nope"}), 400)
    assert message.startswith("invalid state document")
    assert ok(sa.request("GET", "/auth/users"))["items"]  # state untouched


# -- openapi --------------------------------------------------------------------------------
def test_openapi_document(door: httpx.Client) -> None:
    response = door.get("/_sim/openapi.json")
    if not HAS_OPENAPI:
        assert error_of(response, 501) == "the OpenAPI document is not available in this build"
        return
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/auth/login/init" in document["paths"]
    assert not any(path.startswith("/_sim") for path in document["paths"])


def test_serve_shares_state_over_loopback(sim: Simulator) -> None:
    sim.clock.freeze(1234.0)
    with sim.serve() as server, server.client() as remote:
        assert remote.get("/_sim/clock").json()["epoch"] == 1234.0
        remote.post("/_sim/clock", json={"action": "advance", "seconds": 1})
    assert sim.core.now() == 1235.0


def test_journal_can_be_turned_off() -> None:
    sim = Simulator(journal_size=0)
    with sim.client() as client:
        client.get("/auth/users")
        assert client.get("/_sim/journal").json() == {"items": [], "size": 0}
        sim.faults.add("error", path="/auth/users", status=500, times=1)  # faults still apply
        assert client.get("/auth/users").status_code == 500


@pytest.mark.skipif(importlib.util.find_spec("simulator.persistence.sqlite_store") is None,
                    reason="the SQLite store is not there yet")
def test_reset_works_on_the_sqlite_store(tmp_path: object) -> None:
    from simulator.persistence.sqlite_store import SqliteStore

    sim = Simulator(store=SqliteStore(str(tmp_path) + "/state.sqlite"))  # type: ignore[operator]
    boot = sim.bootstrap()
    with sim.client() as client:
        from scenarios.client import service_account_api

        sa = service_account_api(client, boot)
        register_delegated(sa, "sqlite@example.com", KeyAuthenticator())
        assert sim.reset(boot["orgId"])["removed"] > 0
        assert "sqlite@example.com" not in [u["username"]
                                            for u in ok(sa.request("GET", "/auth/users"))["items"]]
        register_delegated(sa, "sqlite@example.com", KeyAuthenticator())  # the name is free again
        sim.reset()
        assert "sqlite@example.com" not in [u["username"]
                                            for u in ok(sa.request("GET", "/auth/users"))["items"]]


# -- unknown keys never widen an action (a typo must not reset or delete everything) ----------
@pytest.mark.parametrize(("verb", "route", "body", "params", "message"), [
    ("POST", "reset", {"orgID": "or-x"}, None,
     "unknown field 'orgID'; expected one of orgId"),
    ("DELETE", "outbox", None, {"To": "a@example.com"},
     "unknown query parameter 'To'; expected one of to, kind, orgId, userId"),
    ("DELETE", "outbox", None, {"limit": "1"},
     "unknown query parameter 'limit'; expected one of to, kind, orgId, userId"),
    ("GET", "journal", None, {"stauts": "200"},
     "unknown query parameter 'stauts'; expected one of limit, method, path, status"),
    ("POST", "seed", {"seed": 1, "sead": 2}, None, "unknown field 'sead'; expected one of seed"),
    ("POST", "clock", {"action": "advance", "second": 5}, None,
     "unknown field 'second'; expected one of action, at, seconds"),
])
def test_unknown_keys_are_refused(door: httpx.Client, sa: DfnsApi, verb: str, route: str,
                                  body: object, params: dict | None, message: str) -> None:
    ok(sa.signed("POST", "/auth/users", {"email": "kept@example.com",
                                         "kind": "CustomerEmployee"}))
    response = door.request(verb, f"/_sim/{route}", json=body, params=params)
    assert error_of(response, 400) == message
    assert admin(door, "GET", "outbox")["items"]  # nothing was reset or deleted
    assert any(u["username"] == "kept@example.com"
               for u in ok(sa.request("GET", "/auth/users"))["items"])


def test_a_fault_is_deleted_by_its_exact_id_only(door: httpx.Client) -> None:
    rule = admin(door, "POST", "faults", {"path": "/auth/login*", "status": 503})
    assert error_of(door.delete(f"/_sim/faults/anything/{rule['id']}"), 404) == "fault not found"
    assert admin(door, "DELETE", f"faults/{rule['id']}") == {"removed": rule["id"]}


@pytest.mark.parametrize("field", ["times", "status", "retryAfter", "probability", "latencyMs"])
@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b"-Infinity"])
def test_fault_numbers_must_be_finite(door: httpx.Client, field: str, value: bytes) -> None:
    raw = b'{"path": "/auth/*", "action": "error", "%s": %s}' % (field.encode(), value)
    assert error_of(door.post("/_sim/faults", content=raw), 400) == \
        f"{field} must be a finite number"
    assert admin(door, "GET", "faults")["items"] == []
