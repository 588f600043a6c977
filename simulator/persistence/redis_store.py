"""A :class:`simulator.store.Store` on Redis: several simulator hosts share one state.

Layout under a key prefix (default ``dfns-sim``):

- ``{p}:e:{table}`` hash key → entity JSON (the persistence codec, as SqliteStore writes it);
- ``{p}:o:{table}`` sorted set key → insertion sequence, so ``scan``/``find`` keep insertion
  order like the other stores; ``{p}:seq`` the sequence counter;
- ``{p}:i:{table}:{index}:{value}`` set of keys (secondary indexes, values codec-encoded);
- ``{p}:meta`` hash: core state outside the tables (default org, JWT secret, bootstrap).

Writes and ``transaction()`` hold one cluster-wide lock (``{p}:lock``, redis-py ``Lock`` with a
timeout so a crashed holder cannot wedge the others), which serialises every read-check-write
across processes and hosts. Inside a transaction, writes (a ``clear``, meta documents) are
buffered (reads see them) and flushed in one ``MULTI``/``EXEC`` at the end: an exception
discards them, like a rollback. The commit ``WATCH``es the lock key and goes ahead only if this
process still holds the lock, so a transaction that outlived the lock's timeout (a long pause)
while another process took over fails with :class:`StoreLockLost` instead of committing a
second use of a single-use item. Reads outside transactions go straight to Redis (always the
latest committed state, never a half-applied one).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from redis.exceptions import LockError, WatchError

from simulator.persistence._shared import (
    INDEX_SIGNATURE,
    CoreMetaRestore,
    declared_indexes,
    index_signature,
)
from simulator.persistence.codec import dumps_value, loads_value

_DELETED = object()


class StoreLockLost(RuntimeError):
    """The store lock expired (and may be held by another process) before this transaction
    committed: nothing of it was written."""

    def __init__(self) -> None:
        super().__init__("the dfns-sim store lock expired before the transaction committed; "
                         "nothing was written")
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
        self._check_index_signature()

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

    @property
    def _cleared(self) -> bool:
        return bool(getattr(self._local, "cleared", False))

    @contextmanager
    def transaction(self) -> Iterator[RedisStore]:
        if self._buffer is not None:  # nested: join the outer transaction
            yield self
            return
        with self._thread_lock:
            if not self._lock.acquire(blocking=True):
                raise TimeoutError("could not take the dfns-sim store lock")
            self._local.buffer, self._local.meta, self._local.cleared = {}, {}, False
            try:
                yield self
                self._flush()
            finally:
                self._local.buffer, self._local.meta, self._local.cleared = None, None, False
                try:
                    self._lock.release()
                except LockError:  # expired: _flush refused to commit, or nothing was written
                    pass

    def _flush(self) -> None:
        """Apply the buffered writes (a clear first, if any) in one MULTI/EXEC, and only if this
        process still holds the lock: a transaction that outlived the lock's timeout while
        another process took it must not commit (a single-use item could be used twice)."""
        buffer, meta, cleared = self._local.buffer, self._local.meta, self._cleared
        if not buffer and not meta and not cleared:
            return
        try:
            self._lock.reacquire()  # a fresh timeout for the commit itself
        except LockError:
            raise StoreLockLost() from None
        stale = list(self.redis.scan_iter(self._pattern("[eoi]"))) if cleared else []
        old = {} if cleared else self._current(buffer)
        added = [k for k, v in buffer.items() if v is not _DELETED and old.get(k) is None]
        last = int(cast(int, self.redis.incrby(f"{self.p}:seq", len(added)))) if added else 0
        sequence = {k: last - len(added) + 1 + i for i, k in enumerate(added)}
        with self.redis.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(self._lock.name)
                if pipe.get(self._lock.name) != self._lock.local.token:
                    raise StoreLockLost()
                pipe.multi()
                if stale:
                    pipe.delete(*stale)
                for (table, key), value in buffer.items():
                    self._queue_write(pipe, table, key, value, old.get((table, key)),
                                      sequence.get((table, key)))
                for name, document in meta.items():
                    pipe.hset(f"{self.p}:meta", name, json.dumps(document))
                pipe.execute()
            except WatchError:
                raise StoreLockLost() from None

    def _current(self, buffer: Mapping[tuple[str, str], Any]) -> dict[tuple[str, str], Any]:
        """The committed values the buffered writes replace (one HMGET per table)."""
        by_table: dict[str, list[str]] = {}
        for table, key in buffer:
            by_table.setdefault(table, []).append(key)
        out: dict[tuple[str, str], Any] = {}
        for table, keys in by_table.items():
            raws = cast("list[bytes | None]", self.redis.hmget(self._ek(table), keys))
            for key, raw in zip(keys, raws, strict=True):
                if raw is not None:
                    out[(table, key)] = loads_value(raw)
        return out

    def _queue_write(self, pipe: Any, table: str, key: str, value: Any, old: Any,
                     sequence: int | None) -> None:
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
            if sequence is not None:
                pipe.zadd(self._ok(table), {key: sequence}, nx=True)

    def _pattern(self, kinds: str) -> str:
        """A SCAN pattern for this prefix's keys of ``kinds`` (glob characters in the prefix
        escaped, so prefix ``sim`` never matches ``sim[1]``'s keys or the reverse)."""
        escaped = "".join("\\" + ch if ch in "*?[]\\" else ch for ch in self.p)
        return f"{escaped}:{kinds}:*"

    # -- reads -----------------------------------------------------------------------------
    def get(self, table: str, key: str) -> Any | None:
        buffer = self._buffer
        if buffer is not None:
            if (table, key) in buffer:
                value = buffer[(table, key)]
                return None if value is _DELETED else value
            if self._cleared:
                return None
        raw = self.redis.hget(self._ek(table), key)
        return None if raw is None else loads_value(raw)

    def _ordered(self, table: str, keys: set[str]) -> list[tuple[str, Any]]:
        """``(key, row)`` for ``keys`` in insertion order: committed rows by their sequence,
        then rows first written in this transaction, in the order written."""
        buffer = self._buffer or {}
        ordered_keys = sorted(keys)
        # one ZMSCORE for every key: a row rewritten in this transaction keeps its place
        scores: dict[str, float | None] = {}
        if ordered_keys and not self._cleared:
            scores = dict(zip(ordered_keys, cast("list[float | None]", self.redis.zmscore(
                self._ok(table), ordered_keys)), strict=True))
        committed = [k for k in ordered_keys if (table, k) not in buffer]
        raws = cast("list[bytes | None]",
                    self.redis.hmget(self._ek(table), committed)) if committed else []
        position = {k: i for i, (t, k) in enumerate(buffer) if t == table}
        rows: list[tuple[tuple[int, float], str, Any]] = []
        for key, raw in zip(committed, raws, strict=True):
            if raw is not None:
                score = scores.get(key)
                rank = (0, score if score is not None else float("inf"))
                rows.append((rank, key, loads_value(raw)))
        for key in ordered_keys:
            value = buffer.get((table, key), _DELETED)
            if key in position and value is not _DELETED:
                score = scores.get(key)
                rank = (0, float(score)) if score is not None else (1, float(position[key]))
                rows.append((rank, key, value))
        return [(key, row) for _, key, row in sorted(rows, key=lambda item: item[0])]

    def find(self, table: str, index: str, value: Hashable) -> list[Any]:
        keys: set[str] = set()
        if not self._cleared:
            members = cast("set[bytes]", self.redis.smembers(self._ik(table, index, value)))
            keys = {k.decode() for k in members}
        buffer = self._buffer
        fn = self._indexes.get(table, {}).get(index)
        if buffer:
            keys |= {k for (t, k) in buffer if t == table}
        rows = [row for _, row in self._ordered(table, keys)]
        # buffered rows may have moved in or out of this index value
        return [r for r in rows if fn is None or fn(r) == value]

    def scan(self, table: str) -> Iterator[Any]:
        keys: set[str] = set()
        if not self._cleared:
            keys = {k.decode() for k in cast("list[bytes]", self.redis.hkeys(self._ek(table)))}
        if self._buffer:
            keys |= {k for (t, k) in self._buffer if t == table}
        return iter([row for _, row in self._ordered(table, keys)])

    # -- writes ----------------------------------------------------------------------------
    def put(self, table: str, key: str, value: Any) -> None:
        with self.transaction():
            self._buffer[(table, key)] = value  # type: ignore[index]

    def delete(self, table: str, key: str) -> None:
        with self.transaction():
            self._buffer[(table, key)] = _DELETED  # type: ignore[index]

    def clear(self) -> None:
        """Drop every entity; the meta hash (JWT secret, …) stays. Inside a transaction the
        clear is buffered like any write: other processes see the old rows until the commit,
        then the new ones, never an empty store in between."""
        with self.transaction():
            self._buffer.clear()  # type: ignore[union-attr]
            self._local.cleared = True

    # -- whole-state documents -------------------------------------------------------------
    def _tables(self) -> set[str]:
        names = set()
        if not self._cleared:
            prefix = f"{self.p}:e:"
            names = {ek.decode()[len(prefix):] for ek in self.redis.scan_iter(self._pattern("e"))}
        return names | {t for (t, _) in (self._buffer or {})}

    def dump(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with self.transaction():
            for table in self._tables():
                keys: set[str] = set()
                if not self._cleared:
                    keys = {k.decode() for k in
                            cast("list[bytes]", self.redis.hkeys(self._ek(table)))}
                keys |= {k for (t, k) in self._buffer or {} if t == table}
                rows = dict(self._ordered(table, keys))
                if rows:
                    out[table] = rows
        return out

    def load(self, tables: Mapping[str, Mapping[str, Any]]) -> None:
        with self.transaction():
            self.clear()
            for table, rows in tables.items():
                for key, value in rows.items():
                    self.put(table, key, value)

    def _check_index_signature(self) -> None:
        """Rewrite every row (so every index set) once when the declarations changed since the
        last process wrote them: rows written before an index existed are found by it too."""
        declared = index_signature(self._indexes)
        if self.read_meta(INDEX_SIGNATURE) == declared:
            return
        with self.transaction():
            if self.read_meta(INDEX_SIGNATURE) != declared:  # not done by another process
                self.load(self.dump())
                self.write_meta(INDEX_SIGNATURE, declared)

    # -- core-level state (same contract as SqliteStore) -----------------------------------
    def read_meta(self, name: str) -> Any | None:
        """A JSON document kept beside the tables (core state, the shared control plane)."""
        pending = getattr(self._local, "meta", None)
        if pending is not None and name in pending:
            return json.loads(json.dumps(pending[name]))  # a copy, as a committed read gives
        raw = self.redis.hget(f"{self.p}:meta", name)
        return json.loads(raw) if raw else None

    def write_meta(self, name: str, value: Any) -> None:
        """Inside a transaction, committed with its writes (and discarded with them)."""
        with self.transaction():
            self._local.meta[name] = json.loads(json.dumps(value))

    def save_core_meta(self, meta: Mapping[str, Any]) -> None:
        self.write_meta(_CORE_META, dict(meta))

    def load_core_meta(self) -> dict[str, Any] | None:
        value = self.read_meta(_CORE_META)
        return dict(value) if isinstance(value, dict) else None

    def close(self) -> None:
        self.redis.close()
