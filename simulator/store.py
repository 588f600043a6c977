"""The one state store the services talk to.

Services see tables of entities keyed by id, secondary indexes, and ``transaction()`` for
read-check-write sequences (single-use challenges, tokens and codes must be consumed
atomically). The in-memory backend below serialises transactions with one lock; a persistent
or multi-process backend implements the same :class:`Store` protocol without the services
changing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Any, Protocol

IndexFn = Callable[[Any], Hashable | None]


class Tables(Protocol):
    def get(self, table: str, key: str) -> Any | None: ...
    def put(self, table: str, key: str, value: Any) -> None: ...
    def delete(self, table: str, key: str) -> None: ...
    def find(self, table: str, index: str, value: Hashable) -> list[Any]: ...
    def scan(self, table: str) -> Iterator[Any]: ...


class Store(Tables, Protocol):
    def transaction(self) -> Any:
        """Context manager yielding :class:`Tables`; writes inside are atomic and isolated."""
        ...

    def clear(self) -> None: ...


class SnapshotStore(Store, Protocol):
    """A store that can hand over and take back its whole state (``Control.reset``)."""

    def dump(self) -> dict[str, dict[str, Any]]: ...
    def load(self, tables: dict[str, dict[str, Any]]) -> None: ...


def _unindex(bucket: dict[Hashable, dict[str, None]], value: Hashable | None, key: str) -> None:
    """Remove ``key`` under ``value``, and the value once no key is left under it: an index on
    a value unique to each record (an audit entry's position) would otherwise keep one empty
    entry per dropped record for good."""
    if value is None:
        return
    keys = bucket.get(value)
    if keys is not None:
        keys.pop(key, None)
        if not keys:
            del bucket[value]


class _Transaction:
    """``with store.transaction() as tx:`` for :class:`InMemoryStore`: holds its lock.

    A plain class rather than ``@contextmanager``: several transactions run per hot-path
    request, and a generator-based context manager costs several times more.
    """

    __slots__ = ("_store",)

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    def __enter__(self) -> InMemoryStore:
        self._store._lock.acquire()
        return self._store

    def __exit__(self, *exc: Any) -> None:
        self._store._lock.release()


class InMemoryStore:
    """Thread-safe dictionaries with maintained secondary indexes."""

    def __init__(self, indexes: dict[str, dict[str, IndexFn]]) -> None:
        self._indexes = indexes
        self._lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._tables: dict[str, dict[str, Any]] = {}
            self._index_data: dict[tuple[str, str], dict[Hashable, dict[str, None]]] = {}
            # Write counters per table, for caches of values derived from a few tables
            # (versions()); kept across clear() so a cleared table never repeats a version.
            self._versions: dict[str, int] = getattr(self, "_versions", {})
            for name in self._versions:
                self._versions[name] += 1

    def versions(self, tables: tuple[str, ...]) -> tuple[int, ...]:
        """One number per table that changes whenever the table does (in-memory store only:
        a shared store cannot know another process wrote without asking it)."""
        counters = self._versions
        return tuple([counters.get(name, 0) for name in tables])

    # Reads take no lock: single dict operations are atomic under the GIL, and writers
    # replace whole (immutable) entities rather than mutating them in place.
    def get(self, table: str, key: str) -> Any | None:
        return self._tables.get(table, {}).get(key)

    def find(self, table: str, index: str, value: Hashable) -> list[Any]:
        keys = self._index_data.get((table, index), {}).get(value)
        if not keys:
            return []
        rows = self._tables.get(table, {})
        return [rows[k] for k in list(keys) if k in rows]

    def scan(self, table: str) -> Iterator[Any]:
        return iter(list(self._tables.get(table, {}).values()))

    def put(self, table: str, key: str, value: Any) -> None:
        with self._lock:
            rows = self._tables.setdefault(table, {})
            old = rows.get(key)
            for name, fn in self._indexes.get(table, {}).items():
                bucket = self._index_data.setdefault((table, name), {})
                new_value = fn(value)
                if old is not None:
                    old_value = fn(old)
                    if old_value == new_value:  # the usual update: the index entry stays
                        continue
                    _unindex(bucket, old_value, key)
                if new_value is not None:
                    bucket.setdefault(new_value, {})[key] = None
            rows[key] = value
            self._versions[table] = self._versions.get(table, 0) + 1

    def delete(self, table: str, key: str) -> None:
        with self._lock:
            old = self._tables.get(table, {}).pop(key, None)
            if old is None:
                return
            self._versions[table] = self._versions.get(table, 0) + 1
            for name, fn in self._indexes.get(table, {}).items():
                _unindex(self._index_data.get((table, name), {}), fn(old), key)

    def transaction(self) -> _Transaction:
        return _Transaction(self)

    # -- whole-state documents (snapshot / restore) ------------------------------------
    def dump(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: dict(rows) for name, rows in self._tables.items()}

    def load(self, tables: dict[str, dict[str, Any]]) -> None:
        """Replace everything. The new rows and indexes are built aside and swapped in, so a
        reader (reads take no lock) never sees the store emptied half-way through a reset."""
        fresh = InMemoryStore(self._indexes)
        for name, rows in tables.items():
            for key, value in rows.items():
                fresh.put(name, key, value)
        with self._lock:
            for name in set(self._versions) | set(fresh._versions):  # every cache invalidated
                self._versions[name] = self._versions.get(name, 0) + 1
            self._tables, self._index_data = fresh._tables, fresh._index_data
