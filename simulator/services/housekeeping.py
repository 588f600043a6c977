"""Dropping single-use records no answer can depend on any more, so long runs grow slower.

Every hot-path flow leaves a challenge, a user-action record and (for the demo protected call)
a credential code behind; with its audit entry, ~5 KB a flow in memory (tracemalloc). A soak
test at 1,000 flows/s would otherwise grow the simulator by gigabytes an hour.

A record is dropped once it expired ``retention`` seconds ago, both on the simulated clock and
on the wall clock. Once expired, a record changes no answer:
- an expired challenge answers ``400 Challenge token is not valid.`` (a temporary token, 401),
  exactly as a missing one does;
- an expired user-action token answers ``403``, exactly as a missing one does;
- an expired login, recovery or credential code answers ``403 Invalid code``, as a missing one
  does (registration codes are never tracked: an expired one answers "Registration code
  expired");
- the JWT naming either one has the same expiry and is refused before the store is asked.

Requiring both clocks keeps clock travel safe: advancing the simulated clock by days drops
nothing, and a record dropped after the wall-clock horizon cannot come back when a test later
sets the simulated clock back, unless it goes back by more than ``retention``. The audit log
has its own bound (``audit_max_entries``, services/audit.py): it is data users query.

Records are tracked in a heap when this process creates them, so a sweep costs only what it
removes. After a restart on a persistent store, older records are simply kept. Under
``--workers``, each worker sweeps what it created.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.services.core import Core

# table -> the rules that must be on for "expired" to answer like "missing" (TEST-ONLY
# policies switch rules off; an expired record may then still answer)
SWEPT_TABLES = {"challenges": ("challenge.expiry",), "user_actions": ("ua.expiry",),
                "codes": ("code.expiry", "code.known")}


class Housekeeper:
    def __init__(self, core: Core, *, every: float = 1.0, batch: int = 5000,
                 wall: Callable[[], float] = time.time) -> None:
        self.core = core
        self.every = every
        self.batch = batch
        self.wall = wall
        self._due: list[tuple[float, str, str]] = []  # (expires_at, table, key)
        self._lock = threading.Lock()
        self._next = time.monotonic() + every
        self.dropped = 0

    @property
    def retention(self) -> float | None:
        return self.core.config.expired_retention

    def track(self, table: str, key: str, expires_at: float) -> None:
        """Remember a record this process created (no-op when retention is off)."""
        if self.retention is not None:
            with self._lock:
                heapq.heappush(self._due, (expires_at, table, key))

    def maybe_sweep(self) -> None:
        """Sweep at most once per ``every`` seconds (called after each request)."""
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.every
            self.sweep()

    def sweep(self) -> int:
        """Drop up to ``batch`` records past the horizon; how many were dropped."""
        retention = self.retention
        if retention is None or not self._due:
            return 0
        horizon = min(self.core.now(), self.wall()) - retention
        with self._lock:
            due: list[tuple[str, str]] = []
            while self._due and self._due[0][0] <= horizon and len(due) < self.batch:
                _, table, key = heapq.heappop(self._due)
                due.append((table, key))
        if not due:
            return 0
        policy = self.core.config.policy
        dropped = 0
        with self.core.store.transaction() as tx:
            for table, key in due:
                record = tx.get(table, key)
                # Kept when a TEST-ONLY policy switched the expiry rule off (an expired record
                # then still answers), or when it is no longer the record we tracked.
                if record is None or not all(policy.on(rule) for rule in SWEPT_TABLES[table]) \
                        or getattr(record, "expires_at", horizon + 1) > horizon:
                    continue
                tx.delete(table, key)
                dropped += 1
        self.dropped += dropped
        return dropped
