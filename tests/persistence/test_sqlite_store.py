"""SqliteStore: the Store protocol, durability, and sharing one file across processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scenarios.client import (
    DfnsApi,
    delegated_login,
    login,
    ok,
    register_delegated,
    service_account_api,
)
from simulator import Simulator
from simulator.models import Code, User
from simulator.persistence.sqlite_store import SqliteStore
from simulator.services.core import INDEXES
from simulator.store import InMemoryStore
from virtual_authenticators import KeyAuthenticator


def _user(i: int, org: str = "or-1") -> User:
    return User(id=f"us-{i}", org_id=org, username=f"U{i}@x.io", kind="EndUser")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return InMemoryStore(INDEXES) if request.param == "memory" else SqliteStore(tmp_path / "s.db")


def test_protocol_matches_the_in_memory_store(store: Any) -> None:
    for i in range(5):
        store.put("users", f"us-{i}", _user(i, org="or-1" if i % 2 else "or-2"))
    assert store.get("users", "us-3") == _user(3, "or-1")
    assert store.get("users", "nope") is None and store.get("nope", "x") is None
    assert [u.id for u in store.find("users", "org_username", ("or-1", "u3@x.io"))] == ["us-3"]
    # update moves the index entry, keeps scan order
    store.put("users", "us-3", replace(_user(3, "or-1"), username="Renamed"))
    assert store.find("users", "org_username", ("or-1", "u3@x.io")) == []
    assert [u.id for u in store.find("users", "org_username", ("or-1", "renamed"))] == ["us-3"]
    assert [u.id for u in store.scan("users")] == [f"us-{i}" for i in range(5)]
    store.delete("users", "us-1")
    store.delete("users", "us-1")  # deleting twice is fine
    assert [u.id for u in store.scan("users")] == ["us-0", "us-2", "us-3", "us-4"]
    store.put("nonces", "n-1", 1234.5)  # non-entity values are stored too
    assert store.get("nonces", "n-1") == 1234.5
    dumped = store.dump()
    store.clear()
    assert list(store.scan("users")) == [] and store.get("nonces", "n-1") is None
    store.load(dumped)
    assert store.dump() == dumped


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.put("users", "us-1", _user(1))
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.put("users", "us-1", replace(_user(1), is_active=False))
            with store.transaction():  # nested joins the outer one
                tx.put("users", "us-2", _user(2))
            raise RuntimeError("boom")
    assert store.get("users", "us-1").is_active is True
    assert store.get("users", "us-2") is None


def test_writes_are_durable_and_visible_to_a_second_handle(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    first = SqliteStore(path)
    second = SqliteStore(path)
    first.put("users", "us-1", _user(1))
    assert second.get("users", "us-1") == _user(1)
    second.put("users", "us-1", replace(_user(1), is_active=False))
    assert first.get("users", "us-1").is_active is False  # the decode cache is version-checked
    assert first.find("users", "org_username", ("or-1", "u1@x.io"))[0].is_active is False
    journal = first._conn().execute("PRAGMA journal_mode").fetchone()[0]
    sync = first._conn().execute("PRAGMA synchronous").fetchone()[0]
    assert (journal, sync) == ("wal", 2)  # 2 = FULL


def _redeem_in_process(path: str, code: str, start: Any, results: Any) -> None:
    store = SqliteStore(path)
    start.wait()
    with store.transaction() as tx:
        record = tx.get("codes", code)
        won = not record.used
        if won:
            tx.put("codes", code, replace(record, used=True))
    results.put(won)


def test_single_use_is_atomic_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    store = SqliteStore(path)
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    for round_no in range(3):
        code = f"C-{round_no}"
        store.put("codes", code, Code(code=code, purpose="credential", org_id="or-1",
                                       user_id="us-1", expires_at=1e12))
        start.clear()
        workers = [context.Process(target=_redeem_in_process, args=(path, code, start, results))
                   for _ in range(4)]
        for w in workers:
            w.start()
        start.set()
        outcomes = [results.get(timeout=60) for _ in workers]
        for w in workers:
            w.join(timeout=30)
        assert sorted(outcomes) == [False, False, False, True]


def test_threads_share_one_store(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.put("codes", "C", Code(code="C", purpose="x", org_id="o", user_id="u", expires_at=1e12))
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def redeem() -> None:
        barrier.wait()
        with store.transaction() as tx:
            record = tx.get("codes", "C")
            wins.append(not record.used)
            tx.put("codes", "C", replace(record, used=True))

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_write_lock_waits_are_counted_per_process(tmp_path: Path) -> None:
    """lock_stats: each busy answer and the time slept before retrying (serve --workers'
    price of one writer at a time, read by dfns-sim bench through GET /_sim/health)."""
    store = SqliteStore(tmp_path / "s.db")
    assert store.lock_stats() == {"busyRetries": 0, "waitSeconds": 0.0}
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
    code = Code(code="C", purpose="x", org_id="o", user_id="u", expires_at=1e12)
    writer = threading.Thread(target=store.put, args=("codes", "C", code))
    writer.start()
    time.sleep(0.1)
    assert writer.is_alive()  # still waiting
    holder.execute("COMMIT")
    writer.join(10)
    holder.close()
    stats = store.lock_stats()
    assert stats["busyRetries"] >= 3  # 20 µs doubling to 2 ms over 100 ms
    assert 0.05 < stats["waitSeconds"] < 10
    assert store.get("codes", "C") == code
    # A forked child (uvicorn's workers, bench generators) starts from its own zero.
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=lambda: out.put(store.lock_stats()))
    child.start()
    assert out.get(timeout=30) == {"busyRetries": 0, "waitSeconds": 0.0}
    child.join(30)


def test_health_reports_the_shared_stores_lock_waits(tmp_path: Path) -> None:
    on_sqlite = Simulator(store=SqliteStore(tmp_path / "s.db"))
    on_sqlite.bootstrap()
    health = on_sqlite.client().get("/_sim/health").json()
    assert health["storeLock"] == {"busyRetries": 0, "waitSeconds": 0.0}
    in_memory = Simulator()
    in_memory.bootstrap()
    assert "storeLock" not in in_memory.client().get("/_sim/health").json()


def test_simulator_on_sqlite_reopens_with_everything(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    sim = Simulator(store=SqliteStore(path))
    boot = sim.bootstrap()
    device = KeyAuthenticator(algorithm="Ed25519")
    with sim.client() as http:
        sa = service_account_api(http, boot)
        register_delegated(sa, "persist@example.com", device)
        token = delegated_login(sa, "persist@example.com")

    again = Simulator(store=SqliteStore(path))  # a restart: new process state, same file
    assert again.org_id == sim.org_id
    assert again.bootstrap() == boot  # restored, not re-created
    assert len([u for u in again.core.store.scan("users") if u.is_service_account]) == 1
    with again.client() as http:
        user = DfnsApi(http).as_(token, device)
        assert ok(user.request("GET", "/auth/credentials"))["items"][0]["kind"] == "Key"
        assert login(DfnsApi(http), org_id=boot["orgId"], username="persist@example.com",
                     device=device)
        sa = service_account_api(http, again.bootstrap())
        assert ok(sa.request("GET", "/auth/users"))["items"]


def test_cleared_file_gets_a_fresh_org_and_bootstrap(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    sim = Simulator(store=SqliteStore(path))
    old = sim.bootstrap()
    sim.core.store.clear()
    again = Simulator(store=SqliteStore(path))
    assert again.org_id and again.org_id != old["orgId"]
    assert again.bootstrap()["serviceAccount"]["userId"] != old["serviceAccount"]["userId"]


def test_sqlite_simulator_through_both_doors(door: Any, tmp_path: Path,
                                            request: pytest.FixtureRequest) -> None:
    # the door fixture drives `sim`; mount a sqlite simulator the same way
    sim = Simulator(store=SqliteStore(tmp_path / "d.db"))
    boot = sim.bootstrap()
    if "inprocess" in request.node.callspec.id:
        http = sim.client()
    else:
        holder = request.getfixturevalue("http_server")
        holder["app"] = sim.app
        http = holder["server"].client(timeout=30)
    with http:
        sa = service_account_api(http, boot)
        device = KeyAuthenticator()
        register_delegated(sa, "doors@example.com", device)
        token = delegated_login(sa, "doors@example.com")
        user = sa.as_(token, device)
        ok(user.signed("POST", "/auth/credentials/code", {"expiration": sim.clock.now() + 30}))
