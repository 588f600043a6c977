"""A :class:`simulator.store.Store` on Redis: several simulator hosts share one state.

Layout under a key prefix (default ``dfns-sim``):

- ``{p}:e:{table}`` hash key → entity JSON (the persistence codec, as SqliteStore writes it);
- ``{p}:o:{table}`` sorted set key → insertion sequence, so ``scan``/``find`` keep insertion
  order like the other stores; ``{p}:seq`` the sequence counter;
- ``{p}:i:{table}:{index}:{value}`` set of keys (secondary indexes, values codec-encoded);
- ``{p}:meta`` hash: core state outside the tables (default org, JWT secret, bootstrap).

Writes and ``transaction()`` hold one cluster-wide lock (``{p}:lock``, redis-py ``Lock`` with a
timeout so a crashed holder cannot wedge the others), which serialises every read-check-write
across processes and hosts. Inside a transaction, writes are buffered (reads see them) and
flushed in one ``MULTI``/``EXEC`` at the end: an exception discards them, like a rollback.
Reads outside transactions go straight to Redis (always the latest committed state).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from simulator.persistence._shared import CoreMetaRestore, declared_indexes
from simulator.persistence.codec import dumps_value, loads_value

_DELETED = object()
_CORE_META = "core"
# The client is made without decode_responses, so replies are bytes; redis-py annotates them
# ``bytes | str`` (it cannot know which), hence the casts to bytes below.


class RedisStore(CoreMetaRestore):
    def __init__(self, url: str = "redis://127.0.0.1:6379/0",
                 indexes: Mapping[str, Mapping[str, Any]] | None = None, *,
                 prefix: str = "dfns-sim", lock_timeout: float = 30.0, client: Any = None) -> None:
        import redis

        self._indexes = declared_indexes(indexes)
        self.url = url
        self.redis = client or redis.Redis.from_url(url)
        self.p = prefix
        self._lock = self.redis.lock(f"{prefix}:lock", timeout=lock_timeout, blocking_timeout=60,
                                     thread_local=False)
        self._local = threading.local()
        self._thread_lock = threading.RLock()  # one holder of the Redis lock per process

    # -- keys ------------------------------------------------------------------------------
    def _ek(self, table: str) -> str:
        return f"{self.p}:e:{table}"

    def _ok(self, table: str) -> str:
        return f"{self.p}:o:{table}"

    def _ik(self, table: str, index: str, value: Any) -> str:
        return f"{self.p}:i:{table}:{index}:{dumps_value(value)}"

    # -- transactions ----------------------------------------------------------------------
    @property
    def _buffer(self) -> dict[tuple[str, str], Any] | None:
        return getattr(self._local, "buffer", None)

    @contextmanager
    def transaction(self) -> Iterator[RedisStore]:
        if self._buffer is not None:  # nested: join the outer transaction
            yield self
            return
        with self._thread_lock:
            if not self._lock.acquire(blocking=True):
                raise TimeoutError("could not take the dfns-sim store lock")
            self._local.buffer = {}
            try:
                yield self
                self._flush(self._local.buffer)
            finally:
                self._local.buffer = None
                try:
                    self._lock.release()
                except Exception:  # noqa: BLE001 - expired lock: another holder took over
                    pass

    def _flush(self, buffer: dict[tuple[str, str], Any]) -> None:
        if not buffer:
            return
        pipe = self.redis.pipeline(transaction=True)
        for (table, key), value in buffer.items():
            old_raw = self.redis.hget(self._ek(table), key)
            old = loads_value(old_raw) if old_raw is not None else None
            for name, fn in self._indexes.get(table, {}).items():
                if old is not None and (old_value := fn(old)) is not None:
                    pipe.srem(self._ik(table, name, old_value), key)
                if value is not _DELETED and (new_value := fn(value)) is not None:
                    pipe.sadd(self._ik(table, name, new_value), key)
            if value is _DELETED:
                pipe.hdel(self._ek(table), key)
                pipe.zrem(self._ok(table), key)
            else:
                pipe.hset(self._ek(table), key, dumps_value(value))
                if old_raw is None:
                    pipe.zadd(self._ok(table), {key: self.redis.incr(f"{self.p}:seq")}, nx=True)
        pipe.execute()

    # -- reads -----------------------------------------------------------------------------
    def get(self, table: str, key: str) -> Any | None:
        buffer = self._buffer
        if buffer is not None and (table, key) in buffer:
            value = buffer[(table, key)]
            return None if value is _DELETED else value
        raw = self.redis.hget(self._ek(table), key)
        return None if raw is None else loads_value(raw)

    def _ordered(self, table: str, keys: set[str]) -> list[Any]:
        scored = cast("list[tuple[bytes | str, float]]",
                      self.redis.zrange(self._ok(table), 0, -1, withscores=True))
        order = {k.decode() if isinstance(k, bytes) else k: score for k, score in scored}
        rows = []
        for key in sorted(keys, key=lambda k: order.get(k, float("inf"))):
            value = self.get(table, key)
            if value is not None:
                rows.append(value)
        return rows

    def find(self, table: str, index: str, value: Hashable) -> list[Any]:
        members = cast("set[bytes]", self.redis.smembers(self._ik(table, index, value)))
        keys = {k.decode() for k in members}
        buffer = self._buffer
        fn = self._indexes.get(table, {}).get(index)
        if buffer:
            keys |= {k for (t, k) in buffer if t == table}
        rows = self._ordered(table, keys)
        # buffered rows may have moved in or out of this index value
        return [r for r in rows if fn is None or fn(r) == value]

    def scan(self, table: str) -> Iterator[Any]:
        keys = {k.decode() for k in cast("list[bytes]", self.redis.hkeys(self._ek(table)))}
        if self._buffer:
            keys |= {k for (t, k) in self._buffer if t == table}
        return iter(self._ordered(table, keys))

    # -- writes ----------------------------------------------------------------------------
    def put(self, table: str, key: str, value: Any) -> None:
        with self.transaction():
            self._buffer[(table, key)] = value  # type: ignore[index]

    def delete(self, table: str, key: str) -> None:
        with self.transaction():
            self._buffer[(table, key)] = _DELETED  # type: ignore[index]

    def clear(self) -> None:
        """Drop every entity; the meta hash (JWT secret, …) stays."""
        with self.transaction():
            keys = [k for k in self.redis.scan_iter(f"{self.p}:[eoi]:*")]
            if keys:
                self.redis.delete(*keys)
            self._buffer.clear()  # type: ignore[union-attr]

    # -- whole-state documents -------------------------------------------------------------
    def dump(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with self.transaction():
            for ek in self.redis.scan_iter(f"{self.p}:e:*"):
                table = ek.decode()[len(f"{self.p}:e:"):]
                ordered = cast("list[bytes]", self.redis.zrange(self._ok(table), 0, -1))
                keys = [r.decode() for r in ordered]
                out[table] = {row_key: value for row_key, value in (
                    (k, self.get(table, k)) for k in keys) if value is not None}
        return out

    def load(self, tables: Mapping[str, Mapping[str, Any]]) -> None:
        with self.transaction():
            self.clear()
            for table, rows in tables.items():
                for key, value in rows.items():
                    self.put(table, key, value)

    # -- core-level state (same contract as SqliteStore) -----------------------------------
    def read_meta(self, name: str) -> Any | None:
        """A JSON document kept beside the tables (core state, the shared control plane)."""
        raw = self.redis.hget(f"{self.p}:meta", name)
        return json.loads(raw) if raw else None

    def write_meta(self, name: str, value: Any) -> None:
        # Written at once, not buffered: inside transaction() the store lock already makes a
        # read_meta → write_meta sequence atomic against every other process.
        self.redis.hset(f"{self.p}:meta", name, json.dumps(value))

    def save_core_meta(self, meta: Mapping[str, Any]) -> None:
        self.write_meta(_CORE_META, dict(meta))

    def load_core_meta(self) -> dict[str, Any] | None:
        value = self.read_meta(_CORE_META)
        return dict(value) if isinstance(value, dict) else None

    def close(self) -> None:
        self.redis.close()
