"""Scheduled failures (WireMock-style): rules matched by method and path, fired by chance or
for the next N matches.

A rule adds latency and then, depending on its ``action``, lets the request through
(``latency``), answers a given status in the Dfns error envelope (``error``), answers 429 with
``Retry-After`` (``rate_limit``) or drops the connection without any response (``drop``).
Only the skin (:mod:`simulator.admin.middleware`) applies them; services never see faults.
"""

from __future__ import annotations

import fnmatch
import math
import random
import re
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

ACTIONS = ("latency", "error", "rate_limit", "drop")
HTTP_METHODS = ("*", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MAX_LATENCY_MS = 60_000


class FaultSpecError(ValueError):
    """An invalid rule; the admin API renders it as a 400 naming the field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True, kw_only=True)
class FaultRule:
    id: str
    action: str
    method: str = "*"
    path: str = "*"  # glob (fnmatch) over the request path
    path_regex: str | None = None  # if set, re.search over the path instead of the glob
    probability: float = 1.0
    times: int | None = None  # fire for the next N matches only; None = unlimited
    latency_ms: float = 0.0
    status: int = 500
    message: str = "Internal Server Error"
    retry_after: int = 1
    fired: int = 0  # how many times the rule has applied
    _compiled: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(self.times - self.fired, 0)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and self.method != method.upper():
            return False
        if self._compiled is not None:
            return self._compiled.search(path) is not None
        return fnmatch.fnmatchcase(path, self.path)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id, "action": self.action, "method": self.method, "path": self.path,
            "pathRegex": self.path_regex, "probability": self.probability, "times": self.times,
            "remaining": self.remaining, "fired": self.fired, "latencyMs": self.latency_ms,
            "status": self.status, "message": self.message, "retryAfter": self.retry_after,
            "active": not self.exhausted,
        }


def _number(value: Any, name: str, *, low: float, high: float, integer: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FaultSpecError(name, f"{name} must be a number")
    if not math.isfinite(value):  # JSON as Python reads it allows NaN and Infinity
        raise FaultSpecError(name, f"{name} must be a finite number")
    if integer and int(value) != value:
        raise FaultSpecError(name, f"{name} must be an integer")
    if not low <= value <= high:
        raise FaultSpecError(name, f"{name} must be between {low:g} and {high:g}")
    return int(value) if integer else float(value)


def build_rule(rule_id: str, *, action: str | None = None, method: str = "*", path: str = "*",
               path_regex: str | None = None, probability: float = 1.0, times: int | None = None,
               latency_ms: float = 0.0, status: int | None = None, message: str | None = None,
               retry_after: int = 1) -> FaultRule:
    """Validate one rule. ``action`` defaults from the other fields (status → error...)."""
    if action is None:
        action = "error" if status is not None else ("latency" if latency_ms else "")
    if action not in ACTIONS:
        raise FaultSpecError("action", f"action must be one of {', '.join(ACTIONS)}")
    if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
        raise FaultSpecError("method", f"method must be one of {', '.join(HTTP_METHODS)}")
    if not isinstance(path, str) or not path:
        raise FaultSpecError("path", "path must be a non-empty glob such as /auth/login*")
    if path.startswith("/_sim"):
        raise FaultSpecError("path", "faults never apply to the admin API (/_sim/)")
    compiled = None
    if path_regex is not None:
        if not isinstance(path_regex, str):
            raise FaultSpecError("pathRegex", "pathRegex must be a string")
        try:
            compiled = re.compile(path_regex)
        except re.error as exc:
            raise FaultSpecError("pathRegex",
                                 f"pathRegex is not a valid regular expression: {exc}") from None
    probability = _number(probability, "probability", low=0.0, high=1.0)
    if times is not None:
        times = _number(times, "times", low=1, high=1_000_000, integer=True)
    latency_ms = _number(latency_ms, "latencyMs", low=0, high=MAX_LATENCY_MS)
    if action == "rate_limit":
        status = 429
        message = message or "Too Many Requests"
    if status is None:
        status = 500
    status = _number(status, "status", low=400, high=599, integer=True)
    retry_after = _number(retry_after, "retryAfter", low=0, high=86_400, integer=True)
    if message is not None and not isinstance(message, str):
        raise FaultSpecError("message", "message must be a string")
    return FaultRule(id=rule_id, action=action, method=method.upper(), path=path,
                     path_regex=path_regex, probability=probability, times=times,
                     latency_ms=latency_ms, status=status,
                     message=message or _default_message(status), retry_after=retry_after,
                     _compiled=compiled)


def _default_message(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Simulated failure"


# Admin-API JSON names → build_rule keywords.
WIRE_NAMES = {"action": "action", "method": "method", "path": "path", "pathRegex": "path_regex",
              "probability": "probability", "times": "times", "latencyMs": "latency_ms",
              "status": "status", "message": "message", "retryAfter": "retry_after"}


def _rule_state(rule: FaultRule) -> dict[str, Any]:
    """A rule as plain JSON (wire names, plus ``id`` and ``fired``), for :meth:`load_state`."""
    view = rule.view()
    return {"id": rule.id, "fired": rule.fired,
            **{wire: view[wire] for wire in WIRE_NAMES}}


class FaultRegistry:
    """The rules of one simulator; thread-safe, seedable for reproducible probabilistic runs.

    ``changing`` wraps every change (adding, removing, a rule firing): by default nothing;
    with a store shared by several processes, :class:`simulator.admin.shared.SharedControl`
    installs one that applies the shared rules first and publishes the result, so a rule added
    on one worker applies on all and ``times`` counts firings across all of them.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._counter = 0
        self._rng = random.Random(seed)
        self.changing: Callable[[], AbstractContextManager[Any]] = nullcontext

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"counter": self._counter, "rules": [_rule_state(r) for r in self._rules]}

    def load_state(self, state: dict[str, Any]) -> None:
        rules = []
        for item in state.get("rules", ()):
            options = {WIRE_NAMES[k]: v for k, v in item.items() if k in WIRE_NAMES}
            rule = build_rule(str(item["id"]), **options)
            rules.append(replace(rule, fired=int(item.get("fired", 0))))
        with self._lock:
            self._rules = rules
            self._counter = int(state.get("counter", 0))

    def reseed(self, seed: int | None) -> None:
        with self._lock:
            self._rng = random.Random(seed)

    def add(self, action: str | None = None, *, method: str = "*", path: str = "*",
            path_regex: str | None = None, probability: float = 1.0, times: int | None = None,
            latency_ms: float = 0.0, status: int | None = None, message: str | None = None,
            retry_after: int = 1) -> dict[str, Any]:
        """Schedule a fault; returns its view (with ``id`` for :meth:`remove`)."""
        with self.changing(), self._lock:
            self._counter += 1
            rule = build_rule(f"fault-{self._counter}", action=action, method=method, path=path,
                              path_regex=path_regex, probability=probability, times=times,
                              latency_ms=latency_ms, status=status, message=message,
                              retry_after=retry_after)
            self._rules.append(rule)
            return rule.view()

    def add_wire(self, body: Any) -> dict[str, Any]:
        """Add from an admin-API JSON body (camelCase names)."""
        if not isinstance(body, dict):
            raise FaultSpecError("body", "the body must be a JSON object describing one fault")
        unknown = sorted(set(body) - set(WIRE_NAMES))
        if unknown:
            raise FaultSpecError(unknown[0],
                                 f"unknown field {unknown[0]!r}; expected {', '.join(WIRE_NAMES)}")
        return self.add(**{WIRE_NAMES[k]: v for k, v in body.items()})

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.view() for rule in self._rules]

    def remove(self, rule_id: str) -> bool:
        with self.changing(), self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self.changing(), self._lock:
            self._rules = []

    def __len__(self) -> int:
        return len(self._rules)

    def pick(self, method: str, path: str) -> FaultRule | None:
        """The first active rule matching this request that fires (its count is consumed)."""
        if not self._rules:
            return None
        with self._lock:
            chosen = self._roll(method, path)
        if chosen is None:
            return None
        # Only a request a rule fires for pays for the change (with a shared store: its
        # transaction), and the rule may have been used up elsewhere meanwhile.
        with self.changing(), self._lock:
            for index, rule in enumerate(self._rules):
                if rule.id == chosen and not rule.exhausted:
                    fired = replace(rule, fired=rule.fired + 1)
                    self._rules[index] = fired
                    return fired
        return None

    def _roll(self, method: str, path: str) -> str | None:
        for rule in self._rules:
            if rule.exhausted or not rule.matches(method, path):
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            return rule.id
        return None
