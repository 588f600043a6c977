"""Load shapes (Locust ``LoadTestShape``), selected by name with ``DFNS_LOAD_SHAPE``.

Every shape scales to the run's own options, so one name fits any size of run:
``--users`` is the peak, ``--run-time`` the whole duration (required: a shape never runs
unbounded; it returns ``None`` — stop — at the end), ``--spawn-rate`` how fast users arrive
where the shape leaves it open.

The curves themselves, and what each does with ``--spawn-rate``: load/shape_curves.py
(ramp, step, spike, soak).

The profiles pick the shape up themselves (``DFNS_LOAD_SHAPE=spike locust -f ...``);
``dfns-sim load PROFILE --shape spike`` sets it for you.
"""

from __future__ import annotations

import os
from typing import Any

from locust import LoadTestShape

from load.shape_curves import CURVES, Curve

SHAPE_ENV = "DFNS_LOAD_SHAPE"


class _Shape(LoadTestShape):
    abstract = True
    use_common_options = True  # --users / --spawn-rate / --run-time reach the shape

    def _options(self) -> tuple[int, float, float]:
        options: Any = self.runner.environment.parsed_options if self.runner else None
        users = int(getattr(options, "num_users", None) or 10)
        rate = float(getattr(options, "spawn_rate", None) or max(1.0, users / 2))
        duration = float(getattr(options, "run_time", None) or 0)
        if duration <= 0:
            raise ValueError("load shapes need --run-time (every load run is bounded)")
        return users, rate, duration

    def tick(self) -> tuple[int, float] | None:
        users, rate, duration = self._options()
        elapsed = self.get_run_time()
        if elapsed >= duration:
            return None
        return self.at(elapsed / duration, users, rate)

    def at(self, fraction: float, peak: int, rate: float) -> tuple[int, float]:
        raise NotImplementedError


def _shape(curve: Curve) -> type[_Shape]:
    class Shape(_Shape):
        abstract = True

        def at(self, fraction: float, peak: int, rate: float) -> tuple[int, float]:
            return curve(fraction, peak, rate)

    return Shape


SHAPES: dict[str, type[_Shape]] = {name: _shape(curve) for name, curve in CURVES.items()}


def from_env() -> type[LoadTestShape] | None:
    """A concrete shape class for ``$DFNS_LOAD_SHAPE`` (``None`` when unset)."""
    name = os.environ.get(SHAPE_ENV, "").strip().lower()
    if not name:
        return None
    if name not in SHAPES:
        raise SystemExit(f"unknown load shape {name!r}; choose one of {', '.join(SHAPES)}")
    return type(f"{name.capitalize()}LoadShape", (SHAPES[name],), {"abstract": False})
