"""Ctrl-C on ``dfns-sim load``: Locust and the server stop with the run, a partial report is kept.

A real ``dfns-sim load`` runs in a subprocess in its own session (as a terminal job); once Locust
is recording requests, SIGINT goes to that process group, as a terminal's Ctrl-C would. Locust
and the server run in sessions of their own, so they only stop if the runner stops them.
Bounded: the run-time is 60 s, SIGINT cuts it to a few seconds, every wait has a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from load import report, runner

pytestmark = pytest.mark.slow


def _descendants(pid: int) -> set[int]:
    """Every live process under ``pid`` (Linux /proc), Locust's forked workers included."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                children = Path(f"/proc/{parent}/task/{task}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie runs nothing


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _wait_for_requests(out: Path, proc: subprocess.Popen, timeout: float = 45) -> None:
    """Until Locust's stats history holds a row with requests (it writes one a second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"dfns-sim load exited early ({proc.returncode})"
        history = out / "locust_stats_history.csv"
        rows = report._rows(history) if history.exists() else []
        if any(report._num(r.get("Total Request Count")) > 0 for r in rows):
            return
        time.sleep(0.2)
    raise AssertionError("Locust recorded no request in time")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize(("layout", "signum"), [
    ([], signal.SIGINT), (["--processes", "2"], signal.SIGINT),
    ([], signal.SIGHUP),  # the terminal closed
], ids=["one-process", "processes", "hangup"])
def test_ctrl_c_stops_locust_and_the_server_and_keeps_a_partial_report(
        tmp_path: Path, layout: list[str], signum: signal.Signals) -> None:
    out = tmp_path / "report"
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "load", "hot-path-key-p256", "--users", "2",
         "--run-time", "60s", "--out", str(out), *layout],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen: set[int] = set()
    try:
        _wait_for_requests(out, proc)
        seen = _descendants(proc.pid)
        assert any("locust" in _cmdline(pid) for pid in seen), seen
        assert any("serve" in _cmdline(pid) for pid in seen), seen
        base_url = json.loads((out / "bootstrap.json").read_text())["baseUrl"]
        os.killpg(proc.pid, signum)  # Ctrl-C / hang-up: the terminal signals the job's group
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # the test failed: leave nothing behind either
            seen |= _descendants(proc.pid)
            proc.kill()
            proc.wait()
        for pid in seen:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)

    assert proc.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr, stderr
    verb = "interrupted" if signum == signal.SIGINT else "terminated"
    assert stderr.strip().splitlines()[-1] == f"dfns-sim: {verb}; partial report in {out}"
    left = [f"{pid} {_cmdline(pid)}" for pid in seen if _running(pid)]
    assert not left, left  # Locust (and its forked workers) and the server are gone
    with pytest.raises(httpx.TransportError):
        httpx.get(base_url + "/auth/login/init", timeout=2)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] == signum.name
    assert summary["requests"] > 0
    assert f"Interrupted ({signum.name})" in (out / "summary.md").read_text()
    assert (out / "locust_report.html").exists()  # Locust wrote its own report as it quit


def test_an_error_before_locust_starts_stops_the_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any exception, not only Ctrl-C: what the run started is stopped before it propagates."""
    servers: list[subprocess.Popen] = []
    start_server = runner.start_server

    def failing_port() -> int:
        raise RuntimeError("no port for Locust")

    def recording_start_server(out: Path, **kwargs: int) -> tuple[subprocess.Popen, dict]:
        server, boot = start_server(out, **kwargs)
        servers.append(server)
        monkeypatch.setattr(runner, "free_port", failing_port)  # Locust's port fails next
        return server, boot

    monkeypatch.setattr(runner, "start_server", recording_start_server)
    with pytest.raises(RuntimeError, match="no port for Locust"):
        runner.run("hot-path-key-p256", users=1, run_time="5s", out_dir=str(tmp_path), quiet=True)
    assert len(servers) == 1
    assert servers[0].poll() is not None
    with pytest.raises(ProcessLookupError):  # nothing is left in the server's process group
        os.killpg(servers[0].pid, 0)


def test_a_run_past_its_wall_clock_bound_is_stopped_with_its_reports(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hard bound: Locust still running when it passes gets the Ctrl-C first, so its HTML,
    CSV and final stats are written before the kill (exit code -9 in the summary)."""
    monkeypatch.setattr(runner, "HARD_BOUND_MARGIN", -50)  # a 60 s run stopped after ~10 s
    started = time.monotonic()
    summary = runner.run("hot-path-key-p256", users=1, run_time="60s", out_dir=str(tmp_path),
                         quiet=True)
    assert time.monotonic() - started < 40
    assert summary["exit_code"] == -9
    assert summary["requests"] > 0 and summary["failures"] == 0
    for name in ("locust_report.html", "locust_stats.csv", "final_stats.json", "summary.md"):
        assert (tmp_path / name).stat().st_size > 0, name
