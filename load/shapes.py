"""Load shapes (Locust ``LoadTestShape``), selected by name with ``DFNS_LOAD_SHAPE``.

Every shape scales to the run's own options, so one name fits any size of run:
``--users`` is the peak, ``--spawn-rate`` the ramp speed, ``--run-time`` the whole duration
(required: a shape never runs unbounded; it returns ``None`` — stop — at the end).

- ``ramp``:  0 → peak linearly over the first 80 % of the run, hold to the end.
- ``step``:  four equal steps of peak/4 users, each held a quarter of the run.
- ``spike``: a quarter of peak, a sudden spike to peak in the middle fifth, back to a quarter.
- ``soak``:  straight to peak (at spawn-rate) and held for the whole run — for long runs.

The profiles pick the shape up themselves (``DFNS_LOAD_SHAPE=spike locust -f ...``);
``dfns-sim load PROFILE --shape spike`` sets it for you.
"""

from __future__ import annotations

import math
import os
from typing import Any

from locust import LoadTestShape

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


class RampShape(_Shape):
    abstract = True

    def at(self, fraction: float, peak: int, rate: float) -> tuple[int, float]:
        return max(1, math.ceil(peak * min(1.0, fraction / 0.8))), max(rate, float(peak))


class StepShape(_Shape):
    abstract = True

    def at(self, fraction: float, peak: int, rate: float) -> tuple[int, float]:
        step = min(3, int(fraction * 4)) + 1
        return max(1, math.ceil(peak * step / 4)), max(rate, float(peak))


class SpikeShape(_Shape):
    abstract = True

    def at(self, fraction: float, peak: int, rate: float) -> tuple[int, float]:
        base = max(1, peak // 4)
        if 0.4 <= fraction < 0.6:
            return peak, max(rate, float(peak) * 4)  # the spike arrives all at once
        return base, max(rate, float(peak) * 4)


class SoakShape(_Shape):
    abstract = True

    def at(self, fraction: float, peak: int, rate: float) -> tuple[int, float]:
        return peak, rate


SHAPES: dict[str, type[_Shape]] = {
    "ramp": RampShape, "step": StepShape, "spike": SpikeShape, "soak": SoakShape,
}


def from_env() -> type[LoadTestShape] | None:
    """A concrete shape class for ``$DFNS_LOAD_SHAPE`` (``None`` when unset)."""
    name = os.environ.get(SHAPE_ENV, "").strip().lower()
    if not name:
        return None
    if name not in SHAPES:
        raise SystemExit(f"unknown load shape {name!r}; choose one of {', '.join(SHAPES)}")
    return type(f"{name.capitalize()}LoadShape", (SHAPES[name],), {"abstract": False})
