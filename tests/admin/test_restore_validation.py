"""/_sim/restore refuses documents the simulator could not run on, and a refused (or failed)
restore leaves the previous state exactly as it was."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from scenarios.client import DfnsApi, ok
from simulator import Simulator
from simulator.persistence import codec
from tests.admin.helpers import error_of


def _first(doc: dict[str, Any], table: str) -> dict[str, Any]:
    return next(iter(doc["tables"][table].values()))


def _set_field(table: str, name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        _first(doc, table)["fields"][name] = value
    return mutate


def _put(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        target = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return mutate


def _replace_row(table: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        rows = doc["tables"][table]
        rows[next(iter(rows))] = value
    return mutate


FOREIGN_CLASS = {"$entity": "FaultRule", "$module": "simulator.admin.faults",
                 "fields": {"id": "f", "action": "error"}}
CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("row-not-an-entity", _replace_row("users", "hello"),
     "a str where the table holds User"),
    ("date-as-text", _set_field("tokens", "expires_at", "tomorrow"),
     "field 'expires_at' of AccessToken is str, expected float"),
    ("org-id-as-number", _set_field("users", "org_id", 7),
     "field 'org_id' of User is int, expected str"),
    ("key-as-text", _set_field("credentials", "public_key", "-----BEGIN PUBLIC KEY-----"),
     "field 'public_key' of Credential is str"),
    ("foreign-class", _replace_row("orgs", FOREIGN_CLASS), "a FaultRule where the table holds Org"),
    ("no-core", _put(("core",), {}), "core.default_org_id must name an org of tables.orgs"),
    ("unknown-org", _put(("core", "default_org_id"), "or-nowhere"),
     "core.default_org_id must name an org of tables.orgs"),
    ("org-as-list", _put(("core", "default_org_id"), [1]),
     "core.default_org_id must name an org of tables.orgs"),
    ("secret-not-base64", _put(("core", "jwt_secret"), "!!!not-b64"),
     "core.jwt_secret must be non-empty base64"),
    ("bootstrap-number", _put(("core", "bootstrap"), 5),
     "core.bootstrap must name the default org and a service account user and token present "
     "in the tables"),
    ("bytes-not-base64", _set_field("users", "username", {"$bytes": "@@@"}),
     "$bytes must hold base64"),
    ("tables-of-lists", _put(("tables", "users"), []), "every table must be an object of rows"),
]


@pytest.mark.parametrize(("mutate", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_document_is_refused_and_nothing_changes(door: httpx.Client, sim: Simulator,
                                                       sa: DfnsApi, mutate: Any,
                                                       message: str) -> None:
    ok(sa.signed("POST", "/permissions", {"name": "before", "operations": ["Wallets:Read"]}))
    document = sim.snapshot()
    ok(sa.signed("POST", "/permissions", {"name": "after", "operations": ["Wallets:Read"]}))
    before = sim.snapshot()
    bad = copy.deepcopy(document)
    mutate(bad)
    response = door.post("/_sim/restore", json=bad)
    assert error_of(response, 400).startswith("invalid state document: ")
    assert message in response.json()["message"]
    assert sim.snapshot() == before  # not even half replaced
    names = {p["name"] for p in ok(sa.request("GET", "/permissions"))["items"]}
    assert {"before", "after"} <= names  # and the bootstrap identity still signs


def test_a_document_cannot_make_the_server_import_a_module(door: httpx.Client, sim: Simulator,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    bad = sim.snapshot()
    rows = bad["tables"]["orgs"]
    rows[next(iter(rows))] = {"$entity": "Nothing", "$module": "this", "fields": {}}
    response = door.post("/_sim/restore", json=bad)
    assert error_of(response, 400) == "invalid state document: unknown entity type 'Nothing'"
    assert "Beautiful is better than ugly" not in capsys.readouterr().out  # `import this`


def test_a_failure_while_replacing_puts_the_previous_state_back(
        door: httpx.Client, sim: Simulator, sa: DfnsApi, monkeypatch: pytest.MonkeyPatch) -> None:
    other = Simulator()
    other.bootstrap()
    before = sim.snapshot()
    real = codec.apply_core_meta
    calls = []

    def failing_once(target: Any, meta: Any) -> None:
        calls.append(meta)
        if len(calls) == 1:
            raise ValueError("disk full")  # after the tables were already replaced
        real(target, meta)

    monkeypatch.setattr(codec, "apply_core_meta", failing_once)
    response = door.post("/_sim/restore", json=other.snapshot())
    assert error_of(response, 400) == "invalid state document: disk full"
    assert sim.snapshot() == before
    ok(sa.request("GET", "/permissions"))


def test_a_good_document_still_restores(door: httpx.Client, sim: Simulator) -> None:
    other = Simulator()
    boot = other.bootstrap()
    assert door.post("/_sim/restore", json=other.snapshot()).json() == {"restored": True}
    assert door.get("/_sim/health").json()["orgId"] == boot["orgId"]
