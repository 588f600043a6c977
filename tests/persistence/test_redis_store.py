"""RedisStore against a redis-server the tests start (tests/conftest.py): the same answers as the
in-memory store after any sequence of operations, commits only while holding the lock, and
whole-state loads that other processes never see half done."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from simulator.store import InMemoryStore
from tests.persistence.concurrency import misses_while

INDEXES: dict[str, dict[str, Any]] = {"t": {"colour": lambda row: row["colour"]}}


@pytest.fixture
def url(redis_url: str) -> Iterator[str]:
    import redis

    database = redis_url.rsplit("/", 1)[0] + "/9"
    redis.Redis.from_url(database).flushdb()
    yield database


def _store(url: str, **options: Any) -> Any:
    from simulator.persistence.redis_store import RedisStore

    return RedisStore(url, INDEXES, **options)


def _view(store: Any) -> tuple[Any, ...]:
    # find's order is not compared: the in-memory store lists a row where it joined the index
    tables = {name: rows for name, rows in store.dump().items() if rows}
    return (tables, [r["n"] for r in store.scan("t")],
            {c: sorted(r["n"] for r in store.find("t", "colour", c)) for c in ("red", "blue")})


def test_same_answers_as_the_in_memory_store(url: str) -> None:
    rng = random.Random(5)
    redis_store, memory = _store(url), InMemoryStore(INDEXES)
    for step in range(300):
        op = rng.choice(["put", "put", "delete", "tx", "tx-fail", "clear", "load"])
        if op == "clear" and rng.random() > 0.2:  # keep clears rare
            op = "put"
        key, row = f"k{rng.randrange(8)}", {"colour": rng.choice(["red", "blue"]), "n": step}
        for store in (redis_store, memory):
            if op == "put":
                store.put("t", key, row)
            elif op == "delete":
                store.delete("t", key)
            elif op == "clear":
                store.clear()
            elif op == "load":
                store.load({"t": {"a": row, key: {**row, "colour": "blue"}}})
            elif op == "tx-fail" and store is memory:
                pass  # a failed transaction writes nothing (the in-memory store has no rollback)
            elif op in ("tx", "tx-fail"):
                try:
                    with store.transaction() as tx:
                        tx.put("t", key, row)
                        tx.delete("t", "k0")
                        if op == "tx-fail":
                            raise KeyError("rolled back")
                except KeyError:
                    pass
        assert _view(redis_store) == _view(memory), (step, op)


def test_a_transaction_that_outlived_its_lock_commits_nothing(url: str) -> None:
    from simulator.persistence.redis_store import StoreLockLost

    first, second = _store(url, lock_timeout=1.0), _store(url, lock_timeout=1.0)
    first.put("t", "code", {"colour": "red", "n": 0, "used": None})
    outcome: dict[str, Any] = {}

    def redeem(store: Any, name: str, hold: float) -> None:
        try:
            with store.transaction() as tx:
                row = tx.get("t", "code")
                time.sleep(hold)  # e.g. a pause longer than the lock's timeout
                if row["used"] is None:
                    tx.put("t", "code", {**row, "used": name})
            outcome[name] = "committed"
        except StoreLockLost as exc:
            outcome[name] = str(exc)

    slow = threading.Thread(target=redeem, args=(first, "slow", 1.5))
    slow.start()
    time.sleep(1.2)  # the slow one's lock has expired: the fast one takes it
    redeem(second, "fast", 0.0)
    slow.join()
    assert outcome == {"fast": "committed", "slow": "the dfns-sim store lock expired before "
                                                     "the transaction committed; nothing was "
                                                     "written"}
    assert first.get("t", "code")["used"] == "fast"


def test_a_failed_load_leaves_everything_and_readers_never_see_it_empty(url: str) -> None:
    store, reader = _store(url), _store(url)
    rows = {f"k{i}": {"colour": "red", "n": i} for i in range(300)}
    store.load({"t": rows})
    with pytest.raises(TypeError):
        store.load({"t": {"k0": {"colour": "red", "n": object()}}})  # cannot be encoded
    assert len(store.dump()["t"]) == 300
    assert misses_while(lambda: reader.get("t", "k299") is not None,
                        lambda: store.load({"t": rows}), times=5) == 0


def test_transactions_buffer_meta_and_dump_sees_their_writes(url: str) -> None:
    store = _store(url)
    store.write_meta("m", {"v": 1})
    with pytest.raises(KeyError):
        with store.transaction() as tx:
            tx.write_meta("m", {"v": 2})
            assert tx.read_meta("m") == {"v": 2}  # read your own write
            raise KeyError("rolled back")
    assert store.read_meta("m") == {"v": 1}
    store.put("t", "first", {"colour": "red", "n": 0})
    with store.transaction() as tx:
        for key in ("zeta", "alpha", "mid"):
            tx.put("t", key, {"colour": "red", "n": key})
        assert list(tx.dump()["t"]) == ["first", "zeta", "alpha", "mid"]
        assert [r["n"] for r in tx.scan("t")] == [0, "zeta", "alpha", "mid"]
    assert [r["n"] for r in store.find("t", "colour", "red")] == [0, "zeta", "alpha", "mid"]


def test_rows_written_before_an_index_existed_are_found_by_it(url: str) -> None:
    from simulator.persistence.redis_store import RedisStore

    RedisStore(url, {"t": {}}).put("t", "k", {"colour": "red", "n": 1})
    newer = RedisStore(url, INDEXES)  # a release that added the "colour" index
    assert newer.find("t", "colour", "red") == [{"colour": "red", "n": 1}]
    assert RedisStore(url, INDEXES).find("t", "colour", "red") == [{"colour": "red", "n": 1}]
