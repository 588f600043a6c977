"""An injectable clock: every lifetime in the simulator (challenges, codes, tokens) reads it.

Tests freeze, set or advance it instead of sleeping.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any


class Clock:
    """Wall clock with an optional frozen instant and an offset, both settable at run time.

    ``changing`` wraps every change: by default nothing; when several processes share one
    store (``serve --workers``), :class:`simulator.admin.shared.SharedControl` installs one that
    applies the shared state first and publishes the result, so every process agrees.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: float | None = None
        self._offset = 0.0
        self.changing: Callable[[], AbstractContextManager[Any]] = nullcontext

    def now(self) -> float:
        frozen = self._frozen
        if frozen is not None:
            return frozen
        return time.time() + self._offset

    def freeze(self, at: float | None = None) -> None:
        with self.changing(), self._lock:
            self._frozen = self.now() if at is None else float(at)

    def unfreeze(self) -> None:
        with self.changing(), self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - time.time()
            self._frozen = None

    def set(self, at: float) -> None:
        with self.changing(), self._lock:
            if self._frozen is not None:
                self._frozen = float(at)
            else:
                self._offset = float(at) - time.time()

    def advance(self, seconds: float) -> None:
        with self.changing(), self._lock:
            if self._frozen is not None:
                self._frozen += float(seconds)
            else:
                self._offset += float(seconds)

    @property
    def is_frozen(self) -> bool:
        return self._frozen is not None

    def state(self) -> dict[str, float | None]:
        """What another process needs to read the same time: the frozen instant or the offset
        from its own wall clock."""
        return {"frozen": self._frozen, "offset": self._offset}

    def load_state(self, state: dict[str, Any]) -> None:
        raw = state.get("frozen")
        frozen = None if raw is None else float(raw)
        offset = float(state.get("offset") or 0.0)  # both read first: all or nothing
        with self._lock:
            self._frozen, self._offset = frozen, offset

    def iso(self, at: float | None = None) -> str:
        return iso8601(self.now() if at is None else at)


def _iso_seconds(whole: int) -> str:
    return datetime.fromtimestamp(whole, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")


_ISO_SECONDS: dict[int, str] = {}  # whole second -> "YYYY-MM-DDTHH:MM:SS." (now, expiries, ...)


def iso8601(epoch: float) -> str:
    """ISO-8601 with milliseconds and ``Z``, the format every Dfns date uses.

    Same digits as ``datetime.fromtimestamp(epoch, utc)`` (its half-even rounding to whole
    microseconds, then milliseconds truncated); the date-and-seconds part is formatted once
    per second and kept (several dates per request, strftime was visible in profiles).
    """
    fraction, whole = math.modf(epoch)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        micros -= 1_000_000
        whole += 1.0
    elif micros < 0:
        micros += 1_000_000
        whole -= 1.0
    second = int(whole)
    prefix = _ISO_SECONDS.get(second)
    if prefix is None:
        if len(_ISO_SECONDS) >= 512:
            _ISO_SECONDS.clear()
        prefix = _ISO_SECONDS[second] = _iso_seconds(second)
    return f"{prefix}{micros // 1000:03d}Z"


def parse_iso8601(text: str) -> float:
    """Parse an ISO-8601 instant (``Z`` or offset); raises ValueError."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
