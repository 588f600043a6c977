"""The load shapes as plain functions: ``(fraction of the run, peak users, --spawn-rate)`` →
``(users, spawn rate)``. Kept apart from Locust (load/shapes.py wraps them in
``LoadTestShape`` classes) so they can be reasoned about and tested without importing it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

Curve = Callable[[float, int, float], tuple[int, float]]


def ramp(fraction: float, peak: int, rate: float) -> tuple[int, float]:
    """0 → peak linearly over the first 80 %, then held; users arrive as fast as the line
    needs (the run time sets the slope, not --spawn-rate)."""
    return max(1, math.ceil(peak * min(1.0, fraction / 0.8))), max(rate, float(peak))


def step(fraction: float, peak: int, rate: float) -> tuple[int, float]:
    """Four equal steps of peak/4, each a quarter of the run; each step fills at --spawn-rate."""
    quarter = min(3, int(fraction * 4)) + 1
    return max(1, math.ceil(peak * quarter / 4)), rate


def spike(fraction: float, peak: int, rate: float) -> tuple[int, float]:
    """A quarter of peak; all of peak at once in the middle fifth; back to a quarter."""
    arrival = max(rate, float(peak) * 4)  # the spike arrives at once, whatever --spawn-rate
    if 0.4 <= fraction < 0.6:
        return peak, arrival
    return max(1, peak // 4), arrival


def soak(fraction: float, peak: int, rate: float) -> tuple[int, float]:
    """Straight to peak at --spawn-rate, held for the whole run."""
    return peak, rate


CURVES: dict[str, Curve] = {"ramp": ramp, "step": step, "spike": spike, "soak": soak}
