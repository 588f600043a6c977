"""Audit retention: the newest ``audit_max_entries`` entries per org are kept, the chain still
verifies from the oldest kept one, and removing an entry at the start is still detected."""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Hashable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scenarios.client import DfnsApi, ok, service_account_api
from simulator import Simulator
from simulator.cli import build_parser, retention_settings
from simulator.persistence.sqlite_store import SqliteStore
from simulator.services import audit
from simulator.services.core import INDEXES

START, END = "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"


def _api(sim: Simulator) -> DfnsApi:
    return service_account_api(sim.client(), sim.bootstrap())


def _act(sa: DfnsApi, first: int, count: int) -> None:
    for i in range(first, first + count):
        ok(sa.signed("POST", "/permissions", {"name": f"p{i}", "operations": ["Wallets:Read"]}))


def _sequences(sim: Simulator) -> list[int]:
    return [e.sequence for e in audit.entries(sim.core, sim.org_id)]


def _intact(sim: Simulator) -> list[str]:
    head = audit.head(sim.core, sim.org_id)
    assert head is not None
    return audit.verify_chain(audit.entries(sim.core, sim.org_id), expected_head=head.entry_hash,
                              expected_start=head.anchor_hash)


def test_the_newest_entries_are_kept_and_the_chain_still_verifies() -> None:
    sim = Simulator(audit_max_entries=3)
    sa = _api(sim)
    _act(sa, 0, 2)
    first_two = audit.entries(sim.core, sim.org_id)
    _act(sa, 2, 3)
    assert _sequences(sim) == [3, 4, 5]
    head = audit.head(sim.core, sim.org_id)
    assert head is not None
    assert (head.first_sequence, head.sequence, head.kept) == (3, 5, 3)
    assert head.anchor_hash == first_two[1].entry_hash  # the last dropped entry's hash
    assert _intact(sim) == []
    # a dropped entry is gone from the API exactly like one that never existed
    gone = sa.request("GET", f"/auth/action/logs/{first_two[0].id}")
    assert gone.status_code == 404
    assert gone.json()["error"]["message"] == "audit log entry not found"


def test_removing_the_oldest_kept_entry_is_detected_with_the_anchor() -> None:
    sim = Simulator(audit_max_entries=3)
    _act(_api(sim), 0, 5)
    head = audit.head(sim.core, sim.org_id)
    assert head is not None
    chain = audit.entries(sim.core, sim.org_id)[1:]
    assert audit.verify_chain(chain, expected_head=head.entry_hash) == []  # undetectable alone
    assert audit.verify_chain(chain, expected_head=head.entry_hash,
                              expected_start=head.anchor_hash) == [
        f"entry {chain[0].id}: chain does not start at the recorded anchor "
        "(entries removed at the start)"]


def test_an_export_reaching_before_the_oldest_kept_entry_says_what_was_dropped() -> None:
    sim = Simulator(audit_max_entries=2)
    sa = _api(sim)
    _act(sa, 0, 4)
    text = sa.request("GET", f"/auth/action/logs?startTime={START}&endTime={END}").text
    assert text.splitlines()[-1] == ("# PRUNED: entries 1-2 were dropped by audit retention "
                                     "(the newest 2 are kept)")
    rows = [r for r in csv.DictReader(io.StringIO(text)) if not r["id"].startswith("#")]
    assert [int(r["sequence"]) for r in rows] == [3, 4]
    oldest_kept = audit.entries(sim.core, sim.org_id)[0].data["dateResolved"]
    later = sa.request("GET", f"/auth/action/logs?startTime={oldest_kept}&endTime={END}").text
    assert "# PRUNED" not in later and len(later.splitlines()) == 3  # header + 2 rows


def test_no_limit_keeps_everything() -> None:
    sim = Simulator(audit_max_entries=None)
    _act(_api(sim), 0, 6)
    assert _sequences(sim) == [1, 2, 3, 4, 5, 6]
    assert _intact(sim) == []


