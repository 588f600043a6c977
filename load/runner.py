"""``dfns-sim load PROFILE``: serve on loopback, run a Locust profile headless, write reports.

Steps: pick a free loopback port → start ``dfns-sim serve --bootstrap-out`` as a child process
→ run Locust headless (``--processes N`` or an explicit master + N ``--worker`` processes, all
on 127.0.0.1) → Locust's HTML and CSV, plus ``summary.json``, ``summary.md`` and
``latency.png`` (or ``latency.svg`` without matplotlib) in ``reports/load/<profile>/``.

Every run is bounded: ``--run-time`` (Locust stops), ``--max-requests`` per Locust process
(the profiles quit), and a hard wall-clock kill at run-time + 90 s. Only loopback is targeted.

Ctrl-C (SIGINT) or SIGTERM ends a run the way Ctrl-C ends Locust's own: Locust gets SIGINT (it
stops its users, writes its HTML and CSV), the server is stopped, a summary marked interrupted
is written from what Locust produced, and ``run`` raises ``Interrupted`` (exit status 130/143
for ``dfns-sim load``). No exit path leaves Locust or the server running.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

import httpx

from load.common import BOOTSTRAP_ENV, FINAL_STATS_ENV, MAX_REQUESTS_ENV, SERVER_TIMING

PROFILES_DIR = Path(__file__).parent / "profiles"


@dataclass(frozen=True)
class Profile:
    file: str
    classes: tuple[str, ...] = ()  # empty: every user class in the file
    description: str = ""

    @property
    def path(self) -> str:
        return str(PROFILES_DIR / self.file)


HOT = "hot_path.py"
PROFILES: dict[str, Profile] = {
    "hot-path": Profile(HOT, (), "user-action signing, every signing kind"),
    "hot-path-key-p256": Profile(HOT, ("HotPathKeyP256",), "user-action signing, Key P-256"),
    "hot-path-key-ed25519": Profile(HOT, ("HotPathKeyEd25519",),
                                    "user-action signing, Key Ed25519"),
    "hot-path-key-secp256k1": Profile(HOT, ("HotPathKeySecp256k1",),
                                      "user-action signing, Key secp256k1"),
    "hot-path-key-rsa2048": Profile(HOT, ("HotPathKeyRsa2048",),
                                    "user-action signing, Key RSA-2048"),
    "hot-path-password-protected-key": Profile(HOT, ("HotPathPasswordProtectedKey",),
                                               "user-action signing, PasswordProtectedKey"),
    "hot-path-fido2": Profile(HOT, ("HotPathFido2",), "user-action signing, passkey (ES256)"),
    "login": Profile("login.py", (), "login init → sign → complete (Key, Fido2)"),
    "registration": Profile("registration.py", (), "delegated registration per kind"),
    "mixed": Profile("mixed.py", (), "80 % actions, 15 % logins, 5 % registrations"),
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(out: Path, *, server_workers: int = 1, timeout: float = 30.0
                 ) -> tuple[subprocess.Popen, dict[str, Any]]:
    port = free_port()
    boot_file = out / "bootstrap.json"
    boot_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "simulator.cli", "serve", "--host", "127.0.0.1", "--port",
           str(port), "--bootstrap-out", str(boot_file)]
    if server_workers > 1:
        cmd += ["--workers", str(server_workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(out / "serve.log", "wb"),
                            start_new_session=True)
    try:
        return proc, _wait_ready(proc, out, port, timeout)
    except BaseException:  # not ready, or Ctrl-C meanwhile: the caller never gets the process
        stop(proc)
        raise


def _wait_ready(proc: subprocess.Popen, out: Path, port: int, timeout: float) -> dict[str, Any]:
    boot_file = out / "bootstrap.json"
    deadline = time.monotonic() + timeout
    base = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dfns-sim serve exited ({proc.returncode}); "
                               f"see {out / 'serve.log'}")
        if boot_file.exists():
            try:
                httpx.get(base + "/auth/login/init", timeout=1)  # any answer means it listens
                return dict(json.loads(boot_file.read_text()))
            except (httpx.HTTPError, ValueError):
                pass
        time.sleep(0.1)
    raise RuntimeError("dfns-sim serve did not become ready")


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def parse_seconds(text: str) -> int:
    """Locust's run-time syntax: ``20s``, ``2m``, ``1h30m``, or plain seconds."""
    total, number = 0, ""
    for ch in text.strip():
        if ch.isdigit():
            number += ch
        elif ch in "hms" and number:
            total += int(number) * {"h": 3600, "m": 60, "s": 1}[ch]
            number = ""
        else:
            raise ValueError(f"bad run time {text!r}")
    return total + (int(number) if number else 0)


