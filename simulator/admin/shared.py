"""One clock and one set of faults for several simulator processes sharing a store.

Under ``dfns-sim serve --workers N`` (or several hosts on one Redis) each process has its own
:class:`~simulator.clock.Clock` and :class:`~simulator.admin.faults.FaultRegistry`. Without this
module, ``POST /_sim/clock`` or ``POST /_sim/faults`` would change only the worker that happened
to answer, and an expiry test would pass or fail by which worker took the next request.

The shared copy is one JSON document in the store's meta table (``control``), with a version:

- every change (clock command, fault added or removed, a fault firing) runs inside the store's
  transaction: read the document, apply it here, make the change, write it back with the next
  version; so no change is lost and a rule with ``times: N`` fires N times in all, not per worker;
- every request first calls :meth:`SharedControl.sync`, which re-reads the document at most once
  per ``interval`` (one small read, not one per request);
- the admin API waits ``settle_seconds`` (a little more than ``interval``) before answering a
  change, so any request sent after that answer finds every worker already past its next sync.

A restore (``/_sim/restore``) changes more than the tables every process reads anyway: the
JWT secret, the default org and the bootstrap identity live in each process's memory, and the
state a reset returns to (the baseline) changes too. So the document also carries a state
``generation``: a restore bumps it and keeps the baseline in the store (``BASELINE_KEY``); a
process that finds a new generation at its next sync calls ``on_new_generation`` (the control
plane reloads the secret, org and bootstrap from the store).

``/_sim/seed`` stays per process; the request journals of the workers on one machine are read
as one through :mod:`simulator.admin.journal_peers`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from simulator.admin.faults import FaultRegistry
from simulator.clock import Clock

META_KEY = "control"
BASELINE_KEY = "baseline"  # the encoded tables a reset returns to (Control.capture_baseline)
log = logging.getLogger("dfns_sim.admin")


class MetaStore(Protocol):
    """What a shared store offers for documents outside its tables (SqliteStore, RedisStore)."""

    def transaction(self) -> Any: ...
    def read_meta(self, name: str) -> Any | None: ...
    def write_meta(self, name: str, value: Any) -> None: ...


class SharedControl:
    def __init__(self, store: MetaStore, clock: Clock, faults: FaultRegistry, *,
                 interval: float = 0.02) -> None:
        self.store = store
        self.clock = clock
        self.faults = faults
        self.interval = interval
        self.settle_seconds = interval * 1.5 + 0.005
        self._version: int | None = None
        self.generation = 0
        self.on_new_generation: Callable[[], None] | None = None
        self._next_sync = 0.0
        self._lock = threading.RLock()
        self._depth = 0
        clock.changing = self.changing
        faults.changing = self.changing

    def _state(self) -> dict[str, Any]:
        return {"clock": self.clock.state(), "faults": self.faults.state(),
                "generation": self.generation}

    def new_generation(self) -> None:
        """Mark the shared state as replaced (call inside :meth:`changing`)."""
        self.generation += 1

    def _apply(self, document: Any) -> None:
        if not isinstance(document, dict) or document.get("version") == self._version:
            return
        try:
            clock, faults = document.get("clock") or {}, document.get("faults") or {}
            self.clock.load_state(clock)
            self.faults.load_state(faults)
        except Exception:  # noqa: BLE001 - not ours (edited by hand?): keep the last good state
            log.exception("unreadable shared clock/faults (version %r); keeping the last ones",
                          document.get("version"))
        self._version = document.get("version")  # read once; the next change overwrites it
        generation = document.get("generation", 0)
        if generation != self.generation:
            self.generation = generation if isinstance(generation, int) else 0
            if self.on_new_generation is not None:
                try:
                    self.on_new_generation()
                except Exception:  # noqa: BLE001 - a request must not fail for the control plane
                    log.exception("could not take over the restored state (generation %r)",
                                  generation)

    def sync(self) -> None:
        """Catch up with the shared copy if ``interval`` has passed since the last look."""
        now = time.monotonic()
        if now < self._next_sync:
            return
        self._next_sync = now + self.interval
        try:
            document = self.store.read_meta(META_KEY)
        except Exception:  # noqa: BLE001 - a request must not fail for the control plane
            log.exception("could not read the shared clock and faults; keeping the last ones")
            return
        if isinstance(document, dict) and document.get("version") != self._version:
            with self._lock:
                self._apply(document)

    @contextmanager
    def changing(self) -> Iterator[None]:
        """Make a change on the latest shared state and publish it (nested: one publication)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            with self.store.transaction():
                document = self.store.read_meta(META_KEY)
                self._apply(document)
                before = self._state()
                self._depth = 1
                try:
                    yield
                except BaseException:
                    self._version = None  # the local copy may be half-changed: re-read it
                    raise
                finally:
                    self._depth = 0
                after = self._state()
                if after != before:
                    self._publish(document, after)

    def publish_fresh(self) -> None:
        """Replace the shared copy with this process's state (a server starting afresh: a
        clock offset or faults left in a persistent store by an earlier run do not return)."""
        with self._lock, self.store.transaction():
            self._publish(self.store.read_meta(META_KEY), self._state())

    def _publish(self, previous: Any, state: dict[str, Any]) -> None:
        """Write ``state`` as the version after ``previous`` (inside the store transaction)."""
        version = previous.get("version", 0) if isinstance(previous, dict) else 0
        self._version = int(version) + 1
        self.store.write_meta(META_KEY, {"version": self._version, **state})
