"""Load shape curves: users and spawn rate at each point of the run (no Locust run needed;
Locust itself is not imported here: its gevent patching must not reach this process)."""

from __future__ import annotations

from load.shape_curves import CURVES, ramp, soak, spike, step


def test_ramp_is_linear_over_the_first_80_percent_then_holds() -> None:
    assert [ramp(f, 20, 1.0)[0] for f in (0.0, 0.2, 0.4, 0.8, 0.99)] == [1, 5, 10, 20, 20]
    assert ramp(0.5, 20, 1.0)[1] == 20.0  # arrivals keep up with the line


def test_step_fills_each_quarter_at_the_spawn_rate() -> None:
    assert [step(f, 20, 1.0)[0] for f in (0.0, 0.3, 0.6, 0.9)] == [5, 10, 15, 20]
    assert {step(f, 20, 1.0)[1] for f in (0.0, 0.3, 0.6, 0.9)} == {1.0}
    assert step(0.3, 20, 7.5)[1] == 7.5


def test_spike_arrives_at_once_in_the_middle_fifth() -> None:
    assert [spike(f, 20, 1.0)[0] for f in (0.1, 0.39, 0.4, 0.59, 0.6)] == [5, 5, 20, 20, 5]
    assert spike(0.5, 20, 1.0)[1] == 80.0


def test_soak_goes_to_peak_at_the_spawn_rate() -> None:
    assert soak(0.0, 20, 2.0) == (20, 2.0) == soak(0.99, 20, 2.0)


def test_every_curve_stays_within_one_and_peak_users() -> None:
    for curve in CURVES.values():
        for peak in (1, 3, 20):
            users = {curve(i / 100, peak, 1.0)[0] for i in range(100)}
            assert min(users) >= 1 and max(users) == peak, curve