class Interrupted(KeyboardInterrupt):
    """A run ended by SIGINT (Ctrl-C) or SIGTERM, raised once Locust and the server are stopped.

    ``summary`` is the partial report written from what Locust produced, None when the run was
    stopped before Locust started; ``exit_code`` is what a shell reports for the signal."""

    def __init__(self, signum: int, out: Path, summary: dict[str, Any] | None) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum, self.out, self.summary = signum, out, summary

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _Stopped(KeyboardInterrupt):
    """A stop signal inside a run (a KeyboardInterrupt, so that nothing on the way swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass
class _Processes:
    """What a run has started so far: the cleanup stops it whichever way the run ends."""

    server: subprocess.Popen | None = None
    locust: list[subprocess.Popen] = field(default_factory=list)  # master (or only) first


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Locust answering SIGINT stops its users (--stop-timeout 3) and writes its HTML and CSV.
LOCUST_QUIT_GRACE = 20.0


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    raise _Stopped(signum)


@contextmanager
def _stop_signals(handler: Callable[[int, FrameType | None], Any]) -> Iterator[None]:
    """SIGINT and SIGTERM go to ``handler`` for the block. Only the main thread can set
    handlers; a signal ignored by whoever started us (``nohup``, a script's background job)
    stays ignored. SIGTERM's default would kill this process and orphan Locust and the
    server, which run in sessions of their own."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS
                if signal.getsignal(signum) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)


def run(profile_name: str, *, users: int = 10, spawn_rate: float | None = None,
        run_time: str = "20s", shape: str | None = None, processes: int = 0,
        master_workers: int = 0, max_requests: int = 200_000, server_workers: int = 1,
        out_dir: str | None = None, quiet: bool = False) -> dict[str, Any]:
    """One bounded load run; returns its summary. On SIGINT or SIGTERM: stops Locust (which
    writes its reports) and the server, writes a summary marked interrupted and raises
    ``Interrupted``. Whichever way it ends, nothing it started is left running."""
    if profile_name not in PROFILES:
        raise SystemExit(f"unknown profile {profile_name!r}; choose one of {', '.join(PROFILES)}")
    profile = PROFILES[profile_name]
    seconds = parse_seconds(run_time)
    if seconds <= 0:
        raise SystemExit("--run-time must be positive: every load run is bounded")
    out = Path(out_dir or Path("reports") / "load" / profile_name)
    out.mkdir(parents=True, exist_ok=True)
    # An earlier run's files would pass for this run's (a partial report lists what is there).
    for old in [*out.glob("locust_*"), out / "final_stats.json", out / "summary.json",
                out / "summary.md", out / "latency.png", out / "latency.svg"]:
        old.unlink(missing_ok=True)
    received: list[int] = []  # stop signals, noted (not raised) while the cleanup runs
    procs = _Processes()
    code: int | None = None
    started = time.time()
    with (_stop_signals(lambda signum, _frame: received.append(signum)),
          open(out / "locust.log", "wb") as log):
        try:
            with _stop_signals(_raise_stopped):
                code = _drive(profile, out, log, procs, users=users, spawn_rate=spawn_rate,
                              seconds=seconds, shape=shape, processes=processes,
                              master_workers=master_workers, max_requests=max_requests,
                              server_workers=server_workers)
        except _Stopped as exc:
            received.insert(0, exc.signum)
        finally:
            _stop_all(procs, received)
        if received and procs.locust:
            code = procs.locust[0].returncode
        summary = None
        if not received or procs.locust:  # stopped before Locust started: nothing to report
            summary = summarise(
                out, profile_name, profile, users=users, run_time=seconds, shape=shape,
                processes=processes, master_workers=master_workers, exit_code=code,
                wall_seconds=time.time() - started, server_workers=server_workers,
                interrupted=signal.Signals(received[0]).name if received else None)
    if summary is not None and not quiet:
        print((out / "summary.md").read_text())
    if received:
        raise Interrupted(received[0], out, summary)
    assert summary is not None
    return summary


