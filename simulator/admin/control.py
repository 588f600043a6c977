"""The control plane as plain Python: what ``/_sim/…`` and the ``Simulator`` twin both call.

State documents (snapshot / restore) come from :mod:`simulator.persistence.codec`; ``reset``
returns the store to its *baseline*, the state right after the default org and the bootstrap
service account were created, so the bootstrap identity keeps working after a reset.
"""

from __future__ import annotations

import importlib
import math
import time
from typing import Any, cast

from simulator.admin.faults import FaultRegistry
from simulator.admin.journal import Journal
from simulator.admin.journal_peers import JournalPeers
from simulator.admin.shared import BASELINE_KEY, MetaStore, SharedControl
from simulator.clock import iso8601, parse_iso8601
from simulator.errors import ApiError
from simulator.services.core import Core
from simulator.store import SnapshotStore

CLOCK_ACTIONS = ("freeze", "unfreeze", "set", "advance")
MAX_CLOCK_STEP = 100 * 365 * 86400.0
# The simulated clock stays within [1970, 3000): every date it stamps then formats as ISO-8601
# (datetime has no year 10000, and years before 1000 lose their zero padding).
CLOCK_START, CLOCK_END = 0.0, 32503680000.0


class ControlError(ApiError):
    """A control-plane rejection, rendered in the Dfns envelope like any other."""


def _codec() -> Any:
    try:
        return importlib.import_module("simulator.persistence.codec")
    except ImportError:
        return None


def codec_available() -> bool:
    codec = _codec()
    return codec is not None and hasattr(codec, "dump_state") and hasattr(codec, "load_state")


def _belongs(table: str, key: str, entity: Any, org_id: str) -> bool:
    if table == "orgs":
        return key == org_id
    return getattr(entity, "org_id", None) == org_id