def test_a_lowered_limit_drops_the_surplus_on_the_next_entry() -> None:
    sim = Simulator(audit_max_entries=None)
    sa = _api(sim)
    _act(sa, 0, 6)
    sim.core.config = replace(sim.core.config, audit_max_entries=2)
    _act(sa, 6, 1)
    assert _sequences(sim) == [6, 7]
    assert _intact(sim) == []


def test_entries_written_without_the_position_index_are_found_without_scanning(
        redis_url: str) -> None:
    # A Redis database written by a version without the "position" index: opening it with the
    # new declarations rewrites the rows once (RedisStore's index signature), so retention then
    # finds every entry by position and never scans the org's whole chain.
    from simulator.persistence.redis_store import RedisStore

    url = redis_url.rsplit("/", 1)[0] + "/6"
    older = {**INDEXES, "audit": {"org": INDEXES["audit"]["org"]}}
    before = Simulator(audit_max_entries=None, store=RedisStore(url, older))
    before.core.store.clear()
    before = Simulator(audit_max_entries=None, store=RedisStore(url, older))
    boot = before.bootstrap()
    _act(service_account_api(before.client(), boot), 0, 5)

    store = RedisStore(url)
    scans: list[str] = []
    find = store.find

    def counting_find(table: str, index: str, value: Hashable) -> list[Any]:
        if (table, index) == ("audit", "org"):
            scans.append(str(value))
        return find(table, index, value)

    store.find = counting_find  # type: ignore[method-assign]
    sim = Simulator(audit_max_entries=3, store=store)
    sa = service_account_api(sim.client(), boot)
    _act(sa, 5, 3)
    assert scans == []
    assert _sequences(sim) == [6, 7, 8] and _intact(sim) == []


def test_retention_carries_on_after_a_restart_from_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    first = Simulator(audit_max_entries=3, store=SqliteStore(state))
    _act(_api(first), 0, 4)
    assert _sequences(first) == [2, 3, 4]
    second = Simulator(audit_max_entries=3, store=SqliteStore(state))
    _act(_api(second), 4, 2)
    assert _sequences(second) == [4, 5, 6]
    assert _intact(second) == []


def _parse(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def test_cli_options() -> None:
    assert retention_settings(_parse(["serve"])) == {}
    assert retention_settings(_parse(["serve", "--audit-max-entries", "500"])) == {
        "audit_max_entries": 500}
    assert retention_settings(_parse(["serve", "--keep-audit"])) == {"audit_max_entries": None}
    assert retention_settings(_parse(["serve", "--keep-expired", "--keep-audit"])) == {
        "expired_retention": None, "audit_max_entries": None}


@pytest.mark.parametrize("argv", [["--audit-max-entries", "0"], ["--audit-max-entries", "x"],
                                  ["--audit-max-entries", "5", "--keep-audit"]])
def test_cli_rejects_bad_audit_options(argv: list[str],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _parse(["serve", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert any(message in err for message in ("must be a whole number >= 1", "must be a number",
                                              "not allowed with argument"))


def test_retention_on_redis_shared_by_two_simulators(redis_url: str) -> None:
    # Two Simulators on one Redis database, as two `serve --workers` processes are: the chain
    # and its retention are one, whichever of them appends.
    from simulator.multiworker import open_store

    url = redis_url.rsplit("/", 1)[0] + "/5"
    first = Simulator(audit_max_entries=3, store=open_store(url))
    first.core.store.clear()
    first = Simulator(audit_max_entries=3, store=open_store(url))
    boot = first.bootstrap()
    second = Simulator(audit_max_entries=3, store=open_store(url))
    sa_first = service_account_api(first.client(), boot)
    sa_second = service_account_api(second.client(), boot)
    _act(sa_first, 0, 3)
    _act(sa_second, 3, 2)
    _act(sa_first, 5, 1)
    assert _sequences(first) == [4, 5, 6] == _sequences(second)
    assert _intact(second) == []