def _drive(profile: Profile, out: Path, log: IO[bytes], procs: _Processes, *, users: int,
           spawn_rate: float | None, seconds: int, shape: str | None, processes: int,
           master_workers: int, max_requests: int, server_workers: int) -> int:
    """Start the server and Locust (recorded in ``procs`` as they start), wait for Locust;
    returns its exit code (-9: killed at the wall-clock bound)."""
    procs.server, boot = start_server(out, server_workers=server_workers)
    host = boot["baseUrl"]
    env = dict(os.environ, **{
        BOOTSTRAP_ENV: str(out / "bootstrap.json"),
        MAX_REQUESTS_ENV: str(max_requests),
        FINAL_STATS_ENV: str(out / "final_stats.json"),
        # one identity per user and kind, provisioned before the clock starts
        "DFNS_LOAD_POOL": str(max(1, math.ceil(users / max(1, processes or master_workers or 1)))),
        "PYTHONUNBUFFERED": "1",
    })
    if shape:
        env["DFNS_LOAD_SHAPE"] = shape
    else:
        env.pop("DFNS_LOAD_SHAPE", None)
    common_args = ["-f", profile.path, *profile.classes]
    run_args = ["--headless", "-u", str(users), "-r", str(spawn_rate or users), "-t", f"{seconds}s",
                "--host", host, "--csv", str(out / "locust"), "--csv-full-history",
                "--html", str(out / "locust_report.html"), "--stop-timeout", "3",
                "--only-summary", "--loglevel", "WARNING"]

    def locust(*args: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "locust", *args], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        procs.locust.append(proc)
        return proc

    if master_workers:
        master_port = free_port()
        proc = locust(*common_args, *run_args, "--master",
                      "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port),
                      "--expect-workers", str(master_workers), "--expect-workers-max-wait", "30")
        for _ in range(master_workers):
            locust(*common_args, "--worker", "--master-host", "127.0.0.1", "--master-port",
                   str(master_port), "--loglevel", "WARNING")
    else:
        # --processes forks a master too: bind it to loopback on a free port (Locust's
        # default is every interface on 5557, and two runs would fight over the port)
        port = free_port()  # the forked workers find their master by --master-port
        extra = ["--processes", str(processes), "--master-bind-host", "127.0.0.1",
                 "--master-bind-port", str(port), "--master-host", "127.0.0.1",
                 "--master-port", str(port)] if processes else []
        proc = locust(*common_args, *run_args, *extra)
    try:
        code = proc.wait(seconds + 90)
    except subprocess.TimeoutExpired:
        stop(proc)
        code = -9
    for worker in procs.locust[1:]:
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            stop(worker)
    return code


def _stop_all(procs: _Processes, received: list[int]) -> None:
    """Stop what the run started, Locust before the server it loads. After a stop signal
    Locust first gets the Ctrl-C it would get in a terminal, so that it writes its reports."""
    if received:
        _quit_locust(procs.locust, received)
    for proc in [*procs.locust, *([procs.server] if procs.server else [])]:
        stop(proc)
        # the leader is gone; a process it forked (--processes, server workers) may not be
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _quit_locust(locust: list[subprocess.Popen], received: list[int]) -> None:
    """SIGINT to every Locust process group, as a terminal sends Ctrl-C to each process of the
    job: Locust stops its users, writes its HTML report and CSV and fires ``quitting`` (our
    final_stats.json); its SIGTERM handler would skip the HTML. Waits up to LOCUST_QUIT_GRACE
    seconds, less if another stop signal arrives (a second Ctrl-C: no more waiting)."""
    for proc in locust:
        if proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
    signals, deadline = len(received), time.monotonic() + LOCUST_QUIT_GRACE
    while (any(proc.poll() is None for proc in locust) and time.monotonic() < deadline
           and len(received) == signals):
        time.sleep(0.1)


