"""Store behaviour under concurrency and failure: opening a new file from several processes,
reads during a whole-state load, rows deleted by another process, a restore that fails half-way."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

import pytest

from simulator import Simulator
from simulator.persistence.sqlite_store import SqliteStore
from simulator.store import InMemoryStore
from tests.persistence.concurrency import misses_while


def _open_and_write(path: str, index: int, out: Any) -> None:
    try:
        store = SqliteStore(path)
        store.put("t", f"k{index}", index)
        out.put((index, "ok"))
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        out.put((index, f"{type(exc).__name__}: {exc}"))


@pytest.mark.parametrize("trial", range(3))
def test_processes_opening_a_new_file_together(tmp_path: Path, trial: int) -> None:
    path = str(tmp_path / f"new-{trial}.sqlite")
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_open_and_write, args=(path, i, out)) for i in range(4)]
    for proc in procs:
        proc.start()
    results = sorted(out.get(timeout=60) for _ in procs)
    for proc in procs:
        proc.join(30)
    assert results == [(i, "ok") for i in range(4)]
    assert sorted(SqliteStore(path).scan("t")) == [0, 1, 2, 3]


def test_a_row_another_store_deleted_is_not_served_or_kept(tmp_path: Path) -> None:
    mine, theirs = SqliteStore(tmp_path / "s.sqlite"), SqliteStore(tmp_path / "s.sqlite")
    mine.put("t", "k", {"v": 1})
    assert mine.get("t", "k") == {"v": 1}
    theirs.delete("t", "k")
    assert mine.get("t", "k") is None
    assert ("t", "k") not in mine._cache


def test_in_memory_load_is_never_seen_half_done() -> None:
    store = InMemoryStore({"t": {"colour": lambda row: row["colour"]}})
    rows = {f"k{i}": {"colour": "red", "i": i} for i in range(2000)}
    store.load({"t": rows})

    def whole() -> bool:
        return store.get("t", "k1999") is not None \
            and len(store.find("t", "colour", "red")) == 2000

    assert misses_while(whole, lambda: store.load({"t": rows}), times=30) == 0


def test_a_restore_that_fails_half_way_leaves_the_file_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.sqlite"
    sim = Simulator(store=SqliteStore(path))
    boot = sim.bootstrap()
    other = Simulator()
    other.bootstrap()

    def crash(meta: Any) -> None:  # the core meta write fails after the tables were loaded
        raise OSError("disk full")

    monkeypatch.setattr(sim.core.store, "save_core_meta", crash)
    with pytest.raises(OSError, match="disk full"):  # not the document's fault: not a 400
        sim.restore(other.snapshot())
    reopened = SqliteStore(path)
    assert [org.id for org in reopened.scan("orgs")] == [boot["orgId"]]
    assert (reopened.load_core_meta() or {})["default_org_id"] == boot["orgId"]


def test_a_changed_index_function_rebuilds_the_sqlite_index(tmp_path: Path) -> None:
    path = tmp_path / "idx.sqlite"
    old = {"t": {"cred": lambda row: row["cred"]}}
    SqliteStore(path, old).put("t", "k", {"cred": "AbC="})
    new = {"t": {"cred": lambda row: row["cred"].rstrip("=")}}  # same name, new function
    assert SqliteStore(path, new).find("t", "cred", "AbC") == [{"cred": "AbC="}]
