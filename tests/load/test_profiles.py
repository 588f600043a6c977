"""Every load profile stays runnable: short bounded loopback runs with zero failures.

Each run starts its own ``dfns-sim serve`` on a free loopback port and Locust headless for a
few seconds (hard-killed at run-time + 90 s by the runner); reports land in tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from load.runner import run

pytestmark = pytest.mark.slow


def _check(summary: dict, out: Path, *, timing: bool = True) -> None:
    assert summary["exit_code"] == 0, (out / "locust.log").read_text()[-3000:]
    assert summary["failures"] == 0, summary["failure_samples"]
    assert summary["requests"] > 0
    for name in ("locust_report.html", "locust_stats.csv", "summary.json", "summary.md"):
        assert (out / name).exists(), name
    assert (out / "latency.png").stat().st_size > 0
    assert json.loads((out / "summary.json").read_text())["profile"] == summary["profile"]
    if timing:
        names = {row["name"] for row in summary["server_timing_us"]}
        assert any(n.startswith("verify /auth/") for n in names), names
        assert any(n.startswith("app /auth/") for n in names), names


@pytest.mark.parametrize("profile", ["hot-path", "login", "registration", "mixed"])
def test_profile_runs_clean(profile: str, tmp_path: Path) -> None:
    users = 6 if profile in ("hot-path", "mixed") else 3
    summary = run(profile, users=users, run_time="3s", out_dir=str(tmp_path), quiet=True,
                  max_requests=20_000)
    _check(summary, tmp_path)
    if profile == "hot-path":  # one stats row per signing kind
        kinds = {r["name"] for r in summary["http"] if r["name"].startswith("/auth/action (")}
        assert len(kinds) == 6, kinds


def test_shape_spike_with_processes(tmp_path: Path) -> None:
    """Locust --processes 2 (forked generators) with a named shape."""
    summary = run("hot-path-key-p256", users=4, run_time="4s", shape="spike", processes=2,
                  out_dir=str(tmp_path), quiet=True, max_requests=20_000)
    _check(summary, tmp_path)


def test_master_and_workers_on_loopback(tmp_path: Path) -> None:
    """Distributed Locust: one --master and two --worker processes, all on 127.0.0.1."""
    summary = run("hot-path-fido2", users=4, run_time="3s", master_workers=2,
                  out_dir=str(tmp_path), quiet=True, max_requests=20_000)
    _check(summary, tmp_path)


def test_request_budget_stops_the_run(tmp_path: Path) -> None:
    summary = run("login", users=2, run_time="30s", max_requests=150, out_dir=str(tmp_path),
                  quiet=True)
    assert summary["exit_code"] == 0
    assert 150 <= summary["requests"] < 400
    assert summary["wall_seconds"] < 25


@pytest.mark.parametrize("layout", [{"processes": 2}, {"master_workers": 2}],
                         ids=["processes", "master-workers"])
def test_request_budget_with_several_locust_processes(tmp_path: Path, layout: dict) -> None:
    """A worker that spends its budget asks the master to end the run: the final figures of
    every worker are kept (in the summary and in Locust's own CSV) and the run ends early."""
    summary = run("hot-path-key-p256", users=2, run_time="30s", max_requests=100,
                  out_dir=str(tmp_path), quiet=True, **layout)
    assert summary["exit_code"] == 0
    assert 100 <= summary["requests"] < 1000
    assert summary["wall_seconds"] < 25
    csv_rows = (tmp_path / "locust_stats.csv").read_text().splitlines()
    aggregated = next(line for line in csv_rows if line.startswith(",Aggregated,"))
    assert int(aggregated.split(",")[2]) == summary["requests"]