# -- reports --------------------------------------------------------------------------------
def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _num(value: str | None) -> float:
    try:
        return float(value or 0)
    except ValueError:
        return 0.0


def summarise(out: Path, name: str, profile: Profile, **meta: Any) -> dict[str, Any]:
    final_file = out / "final_stats.json"
    rows: list[dict[str, Any]] = []
    if final_file.exists():
        rows = json.loads(final_file.read_text())["rows"]
    else:  # Locust died before quitting: fall back on its last CSV
        rows = [{"type": r["Type"], "name": r["Name"], "requests": int(_num(r["Request Count"])),
                 "failures": int(_num(r["Failure Count"])), "rps": round(_num(r["Requests/s"]), 1),
                 "p50": _num(r["50%"]), "p95": _num(r["95%"]), "p99": _num(r["99%"]),
                 "max": _num(r["Max Response Time"])} for r in _rows(out / "locust_stats.csv")]
    http = [r for r in rows if r["type"] not in (SERVER_TIMING, "") and r["name"] != "Aggregated"]
    timing = [r for r in rows if r["type"] == SERVER_TIMING]
    aggregated = next((r for r in rows if r["name"] == "Aggregated"), {})
    failures = _rows(out / "locust_failures.csv")
    summary = {
        "profile": name, "description": profile.description, **meta,
        "requests": int(aggregated.get("requests", 0)),
        "failures": int(aggregated.get("failures", 0)),
        "rps": aggregated.get("rps", 0.0),
        "http": http, "server_timing_us": timing,
        "failure_samples": failures[:10],
        "files": sorted(p.name for p in out.iterdir() if p.is_file()),
    }
    picture = draw_latency(out)
    if picture:
        summary["files"] = sorted({*summary["files"], picture})
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "summary.md").write_text(markdown(summary))
    return summary


