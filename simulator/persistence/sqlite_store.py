"""A :class:`simulator.store.Store` on one SQLite file (stdlib ``sqlite3``).

- One row per entity (``entities``: table, key, version, JSON from the state codec) and one
  row per secondary-index entry (``idx``), so ``find`` is an indexed join.
- WAL journal and ``synchronous=FULL``: a write is on disk before ``put`` / the transaction
  returns, hence before the HTTP response that acknowledges it (kill -9 loses nothing).
- A connection per thread (and per process: a forked or spawned worker opens its own), all in
  autocommit mode; every read sees the latest committed write of any thread or process.
- ``transaction()`` is ``BEGIN IMMEDIATE``: it takes the file's write lock before the first
  read, so a read-check-write (single-use challenges, codes, tokens) is atomic across threads
  *and* processes. Nested ``transaction()`` calls and plain ``put`` calls inside one join it.
- A busy lock is retried after 20 µs, doubling to 2 ms, until ``busy_timeout``: SQLite's own
  busy handler sleeps 1 ms first, far longer than the ~50 µs a hot-path write holds the lock,
  and with several workers that sleep set the pace (measured: 2 workers slower than 1).
- Decoded entities are cached by (table, key) with the row's random version: a read still asks
  SQLite for the row (so another process's write is never missed) but skips decoding when the
  version is unchanged.
- Inside :meth:`SqliteStore.read_scope` (each HTTP request) and inside transactions, reads are
  answered from the connection's :class:`~simulator.persistence.sqlite_reads.ReadCache`:
  what it read or wrote, minus what other connections changed (a change log and
  ``PRAGMA data_version``, checked when the scope or transaction starts).
- Core state that is not in any table (default org id, JWT secret, bootstrap identity) lives in
  the ``meta`` table; :class:`simulator.Simulator` reads it back on start.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from simulator.persistence._shared import (
    INDEX_SIGNATURE,
    CoreMetaRestore,
    declared_indexes,
    index_signature,
)
from simulator.persistence.codec import dumps_value, loads_value
from simulator.persistence.sqlite_reads import (
    CHANGES_SCHEMA,
    EVERYTHING,
    ReadCache,
    log_change,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entities (
    id INTEGER PRIMARY KEY,
    tbl TEXT NOT NULL,
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (tbl, key)
);
CREATE TABLE IF NOT EXISTS idx (
    tbl TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (tbl, name, value, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_by_key ON idx (tbl, key);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
""" + CHANGES_SCHEMA

_T = TypeVar("_T")
_CORE_META = "core"
_CACHE_ROWS = 200_000  # decoded entities kept per process (see _decode)


