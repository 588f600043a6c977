"""SqliteStore's per-connection read cache: what a read scope may answer without SQLite, and
that no change made through another connection (another worker) is ever missed where it
matters: in a new scope, and in every transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from simulator.models import Code, User
from simulator.persistence import sqlite_reads
from simulator.persistence.sqlite_store import SqliteStore


def _user(i: int, name: str | None = None, active: bool = True) -> User:
    return User(id=f"us-{i}", org_id="or-1", username=name or f"u{i}@x.io", kind="EndUser",
                is_active=active)


def _by_name(store: SqliteStore, name: str) -> list[str]:
    return [u.id for u in store.find("users", "org_username", ("or-1", name))]


def _seen_active_then_deactivated(a: SqliteStore, b: SqliteStore) -> None:
    """``a`` has read us-1 active in a scope (so caches it); ``b`` then deactivates it."""
    b.put("users", "us-1", _user(1))
    with a.read_scope():
        assert a.get("users", "us-1").is_active
    b.put("users", "us-1", _user(1, active=False))


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[SqliteStore, SqliteStore]]:
    """Two handles on one file: each its own connection, as two workers have."""
    first, second = SqliteStore(tmp_path / "s.db"), SqliteStore(tmp_path / "s.db")
    yield first, second
    first.close()
    second.close()


def test_a_scope_reads_as_of_its_start_and_the_next_scope_sees_the_change(pair: Any) -> None:
    a, b = pair
    b.put("users", "us-1", _user(1))
    with a.read_scope():
        assert a.get("users", "us-1").is_active
        b.put("users", "us-1", _user(1, active=False))
        assert a.get("users", "us-1").is_active  # the scope's view, asked of no one
    assert a.get("users", "us-1").is_active is False  # outside a scope: the file
    with a.read_scope():
        assert a.get("users", "us-1").is_active is False


def test_a_transaction_inside_a_scope_decides_on_the_latest_state(pair: Any) -> None:
    a, b = pair
    b.put("codes", "c-1", Code(code="c-1", purpose="credential", org_id="or-1", user_id="us-1",
                                  expires_at=9e9))
    with a.read_scope():
        assert a.get("codes", "c-1").used is False
        with b.transaction() as tx:  # another worker redeems it
            tx.put("codes", "c-1", replace(tx.get("codes", "c-1"), used=True))
        with a.transaction() as tx:
            assert tx.get("codes", "c-1").used is True  # so this one cannot redeem it again


def test_own_writes_show_at_once_in_gets_and_finds(pair: Any) -> None:
    a, _ = pair
    with a.read_scope():
        assert _by_name(a, "new@x.io") == [] and a.get("users", "us-7") is None
        a.put("users", "us-7", _user(7, "new@x.io"))
        assert _by_name(a, "new@x.io") == ["us-7"]
        assert a.get("users", "us-7") == _user(7, "new@x.io")
        a.delete("users", "us-7")
        assert _by_name(a, "new@x.io") == [] and a.get("users", "us-7") is None


def test_finds_follow_another_connections_index_changes(pair: Any) -> None:
    a, b = pair
    b.put("users", "us-1", _user(1, "old@x.io"))
    with a.read_scope():
        assert _by_name(a, "old@x.io") == ["us-1"]
    b.put("users", "us-1", _user(1, "new@x.io"))
    b.put("users", "us-2", _user(2, "old@x.io"))
    with a.read_scope():
        assert _by_name(a, "old@x.io") == ["us-2"]
        assert _by_name(a, "new@x.io") == ["us-1"]


def test_absence_is_cached_until_another_connection_inserts(pair: Any) -> None:
    a, b = pair
    with a.read_scope():
        assert a.get("users", "us-9") is None
    b.put("users", "us-9", _user(9))
    with a.read_scope():
        assert a.get("users", "us-9") == _user(9)
    b.delete("users", "us-9")
    with a.read_scope():
        assert a.get("users", "us-9") is None


def test_a_rolled_back_write_is_not_remembered(pair: Any) -> None:
    a, _ = pair
    a.put("users", "us-1", _user(1))
    with a.read_scope():
        with pytest.raises(RuntimeError), a.transaction() as tx:
            tx.put("users", "us-1", _user(1, active=False))
            raise RuntimeError("abort")
        assert a.get("users", "us-1").is_active is True
        assert _by_name(a, "u1@x.io") == ["us-1"]


def test_clear_and_load_elsewhere_replace_everything_seen(pair: Any) -> None:
    a, b = pair
    b.put("users", "us-1", _user(1))
    with a.read_scope():
        assert a.get("users", "us-1") is not None and _by_name(a, "u1@x.io") == ["us-1"]
    b.clear()
    with a.read_scope():
        assert a.get("users", "us-1") is None and _by_name(a, "u1@x.io") == []
    b.load({"users": {"us-2": _user(2)}})
    with a.read_scope():
        assert a.get("users", "us-2") == _user(2) and a.get("users", "us-1") is None


def test_a_connection_behind_the_pruned_log_starts_over(pair: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_reads, "_KEEP_CHANGES", 4)
    monkeypatch.setattr(sqlite_reads, "_PRUNE_EVERY", 2)
    a, b = pair
    _seen_active_then_deactivated(a, b)  # this change is pruned below
    for i in range(20):
        b.put("users", f"us-{100 + i}", _user(100 + i))
    assert b._conn().execute("SELECT min(seq) FROM changes").fetchone()[0] > 3
    with a.read_scope():
        assert a.get("users", "us-1").is_active is False


def test_each_thread_has_its_own_view(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.put("users", "us-1", _user(1))
    seen: list[bool] = []
    with store.read_scope():
        assert store.get("users", "us-1").is_active

        def other_thread() -> None:  # another connection of the same store object
            store.put("users", "us-1", _user(1, active=False))
            seen.append(store.get("users", "us-1").is_active)
            store.close()

        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        assert store.get("users", "us-1").is_active  # this scope's view
    with store.read_scope():
        assert store.get("users", "us-1").is_active is False
    assert seen == [False]


def _commit_with_a_full_disk(path: str, out: Any) -> None:
    """In a child process: a COMMIT that fails at the WAL write, as on a full disk."""
    import resource
    import signal
    import sqlite3

    store = SqliteStore(path)
    store.put("users", "us-1", _user(1))
    store._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (Path(path).stat().st_size + 4096,
                                               resource.RLIM_INFINITY))
    failed = ""
    try:
        with store.read_scope(), store.transaction() as tx:
            tx.put("users", "us-1", replace(_user(1, active=False), username="x" * 200_000))
    except sqlite3.Error as exc:
        failed = type(exc).__name__
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
    with store.read_scope():
        in_scope = store.get("users", "us-1").is_active
    with store.transaction() as tx:
        in_transaction = tx.get("users", "us-1").is_active
    out.put((failed, in_scope, in_transaction))


def test_a_failed_commit_is_not_remembered(tmp_path: Path) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")  # the file-size limit stays in the child
    out = ctx.Queue()
    child = ctx.Process(target=_commit_with_a_full_disk, args=(str(tmp_path / "s.db"), out))
    child.start()
    failed, in_scope, in_transaction = out.get(timeout=60)
    child.join()
    assert failed  # the COMMIT did fail
    assert (in_scope, in_transaction) == (True, True)  # the write that never happened


def test_a_sync_that_fails_is_done_again_by_the_next_scope(pair: Any) -> None:
    import sqlite3

    a, b = pair
    _seen_active_then_deactivated(a, b)
    calls = {"n": 0}
    real = a._retrying

    def flaky(attempt: Any) -> Any:  # the read of the change log fails once
        calls["n"] += 1
        if calls["n"] == 2:
            raise sqlite3.OperationalError("database is locked")
        return real(attempt)

    a._retrying = flaky
    with pytest.raises(sqlite3.OperationalError), a.read_scope():
        pass
    a._retrying = real
    with a.read_scope():
        assert a.get("users", "us-1").is_active is False


def test_find_keys_never_confuse_a_string_with_another_value(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db", {"things": {"n": lambda v: v["n"]}})
    store.put("things", "t-1", {"n": 5})
    store.put("things", "t-2", {"n": "5"})
    store.put("things", "t-3", {"n": "null"})
    with store.read_scope():
        for _ in range(2):  # the second round answers from the cache
            assert store.find("things", "n", 5) == [{"n": 5}]
            assert store.find("things", "n", "5") == [{"n": "5"}]
            assert store.find("things", "n", "null") == [{"n": "null"}]
            assert store.find("things", "n", None) == []


def test_cached_look_ups_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_reads, "_MAX_ROWS", 50)
    store = SqliteStore(tmp_path / "s.db")
    with store.read_scope():
        for i in range(500):  # look-ups of names nobody has add no row, only a find result
            assert _by_name(store, f"nobody-{i}@x.io") == []
        reads = store._reads()
        assert reads.found <= 50
        assert sum(len(found) for found in reads.finds.values()) <= 50


def test_a_roll_back_keeps_what_it_did_not_write(pair: Any) -> None:
    a, _ = pair
    a.put("users", "us-1", _user(1))
    a.put("users", "us-2", _user(2))
    with a.read_scope():
        assert a.get("users", "us-2") == _user(2)
        with pytest.raises(RuntimeError), a.transaction() as tx:
            tx.put("users", "us-1", _user(1, active=False))
            raise RuntimeError("a 4xx inside a transaction")
        assert ("users", "us-2") in a._reads().rows  # a replayed challenge flushes nothing else
        assert ("users", "us-1") not in a._reads().rows
        assert a.get("users", "us-1") == _user(1)


class TwoWorkers(RuleBasedStateMachine):
    """Random writes, reads, scopes and transactions through two connections, checked against
    a model. Outside a scope a read answers the committed state; inside one it answers a value
    the row had at some moment since the scope started (or since the last transaction of
    that connection), and this connection's own writes at once."""

    def __init__(self) -> None:
        super().__init__()
        self.committed: dict[str, User | None] = {}
        # per connection with an open scope: every value each row may still be read as
        self.history: list[dict[str, list[User | None]] | None] = [None, None]

    @initialize()
    def open_file(self) -> None:
        import tempfile

        self.dir = tempfile.TemporaryDirectory()
        path = Path(self.dir.name) / "s.db"
        self.stores = [SqliteStore(path), SqliteStore(path)]
        self.scopes: list[Any] = [None, None]

    def teardown(self) -> None:
        for scope in getattr(self, "scopes", []):
            if scope is not None:
                scope.__exit__(None, None, None)
        for store in getattr(self, "stores", []):
            store.close()
        if hasattr(self, "dir"):
            self.dir.cleanup()

    def _now(self) -> dict[str, list[User | None]]:
        return {f"us-{i}": [self.committed.get(f"us-{i}")] for i in range(5)}

    def _write(self, who: int, key: str, value: User | None) -> None:
        if self.history[who] is not None:  # every write is a transaction: the view catches up
            self.history[who] = self._now()
        self.committed[key] = value
        for other, history in enumerate(self.history):
            if history is not None:
                # the writer sees its write; the other may still see any earlier value
                history[key] = [value] if other == who else history[key] + [value]

    @rule(who=st.integers(0, 1))
    def enter_or_leave_scope(self, who: int) -> None:
        if self.scopes[who] is None:
            scope = self.stores[who].read_scope()
            scope.__enter__()
            self.scopes[who], self.history[who] = scope, self._now()
        else:
            self.scopes[who].__exit__(None, None, None)
            self.scopes[who], self.history[who] = None, None

    @rule(who=st.integers(0, 1), i=st.integers(0, 4), name=st.sampled_from(["a", "b", "c"]),
          active=st.booleans())
    def put(self, who: int, i: int, name: str, active: bool) -> None:
        user = _user(i, f"{name}@x.io", active)
        self.stores[who].put("users", user.id, user)
        self._write(who, user.id, user)

    @rule(who=st.integers(0, 1), i=st.integers(0, 4))
    def delete(self, who: int, i: int) -> None:
        self.stores[who].delete("users", f"us-{i}")
        self._write(who, f"us-{i}", None)

    @rule(who=st.integers(0, 1), i=st.integers(0, 4), fail=st.booleans())
    def read_check_write(self, who: int, i: int, fail: bool) -> None:
        """A transaction always reads the committed state, whatever the scope saw."""
        key = f"us-{i}"
        with pytest.raises(RuntimeError) if fail else _no_error():
            with self.stores[who].transaction() as tx:
                for j in range(5):
                    assert tx.get("users", f"us-{j}") == self.committed.get(f"us-{j}")
                flipped = _user(i, "a@x.io", not (tx.get("users", key) or _user(i)).is_active)
                tx.put("users", key, flipped)
                if fail:
                    raise RuntimeError("roll back")
        if self.history[who] is not None:  # the transaction brought the view up to date
            self.history[who] = self._now()
        if not fail:
            self._write(who, key, flipped)

    @precondition(lambda self: hasattr(self, "stores"))
    @invariant()
    def reads_match_the_model(self) -> None:
        for who, store in enumerate(self.stores):
            history = self.history[who]
            for i in range(5):
                key, got = f"us-{i}", store.get("users", f"us-{i}")
                allowed = [self.committed.get(key)] if history is None else history[key]
                assert got in allowed, (who, key, got, allowed)
                if history is not None:
                    history[key] = [got]  # once read, a row keeps that value in the scope
            for name in ("a", "b", "c"):
                username = f"{name}@x.io"
                found = set(_by_name(store, username))

                def named(value: User | None, username: str = username) -> bool:
                    return value is not None and value.username == username

                if history is None:
                    want = {k for k, v in self.committed.items() if named(v)}
                    assert found == want, (who, name)
                    continue
                assert {k for k, vs in history.items() if all(named(v) for v in vs)} <= found
                assert found <= {k for k, vs in history.items() if any(named(v) for v in vs)}


class _no_error:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> bool:
        return False


TwoWorkers.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
test_two_workers_see_a_consistent_store = TwoWorkers.TestCase