class Control:
    def __init__(self, core: Core, *, owner: Any = None, journal_size: int = 500) -> None:
        self.core = core
        # The codec takes the Simulator (then snapshots carry its bootstrap identity) or a Core.
        self.target = owner if owner is not None else core
        self.faults = FaultRegistry(core.random.seed)
        self.journal = Journal(journal_size)
        # serve --workers: the journals of all workers on this machine, read as one
        self.journal_peers: JournalPeers | None = None
        self._baseline: dict[str, dict[str, Any]] | None = None
        self.shared: SharedControl | None = None

    @property
    def journals(self) -> Journal | JournalPeers:
        """What ``/_sim/journal`` reads and clears: this process's journal, or with
        ``serve --workers`` every worker's (simulator/admin/journal_peers.py)."""
        return self.journal_peers if self.journal_peers is not None else self.journal

    def share(self, *, fresh: bool = False) -> SharedControl:
        """Keep the clock and the faults in the store, shared with every process using it
        (``serve --workers``); ``fresh`` replaces what an earlier run left there."""
        if self.shared is None:
            store = self.core.store
            if not (callable(getattr(store, "read_meta", None))
                    and callable(getattr(store, "write_meta", None))):
                raise ControlError(501, "only a shared store (SQLite, Redis) can share the clock "
                                        "and faults between processes")
            self.shared = SharedControl(cast(MetaStore, store), self.core.clock, self.faults)
            self.shared.on_new_generation = self._take_over_restored_state
        if fresh:
            self.shared.publish_fresh()
            self._publish_baseline()
        else:
            self.shared.sync()
        return self.shared

    def _take_over_restored_state(self) -> None:
        """Another process restored a state document: take its JWT secret, default org and
        bootstrap identity from the store (the tables are read from the store anyway)."""
        restore_core = getattr(self.core.store, "restore_core", None)
        if callable(restore_core):
            restore_core(self.target)

    # -- baseline / reset ---------------------------------------------------------------
    def capture_baseline(self) -> None:
        """Remember the current state as what ``reset`` returns to (for every process sharing
        the store, when shared)."""
        dump = getattr(self.core.store, "dump", None)
        self._baseline = dump() if callable(dump) else None
        if self.shared is not None:
            with self.core.clock.changing():  # one publication: the baseline and its generation
                self._publish_baseline()
                self.shared.new_generation()

    def _publish_baseline(self) -> None:
        codec = _codec()
        if self._baseline is None or self.shared is None or codec is None:
            return
        encoded = {table: {key: codec.encode_value(entity) for key, entity in rows.items()}
                   for table, rows in self._baseline.items()}
        self.shared.store.write_meta(BASELINE_KEY, encoded)

    def _current_baseline(self) -> dict[str, dict[str, Any]]:
        """What reset returns to: the shared copy when the store is shared (another process
        may have restored a document since this one started), else this process's own."""
        codec = _codec()
        if self.shared is not None and codec is not None:
            encoded = self.shared.store.read_meta(BASELINE_KEY)
            if isinstance(encoded, dict):
                return {table: {key: codec.decode_value(value) for key, value in rows.items()}
                        for table, rows in encoded.items()}
        return self._baseline or {}

    def reset(self, org_id: str | None = None) -> dict[str, Any]:
        store = self.core.store
        if not callable(getattr(store, "dump", None)) or not callable(getattr(store, "load", None)):
            raise ControlError(501, "this state store cannot be reset (it has no dump/load)")
        store = cast(SnapshotStore, store)  # dump and load: checked just above
        baseline = self._current_baseline()
        if org_id is None:
            store.load({name: dict(rows) for name, rows in baseline.items()})
            self.journals.clear()
            with self.core.clock.changing():  # one change for every process sharing the store
                self.faults.clear()
                self.core.clock.unfreeze()
                self.core.clock.set(time.time())
            self.core.random.reseed(self.core.random.seed)
            self.faults.reseed(self.core.random.seed)
            return {"reset": "all"}
        if not isinstance(org_id, str) or not org_id:
            raise ControlError(400, "orgId must be a non-empty string", details={"field": "orgId"})
        if self.core.org(org_id) is None and org_id not in baseline.get("orgs", {}):
            raise ControlError(404, "org not found", details={"orgId": org_id})
        removed = restored = 0
        with store.transaction() as tx:
            for table, rows in store.dump().items():
                for key, entity in rows.items():
                    if _belongs(table, key, entity, org_id):
                        tx.delete(table, key)
                        removed += 1
            for table, rows in baseline.items():
                for key, entity in rows.items():
                    if _belongs(table, key, entity, org_id):
                        tx.put(table, key, entity)
                        restored += 1
        return {"reset": "org", "orgId": org_id, "removed": removed, "restored": restored}

    # -- whole-state documents ----------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        codec = _codec()
        if not codec_available():
            raise ControlError(501,
                               "snapshots need simulator.persistence.codec, which is not installed")
        return dict(codec.dump_state(self.target))

    def restore(self, document: Any) -> dict[str, Any]:
        codec = _codec()
        if not codec_available():
            raise ControlError(501,
                               "snapshots need simulator.persistence.codec, which is not installed")
        if not isinstance(document, dict):
            raise ControlError(400, "the body must be a state document from /_sim/snapshot")
        try:
            codec.load_state(self.target, document)
        except ApiError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise ControlError(400, f"invalid state document: {exc}") from None
        # The restored document is the new starting point: its org, secret and bootstrap
        # identity are what a later reset() must keep working.
        self.capture_baseline()
        return {"restored": True}

    # -- randomness -----------------------------------------------------------------------
    def seed(self, seed: Any) -> dict[str, Any]:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ControlError(400, "seed must be an integer (or null for true randomness)",
                               details={"field": "seed"})
        self.core.random.reseed(seed)
        self.faults.reseed(seed)
        return {"seed": seed}

    # -- clock ----------------------------------------------------------------------------
    def clock_view(self) -> dict[str, Any]:
        now = self.core.clock.now()
        return {"now": iso8601(now), "epoch": now, "frozen": self.core.clock.is_frozen}

    def clock_command(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ControlError(400, "the body must be a JSON object with an action")
        action = body.get("action")
        if action not in CLOCK_ACTIONS:
            raise ControlError(400, f"action must be one of {', '.join(CLOCK_ACTIONS)}",
                               details={"field": "action"})
        clock = self.core.clock
        if action == "freeze":
            clock.freeze(None if body.get("at") is None else _instant(body["at"]))
        elif action == "unfreeze":
            clock.unfreeze()
        elif action == "set":
            if body.get("at") is None:
                raise ControlError(400, "set needs at (ISO-8601 or epoch seconds)",
                                   details={"field": "at"})
            clock.set(_instant(body["at"]))
        else:
            seconds = body.get("seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                    or not math.isfinite(seconds) or abs(seconds) > MAX_CLOCK_STEP:
                raise ControlError(400, "advance needs seconds (a number, at most 100 years)",
                                   details={"field": "seconds"})
            if not CLOCK_START <= clock.now() + seconds < CLOCK_END:
                raise ControlError(400, "advance would take the clock out of range (1970 to "
                                        "3000)", details={"field": "seconds"})
            clock.advance(float(seconds))
        return self.clock_view()

    # -- outbox ---------------------------------------------------------------------------
    def outbox(self, *, to: str | None = None, kind: str | None = None, org_id: str | None = None,
               user_id: str | None = None) -> list[dict[str, Any]]:
        rows = []
        for m in self.core.outbox(org_id):
            if to is not None and m.to.lower() != to.lower():
                continue
            if (kind is not None and m.kind != kind) or (user_id is not None
                                                         and m.user_id != user_id):
                continue
            rows.append({"id": m.id, "to": m.to, "kind": m.kind, "subject": m.subject,
                         "body": m.body, "code": m.code, "userId": m.user_id, "orgId": m.org_id,
                         "dateSent": iso8601(m.date_sent)})
        return rows

    def clear_outbox(self, **filters: Any) -> int:
        ids = [m["id"] for m in self.outbox(**filters)]
        for message_id in ids:
            self.core.store.delete("outbox", message_id)
        return len(ids)


def _instant(value: Any) -> float:
    if isinstance(value, bool):
        raise ControlError(400, "at must be ISO-8601 or epoch seconds", details={"field": "at"})
    instant: float | None = None
    if isinstance(value, (int, float)):
        instant = float(value)
    elif isinstance(value, str):
        try:
            instant = parse_iso8601(value)
        except (ValueError, OverflowError):
            pass
    if instant is None:
        raise ControlError(400, "at must be ISO-8601 or epoch seconds", details={"field": "at"})
    # NaN fails both comparisons; the window keeps every date the API formats a real one
    if not CLOCK_START <= instant < CLOCK_END:
        raise ControlError(400, "at is out of range (1970 to 3000)", details={"field": "at"})
    return instant