class SqliteStore(CoreMetaRestore):
    """Persistent, multi-thread and multi-process store; same protocol as InMemoryStore."""

    def __init__(self, path: str | os.PathLike[str],
                 indexes: Mapping[str, Mapping[str, Any]] | None = None, *,
                 busy_timeout: float = 60.0) -> None:
        self.path = str(Path(path))
        self._indexes = declared_indexes(indexes)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._pid = os.getpid()
        self._cache: dict[tuple[str, str], tuple[int, Any]] = {}
        self._lock_waits = 0  # busy answers met by this process (see lock_stats)
        self._lock_wait_seconds = 0.0
        conn = self._conn()
        # Several processes may open a new file at once; the schema is idempotent, so a
        # locked database is simply retried (the connection's busy timeout is 0: see _conn).
        self._retrying(lambda: conn.executescript(_SCHEMA))
        self._check_index_signature()

    # -- connections ---------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        if self._pid != os.getpid():  # a forked child must not reuse its parent's handles
            self._pid = os.getpid()
            self._local = threading.local()
            self._cache = {}
            self._lock_waits, self._lock_wait_seconds = 0, 0.0  # the parent's, not ours
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=0")  # _begin() retries with shorter waits
            self._local.conn = conn
            self._local.depth = 0
            self._local.reads = ReadCache()
        return conn

    def _reads(self) -> ReadCache:
        self._conn()  # after a fork: this process's own connection and cache
        reads: ReadCache = self._local.reads
        return reads

    @contextmanager
    def read_scope(self) -> Iterator[None]:
        """Reads inside may be answered from this connection's cache: a row is read as it was
        when the scope (or this connection's last transaction) began or later, never older;
        this thread's own writes show at once, and transactions always read the latest.
        The HTTP endpoint opens one per request, so a request sees every change acknowledged
        before it arrived, whichever worker made it."""
        conn = self._conn()
        reads: ReadCache = self._local.reads
        if not reads.scopes:
            reads.sync(conn, self._retrying)
        reads.scopes += 1
        try:
            yield
        finally:
            reads.scopes -= 1

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- transactions --------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[SqliteStore]:
        conn = self._conn()
        if self._local.depth:
            self._local.depth += 1
            try:
                yield self
            finally:
                self._local.depth -= 1
            return
        self._begin(conn)
        self._local.depth = 1
        reads = self._local.reads
        try:
            reads.sync(conn, self._retrying)  # under the write lock: nothing commits meanwhile
            yield self
            self._local.depth = 0
            conn.execute("COMMIT")  # may fail (disk full, I/O error): then nothing was written
        except BaseException:
            self._local.depth = 0
            reads.rolled_back()  # its cache holds this transaction's writes
            if conn.in_transaction:  # a failed COMMIT has already rolled back
                conn.execute("ROLLBACK")
            raise
        reads.committed()

    def _retrying(self, attempt: Callable[[], _T]) -> _T:
        """``attempt()``, retried while SQLite answers busy/locked, waiting 20 µs, doubling to
        2 ms, for up to ``busy_timeout`` seconds."""
        delay, waited = 20e-6, 0.0
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) \
                        or waited >= self._busy_timeout:
                    raise
            asleep = time.perf_counter()
            time.sleep(delay)
            self._lock_waits += 1  # only on this (slow) path: the fast path stays as it was
            self._lock_wait_seconds += time.perf_counter() - asleep
            waited += delay
            delay = min(delay * 2, 2e-3)

    def lock_stats(self) -> dict[str, Any]:
        """How often this process found the file busy (another connection holding the write
        lock, mostly) and how long it slept before retrying, since it opened the store: with
        several workers, the price of SQLite's one writer at a time (``dfns-sim bench`` P3
        reads it through ``GET /_sim/health``). Counted without a lock: close, not exact,
        when threads of one process retry at once."""
        self._conn()  # after a fork: this process's counts, not the parent's
        return {"busyRetries": self._lock_waits,
                "waitSeconds": round(self._lock_wait_seconds, 6)}

    def _begin(self, conn: sqlite3.Connection) -> None:
        self._retrying(lambda: conn.execute("BEGIN IMMEDIATE"))

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """Rows of a read; WAL readers are not blocked by writers, but a reader may meet a
        brief busy state (checkpoint, recovery), retried like a write lock."""
        conn = self._conn()
        return self._retrying(lambda: conn.execute(sql, params).fetchall())

    # -- reads ---------------------------------------------------------------------------
    def _decode(self, table: str, key: str, version: int, data: str) -> Any:
        cached = self._cache.get((table, key))
        if cached is not None and cached[0] == version:
            return cached[1]
        value = loads_value(data)
        if len(self._cache) >= _CACHE_ROWS:  # rows other processes deleted are never popped
            self._cache.clear()  # here; starting over costs one decode per row still in use
        self._cache[(table, key)] = (version, value)
        return value

    def _cached_reads(self) -> ReadCache | None:
        """The connection's cache when reads may use it (a read scope or a transaction)."""
        reads = self._reads()
        return reads if reads.scopes or self._local.depth else None

    def get(self, table: str, key: str) -> Any | None:
        reads = self._cached_reads()
        if reads is not None:
            try:
                return reads.rows[(table, key)]
            except KeyError:
                pass
        rows = self._read("SELECT version, data FROM entities WHERE tbl = ? AND key = ?",
                          (table, key))
        if not rows:
            self._cache.pop((table, key), None)  # deleted, perhaps by another process
            value = None
        else:
            value = self._decode(table, key, rows[0][0], rows[0][1])
        if reads is not None:
            reads.read(table, key, value)
        return value

    def find(self, table: str, index: str, value: Hashable) -> list[Any]:
        reads = self._cached_reads()
        # Cached look-ups are keyed by the value itself when it is a string or a tuple of
        # strings (the usual index values: == is then JSON equality), else by its JSON.
        plain = type(value) is str or (type(value) is tuple
                                       and all(type(v) is str for v in value))
        encoded = None if plain else dumps_value(value)
        look_up = (index, value) if encoded is None else (index, "$json", encoded)
        if reads is not None:
            keys = reads.finds.get(table, {}).get(look_up)
            if keys is not None and all((table, k) in reads.rows for k in keys):
                return [reads.rows[(table, k)] for k in keys]
        rows = self._read(
            "SELECT e.key, e.version, e.data FROM idx i JOIN entities e"
            " ON e.tbl = i.tbl AND e.key = i.key"
            " WHERE i.tbl = ? AND i.name = ? AND i.value = ? ORDER BY e.id",
            (table, index, encoded if encoded is not None else dumps_value(value)))
        found = [self._decode(table, key, version, data) for key, version, data in rows]
        if reads is not None:
            for (key, _, _), entity in zip(rows, found, strict=True):
                reads.read(table, key, entity)
            reads.remember_find(table, look_up, tuple(r[0] for r in rows))
        return found

    def scan(self, table: str) -> Iterator[Any]:
        rows = self._read("SELECT key, version, data FROM entities WHERE tbl = ? ORDER BY id",
                          (table,))
        return iter([self._decode(table, key, version, data) for key, version, data in rows])

    def tables(self) -> list[str]:
        rows = self._conn().execute("SELECT DISTINCT tbl FROM entities ORDER BY tbl")
        return [r[0] for r in rows]

    # -- writes --------------------------------------------------------------------------
    def _index_rows(self, table: str, key: str, value: Any) -> list[tuple[str, str, str, str]]:
        out = []
        for name, fn in self._indexes.get(table, {}).items():
            indexed = fn(value)
            if indexed is not None:
                out.append((table, name, dumps_value(indexed), key))
        return out

    def _encode(self, table: str, key: str, value: Any) -> tuple[str, list[Any] | None]:
        """The row's JSON and its index rows (None: the table declares no index)."""
        indexed = bool(self._indexes.get(table))
        return dumps_value(value), self._index_rows(table, key, value) if indexed else None

    def _write(self, conn: sqlite3.Connection, table: str, key: str, value: Any,
               encoded: tuple[str, list[Any] | None] | None = None) -> None:
        data, index_rows = encoded or self._encode(table, key, value)
        version = secrets.randbits(62)
        conn.execute(
            "INSERT INTO entities (tbl, key, version, data) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (tbl, key)"
            " DO UPDATE SET version = excluded.version, data = excluded.data",
            (table, key, version, data))
        if index_rows is not None:  # a table with no declared index has no idx rows
            conn.execute("DELETE FROM idx WHERE tbl = ? AND key = ?", (table, key))
            conn.executemany(
                "INSERT OR IGNORE INTO idx (tbl, name, value, key) VALUES (?, ?, ?, ?)",
                index_rows)
        self._changed(conn, table, key, value)
        self._cache[(table, key)] = (version, value)

    def _changed(self, conn: sqlite3.Connection, table: str, key: str, value: Any) -> None:
        """A write inside the open transaction: logged for the other connections, and known
        to this one's cache (``EVERYTHING``: every table changed)."""
        log_change(conn, table, key)
        self._local.reads.wrote(table, key, value)

    def put(self, table: str, key: str, value: Any) -> None:
        # Encode before taking the write lock: every other worker waits while it is held.
        encoded = self._encode(table, key, value)
        with self.transaction():
            self._write(self._conn(), table, key, value, encoded)

    def delete(self, table: str, key: str) -> None:
        with self.transaction():
            conn = self._conn()
            conn.execute("DELETE FROM entities WHERE tbl = ? AND key = ?", (table, key))
            conn.execute("DELETE FROM idx WHERE tbl = ? AND key = ?", (table, key))
            self._changed(conn, table, key, None)
        self._cache.pop((table, key), None)

    def clear(self) -> None:
        """Drop every entity; the meta table (JWT secret, …) stays."""
        with self.transaction():
            conn = self._conn()
            conn.execute("DELETE FROM entities")
            conn.execute("DELETE FROM idx")
            self._changed(conn, EVERYTHING, EVERYTHING, None)
        self._cache.clear()

    # -- whole-state documents (snapshot / restore) ------------------------------------
    def dump(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with self.transaction():  # one consistent view
            rows = self._conn().execute(
                "SELECT tbl, key, version, data FROM entities ORDER BY id").fetchall()
        for table, key, version, data in rows:
            out.setdefault(table, {})[key] = self._decode(table, key, version, data)
        return out

    def load(self, tables: Mapping[str, Mapping[str, Any]]) -> None:
        with self.transaction():
            self.clear()
            conn = self._conn()
            for table, rows in tables.items():
                for key, value in rows.items():
                    self._write(conn, table, key, value)

    # -- core-level state ------------------------------------------------------------------
    def read_meta(self, name: str) -> Any | None:
        """A JSON document kept beside the tables (core state, the shared control plane)."""
        rows = self._read("SELECT v FROM meta WHERE k = ?", (name,))
        return json.loads(rows[0][0]) if rows else None

    def write_meta(self, name: str, value: Any) -> None:
        with self.transaction():
            self._conn().execute(
                "INSERT INTO meta (k, v) VALUES (?, ?)"
                " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                (name, json.dumps(value)))

    def save_core_meta(self, meta: Mapping[str, Any]) -> None:
        self.write_meta(_CORE_META, dict(meta))

    def load_core_meta(self) -> dict[str, Any] | None:
        value = self.read_meta(_CORE_META)
        return dict(value) if isinstance(value, dict) else None

    def _check_index_signature(self) -> None:
        """Rebuild the index rows when the INDEXES declarations changed since the last open."""
        declared = index_signature(self._indexes)
        if self.read_meta(INDEX_SIGNATURE) == declared:
            return
        with self.transaction():
            conn = self._conn()
            conn.execute("DELETE FROM idx")
            for table, key, data in conn.execute("SELECT tbl, key, data FROM entities").fetchall():
                conn.executemany(
                    "INSERT OR IGNORE INTO idx (tbl, name, value, key) VALUES (?, ?, ?, ?)",
                    self._index_rows(table, key, loads_value(data)))
            self._changed(conn, EVERYTHING, EVERYTHING, None)
            self.write_meta(INDEX_SIGNATURE, declared)
