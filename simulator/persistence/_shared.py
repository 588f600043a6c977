"""What the persistent stores (SQLite, Redis) share beyond the Store protocol."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from simulator.persistence.codec import apply_core_meta

IndexDeclarations = Mapping[str, Mapping[str, Any]]


def declared_indexes(indexes: IndexDeclarations | None) -> IndexDeclarations:
    """The given index declarations, or the simulator's own (imported late: services import
    the store modules, not the other way round)."""
    if indexes is not None:
        return indexes
    from simulator.services.core import INDEXES

    return INDEXES


INDEX_SIGNATURE = "index_signature"  # meta document: the declarations the index rows follow


def index_signature(indexes: IndexDeclarations) -> list[str]:
    """``table.index:fingerprint`` for every declared index. The fingerprint covers the index
    function's code, so a store opened by a version whose function changed (not only whose
    names changed) rebuilds its index rows instead of answering ``find`` from stale ones."""
    out = []
    for table, names in indexes.items():
        for name, fn in names.items():
            code = getattr(fn, "__code__", None)
            material = repr((code.co_code, code.co_consts, code.co_names)) if code else repr(fn)
            digest = hashlib.sha256(material.encode()).hexdigest()[:16]
            out.append(f"{table}.{name}:{digest}")
    return sorted(out)


class CoreMetaRestore:
    """``restore_core`` over a store's ``load_core_meta`` and ``get``."""

    def load_core_meta(self) -> dict[str, Any] | None:  # pragma: no cover - each store's own
        raise NotImplementedError

    def get(self, table: str, key: str) -> Any | None:  # pragma: no cover - each store's own
        raise NotImplementedError

    def restore_core(self, target: Any) -> bool:
        """Give a Core / Simulator the org, JWT secret and bootstrap saved with this store.

        Parts that no longer match the tables (e.g. after ``clear()``) are left out, so the
        simulator recreates them instead of pointing at deleted rows. True if anything was
        restored.
        """
        meta = self.load_core_meta()
        if not meta:
            return False
        meta = dict(meta)
        if meta.get("default_org_id") and self.get("orgs", meta["default_org_id"]) is None:
            meta["default_org_id"] = ""
        boot = meta.get("bootstrap")
        if boot:
            account = boot.get("serviceAccount") or {}
            if (boot.get("orgId") != meta["default_org_id"]
                    or self.get("users", account.get("userId", "")) is None
                    or self.get("tokens", account.get("tokenId", "")) is None):
                meta["bootstrap"] = None
        apply_core_meta(target, meta)
        return True
