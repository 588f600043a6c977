"""Faults: each kind, probability 1 and 0, next-N, matching, list/clear, both doors."""

from __future__ import annotations

import time

import httpx
import pytest

from scenarios.client import DfnsApi
from simulator import Simulator
from tests.admin.helpers import admin, error_of

LOGIN_INIT = "/auth/login/init"


def login_init(anon: DfnsApi) -> httpx.Response:
    return anon.request("POST", LOGIN_INIT, {"username": "nobody@example.com"})


def test_error_status_in_the_dfns_envelope(door: httpx.Client, anon: DfnsApi) -> None:
    rule = admin(door, "POST", "faults", {"path": "/auth/login/*", "status": 503,
                                          "message": "maintenance"})
    assert rule["action"] == "error" and rule["id"]
    response = login_init(anon)
    assert error_of(response, 503) == "maintenance"
    assert response.json()["error"]["details"] == {"simulatedFault": True}
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-dfns-sim-fault"] == rule["id"]
    assert error_of(login_init(anon), 503) == "maintenance"  # unlimited by default


def test_rate_limit_with_retry_after(door: httpx.Client, anon: DfnsApi) -> None:
    admin(door, "POST", "faults", {"action": "rate_limit", "method": "POST", "path": LOGIN_INIT,
                                   "retryAfter": 7})
    response = login_init(anon)
    assert error_of(response, 429) == "Too Many Requests"
    assert response.headers["retry-after"] == "7"


def test_latency_then_normal_answer(door: httpx.Client, anon: DfnsApi) -> None:
    admin(door, "POST", "faults", {"action": "latency", "path": LOGIN_INIT, "latencyMs": 150})
    started = time.perf_counter()
    response = login_init(anon)
    assert time.perf_counter() - started >= 0.15
    assert error_of(response, 401) == "User not found"  # the real answer, just late


def test_latency_combined_with_an_error(sim: Simulator, door: httpx.Client, anon: DfnsApi) -> None:
    sim.faults.add("error", path=LOGIN_INIT, status=500, latency_ms=100)
    started = time.perf_counter()
    assert error_of(login_init(anon), 500) == "Internal Server Error"
    assert time.perf_counter() - started >= 0.1


def test_dropped_connection(door: httpx.Client, anon: DfnsApi, sim: Simulator) -> None:
    admin(door, "POST", "faults", {"action": "drop", "path": LOGIN_INIT, "times": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        login_init(anon)
    assert error_of(login_init(anon), 401) == "User not found"  # the connection pool recovers
    entry = sim.journal()[0]
    assert entry["status"] is None and entry["fault"]["action"] == "drop"


def test_next_n_matches(door: httpx.Client, anon: DfnsApi) -> None:
    rule = admin(door, "POST", "faults", {"path": LOGIN_INIT, "status": 502, "times": 2})
    assert [login_init(anon).status_code for _ in range(3)] == [502, 502, 401]
    (listed,) = admin(door, "GET", "faults")["items"]
    assert (listed["id"], listed["fired"], listed["remaining"], listed["active"]) == (
        rule["id"], 2, 0, False)


def test_probability_one_and_zero(sim: Simulator, door: httpx.Client, anon: DfnsApi) -> None:
    sim.faults.add("error", path=LOGIN_INIT, status=500, probability=0.0)
    assert {login_init(anon).status_code for _ in range(20)} == {401}
    sim.faults.clear()
    sim.faults.add("error", path=LOGIN_INIT, status=500, probability=1.0)
    assert {login_init(anon).status_code for _ in range(20)} == {500}


def test_probability_half_is_seeded() -> None:
    def run() -> list[int]:
        sim = Simulator(seed=5)
        sim.faults.add("error", path="*", status=500, probability=0.5)
        with sim.client() as client:
            return [client.get("/auth/users").status_code for _ in range(40)]

    first = run()
    assert first == run() and {500, 401} == set(first)


def test_matching_by_method_glob_and_regex(sim: Simulator, door: httpx.Client,
                                           anon: DfnsApi) -> None:
    sim.faults.add("error", method="GET", path="/auth/*", status=418)
    sim.faults.add("error", path_regex=r"^/auth/login/(init|code)$", status=409)
    assert login_init(anon).status_code == 409  # POST: not the GET rule
    assert anon.request("GET", "/auth/users").status_code == 418
    assert anon.request("POST", "/auth/login", {}).status_code != 409  # regex is anchored


def test_list_remove_clear(door: httpx.Client, sim: Simulator, anon: DfnsApi) -> None:
    one = admin(door, "POST", "faults", {"path": "/a", "status": 500})
    two = sim.faults.add("latency", path="/b", latency_ms=1)
    assert [r["id"] for r in admin(door, "GET", "faults")["items"]] == [one["id"], two["id"]]
    assert admin(door, "DELETE", f"faults/{one['id']}") == {"removed": one["id"]}
    assert error_of(door.delete(f"/_sim/faults/{one['id']}"), 404) == "fault not found"
    assert admin(door, "DELETE", "faults") == {"cleared": True}
    assert sim.faults.list() == []


def test_faults_never_touch_the_admin_api(door: httpx.Client, sim: Simulator) -> None:
    sim.faults.add("error", path="*", status=500)
    sim.faults.add("drop", path_regex=".*")
    assert admin(door, "GET", "health")["status"] == "ok"
    assert len(admin(door, "GET", "faults")["items"]) == 2


@pytest.mark.parametrize(("body", "message"), [
    ({"action": "explode"}, "action must be one of latency, error, rate_limit, drop"),
    ({"path": "/x"}, "action must be one of latency, error, rate_limit, drop"),
    ({"action": "error", "method": "FETCH"},
     "method must be one of *, GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"),
    ({"action": "error", "path": "/_sim/*"}, "faults never apply to the admin API (/_sim/)"),
    ({"action": "error", "pathRegex": "("},
     "pathRegex is not a valid regular expression: "
     "missing ), unterminated subpattern at position 0"),
    ({"action": "error", "probability": 2}, "probability must be between 0 and 1"),
    ({"action": "error", "times": 0}, "times must be between 1 and 1e+06"),
    ({"action": "error", "times": 1.5}, "times must be an integer"),
    ({"action": "error", "status": 200}, "status must be between 400 and 599"),
    ({"action": "latency", "latencyMs": -1}, "latencyMs must be between 0 and 60000"),
    ({"action": "error", "colour": "red"},
     "unknown field 'colour'; expected action, method, path, pathRegex, probability, times, "
     "latencyMs, status, message, retryAfter"),
    ([1], "the body must be a JSON object describing one fault"),
])
def test_fault_rejections(door: httpx.Client, body: object, message: str) -> None:
    assert error_of(door.post("/_sim/faults", json=body), 400) == message


def test_customer_retry_logic_against_faults(door: httpx.Client, sim: Simulator,
                                             anon: DfnsApi) -> None:
    """What the faults are for: a client retrying 429/5xx/transport errors gets through."""
    sim.faults.add("rate_limit", path=LOGIN_INIT, times=1, retry_after=0)
    sim.faults.add("drop", path=LOGIN_INIT, times=1)
    sim.faults.add("error", path=LOGIN_INIT, status=503, times=1)
    seen: list[object] = []
    for _attempt in range(5):
        try:
            response = login_init(anon)
        except httpx.TransportError as exc:
            seen.append(type(exc).__name__)
            continue
        seen.append(response.status_code)
        if response.status_code not in (429, 502, 503):
            break
    assert seen == [429, "RemoteProtocolError", 503, 401]