def markdown(s: dict[str, Any]) -> str:
    lines = [f"# Load run: {s['profile']}", "",
             f"{s['description']}. Users {s['users']}, run time {s['run_time']} s, "
             f"shape {s['shape'] or 'none (constant)'}, Locust processes {_locust_layout(s)}, "
             f"server workers {s['server_workers']}; exit code {s['exit_code']}.", "",
             *([f"**Interrupted ({s['interrupted']}) after {s['wall_seconds']:.0f} s: partial "
                "figures, up to the stop.**", ""] if s.get("interrupted") else []),
             f"**{s['requests']} HTTP requests, {s['failures']} failures, {s['rps']} req/s.**", "",
             "| HTTP request | reqs | fails | req/s | p50 ms | p95 ms | p99 ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in s["http"]:
        lines.append(f"| {r['type']} {r['name']} | {r['requests']} | {r['failures']} | {r['rps']} "
                     f"| {r['p50']:g} | {r['p95']:g} | {r['p99']:g} |")
    lines += ["", "Server-Timing (the simulator's own time, microseconds):", "",
              "| metric | samples | p50 µs | p95 µs | p99 µs |", "|---|---:|---:|---:|---:|"]
    for r in s["server_timing_us"]:
        lines.append(f"| {r['name'].replace(' [us]', '')} | {r['requests']} | {r['p50']:g} "
                     f"| {r['p95']:g} | {r['p99']:g} |")
    lines += ["", "Files: " + ", ".join(s["files"]), ""]
    return "\n".join(lines)


def _locust_layout(s: dict[str, Any]) -> str:
    if s["master_workers"]:
        return f"master + {s['master_workers']} workers"
    return str(s["processes"] or 1)


def _history(out: Path) -> list[dict[str, str]]:
    return [r for r in _rows(out / "locust_stats_history.csv") if r.get("Name") == "Aggregated"]


def server_timing_series(rows: list[dict[str, str]], t0: float, metric: str = "verify"
                         ) -> tuple[str, list[float], list[float], list[float]] | None:
    """The busiest ``metric`` Server-Timing entry over time: its name, seconds since ``t0``,
    p50 and p95 in microseconds. Locust's whole-millisecond HTTP percentiles cannot show a
    sub-millisecond verification; these entries are logged in microseconds (load/common.py)."""
    entries: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        if row.get("Type") == "SERVER-TIMING" and row.get("Name", "").startswith(metric + " "):
            entries.setdefault(row["Name"], []).append(row)
    if not entries:
        return None
    name, chosen = max(entries.items(),
                       key=lambda item: _num(item[1][-1].get("Total Request Count")))
    # A window with no sample reads 0 (or N/A): not drawn as 0 µs.
    chosen = [r for r in chosen if _num(r.get("50%")) > 0]
    if not chosen:
        return None
    return (name.removesuffix(" [us]"), [_num(r["Timestamp"]) - t0 for r in chosen],
            [_num(r["50%"]) for r in chosen], [_num(r["95%"]) for r in chosen])


def history_series(rows: list[dict[str, str]]
                   ) -> tuple[list[float], list[float], list[float], list[float]] | None:
    """Seconds, p50, p95 and requests/s from Locust's stats history (Aggregated rows)."""
    # Rows without percentiles yet ("N/A": no request in the window) are not drawn as 0 ms.
    rows = [r for r in rows if r.get("50%") not in (None, "", "N/A")]
    if not rows:
        return None
    t0 = _num(rows[0]["Timestamp"])
    xs = [_num(r["Timestamp"]) - t0 for r in rows]
    p50 = [_num(r["50%"]) for r in rows]
    p95 = [_num(r["95%"]) for r in rows]
    # Throughput from the growth of the total count between rows: Locust's own "Requests/s"
    # column is a trailing average that reads 0 for the first seconds of a run.
    counts = [_num(r["Total Request Count"]) for r in rows]
    rps = [0.0] + [max(0.0, (counts[i] - counts[i - 1]) / max(xs[i] - xs[i - 1], 1e-9))
                   for i in range(1, len(rows))]
    return xs, p50, p95, rps


def draw_latency(out: Path) -> str | None:
    """Latency (p50/p95) and throughput over time, from Locust's stats history."""
    every_row = _rows(out / "locust_stats_history.csv")
    aggregated = [r for r in every_row if r.get("Name") == "Aggregated"]
    series = history_series(aggregated)
    if series is None:
        return None
    xs, p50, p95, rps = series
    t0 = _num(next(r for r in aggregated if r.get("50%") not in (None, "", "N/A"))["Timestamp"])
    server = server_timing_series(every_row, t0)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return _draw_svg(out, xs, p50, p95, rps)
    panels = 3 if server is not None else 2
    fig, axes = plt.subplots(panels, 1, figsize=(9, 3 * panels), sharex=True)
    top, bottom = axes[0], axes[-1]
    top.plot(xs, p50, label="p50")
    top.plot(xs, p95, label="p95")
    top.set_ylabel("latency (ms)")
    top.legend()
    top.set_title(f"{out.name}: HTTP latency, server verification time and throughput")
    if server is not None:
        label, sx, s50, s95 = server
        axes[1].plot(sx, s50, label="p50")
        axes[1].plot(sx, s95, label="p95")
        axes[1].set_ylabel("µs")
        axes[1].set_title(f"Server-Timing {label}", fontsize="small")
        axes[1].legend()
    bottom.plot(xs, rps, color="tab:green")
    bottom.set_ylabel("requests/s")
    bottom.set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=100)
    plt.close(fig)
    return "latency.png"


def _draw_svg(out: Path, xs: list[float], p50: list[float], p95: list[float],
              rps: list[float]) -> str:
    width, height = 800, 300
    x_max = max(xs) or 1
    y_max = max(p95 + p50) or 1

    def poly(ys: list[float], top: float, color: str) -> str:
        y_scale = max(ys) or 1
        # Every series is built from the same history rows, so the lengths always match.
        points = " ".join(f"{40 + x / x_max * (width - 60):.1f},{top + 120 - y / y_scale * 110:.1f}"
                          for x, y in zip(xs, ys, strict=True))
        return f'<polyline fill="none" stroke="{color}" points="{points}"/>'

    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
           f'<text x="40" y="12">latency ms (p50 blue, p95 red, max {y_max:g})</text>'
           f'{poly(p50, 10, "blue")}{poly(p95, 10, "red")}'
           f'<text x="40" y="160">requests/s (max {max(rps):g})</text>'
           f'{poly(rps, 165, "green")}</svg>')
    (out / "latency.svg").write_text(svg)
    return "latency.svg"
