"""What one SQLite connection may answer without asking the file: rows known to be current.

Profiling ``--workers`` on SQLite showed a hot-path flow spending more on its ~33 row reads and
~10 index lookups (one SELECT each) than on verifying the signature. Most of those rows (the
caller's user, token, application, permissions) do not change between requests, so a
connection keeps the rows and find results it has read or written, and drops only what
changed since:

- every write also appends ``(seq, table, key)`` to the ``changes`` table, in the same
  transaction (``log_change``);
- ``PRAGMA data_version`` tells a connection whether *another* connection committed since it
  last asked; only then does it read the changes after the last one it applied and forget
  those rows (and every cached find of their tables). A gap in the sequence (the log is
  pruned) or a whole-store change (``*``) forgets everything.

:meth:`ReadCache.sync` is called where a fresh view is owed: when a request starts (the
endpoint's read scope) and right after ``BEGIN IMMEDIATE``, where the write lock guarantees
that no one else commits until the transaction ends, so a read-check-write still decides on
the latest committed state.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

CHANGES_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY,
    tbl TEXT NOT NULL,
    key TEXT NOT NULL
);
"""
EVERYTHING = "*"  # a change to every table (clear, load, index rebuild)
_KEEP_CHANGES = 8192  # log rows kept: a connection further behind forgets everything
_PRUNE_EVERY = 1024
_MAX_ROWS = 100_000  # rows one connection keeps before starting over

_T = TypeVar("_T")


class Retrying(Protocol):
    """Runs a statement again while SQLite answers busy (SqliteStore._retrying)."""

    def __call__(self, attempt: Callable[[], _T]) -> _T: ...


def log_change(conn: sqlite3.Connection, table: str, key: str) -> None:
    """Record a write; call it inside the transaction that makes the write."""
    seq = conn.execute("INSERT INTO changes (tbl, key) VALUES (?, ?)", (table, key)).lastrowid
    # The newest rows are never deleted, so the next seq is always max + 1: one writer at a
    # time (the write lock) makes the sequence gap-free, and a gap means rows were pruned.
    if seq is not None and seq % _PRUNE_EVERY == 0:
        conn.execute("DELETE FROM changes WHERE seq <= ?", (seq - _KEEP_CHANGES,))


class ReadCache:
    """The rows and find results of one connection, current as of its last :meth:`sync`
    plus its own writes. Confined to the connection's thread, so it takes no lock."""

    __slots__ = ("rows", "finds", "found", "data_version", "seen", "scopes", "pending")

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Any] = {}  # value, or None: no such row
        self.finds: dict[str, dict[tuple[Any, ...], tuple[str, ...]]] = {}  # table → keys
        self.found = 0  # cached find results, for the size limit
        self.data_version: int | None = None
        self.seen: int | None = None  # the last change applied
        self.scopes = 0  # open read scopes: inside one, reads use the cache
        # rows written by the open transaction: what a roll-back must take back
        self.pending: set[tuple[str, str]] = set()

    def forget(self) -> None:
        self.rows.clear()
        self.finds.clear()
        self.found = 0

    def sync(self, conn: sqlite3.Connection, retrying: Retrying) -> None:
        """Drop what other connections changed since the last call."""
        version = retrying(lambda: conn.execute("PRAGMA data_version").fetchone()[0])
        if version == self.data_version:
            return
        if self.seen is None:  # a new connection: nothing cached yet, start at the log's end
            self.seen = retrying(
                lambda: conn.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0])
            self.forget()
        else:
            seen = self.seen
            changed = retrying(lambda: conn.execute(
                "SELECT seq, tbl, key FROM changes WHERE seq > ? ORDER BY seq",
                (seen,)).fetchall())
            if changed:
                self._apply(changed, seen)
        # Only now: had reading the log failed, the next sync must read it again.
        self.data_version = version

    def _apply(self, changed: list[tuple[int, str, str]], seen: int) -> None:
        if changed[0][0] != seen + 1:  # pruned past what this connection applied
            self.forget()
        else:
            self._drop((table, key) for _, table, key in changed)
        self.seen = changed[-1][0]

    def _drop(self, changed: Iterable[tuple[str, str]]) -> None:
        """Forget these rows and every cached find of their tables (``EVERYTHING``: all)."""
        rows, finds = self.rows, self.finds
        for table, key in changed:
            if table == EVERYTHING:
                self.forget()
                return
            rows.pop((table, key), None)
            finds.pop(table, None)

    def wrote(self, table: str, key: str, value: Any) -> None:
        """This connection's own write (``None``: a delete), inside its open transaction;
        ``EVERYTHING`` (clear, load, index rebuild) forgets all, and so would its roll-back."""
        self.pending.add((table, key))
        if table == EVERYTHING:
            self.forget()
            return
        self.read(table, key, value)
        self.finds.pop(table, None)

    def committed(self) -> None:
        self.pending.clear()

    def rolled_back(self) -> None:
        """Take back the open transaction's writes (and what was found in their tables)."""
        self._drop(self.pending)
        self.pending.clear()

    def read(self, table: str, key: str, value: Any) -> None:
        if len(self.rows) >= _MAX_ROWS:
            self.forget()
        self.rows[(table, key)] = value

    def remember_find(self, table: str, look_up: tuple[Any, ...], keys: tuple[str, ...]) -> None:
        if self.found >= _MAX_ROWS:  # look-ups of absent values add no row, only this
            self.forget()
        self.finds.setdefault(table, {})[look_up] = keys
        self.found += 1
