"""``dfns-sim load PROFILE``: serve on loopback, run a Locust profile headless, write reports.

Steps: pick a free loopback port → start ``dfns-sim serve --bootstrap-out`` as a child process
(or, with ``bootstrap=``, use a server already running, named by its bootstrap file) → run
Locust headless (``--processes N`` or an explicit master + N ``--worker`` processes, all
on 127.0.0.1) → Locust's HTML and CSV, plus ``summary.json``, ``summary.md`` and
``latency.png`` (written by load/report.py) in
``reports/load/<profile>/``.

Every run is bounded: ``--run-time`` (Locust stops), ``--max-requests`` per Locust process
(the profiles quit), and a hard wall-clock stop at run-time + 90 s. Only loopback is targeted.

Ctrl-C (SIGINT), SIGTERM or SIGHUP (the terminal closed) ends a run the way Ctrl-C ends
Locust's own: Locust gets SIGINT (it stops its users, writes its HTML and CSV), the server is
stopped, a summary marked interrupted is written from what Locust produced, and ``run`` raises
``Interrupted`` (exit status 130/143/129 for ``dfns-sim load``). No exit path leaves Locust or
the server running.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

import httpx

from load.common import BOOTSTRAP_ENV, FINAL_STATS_ENV, MAX_REQUESTS_ENV, check_target
from load.report import summarise

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


def start_server(out: Path, *, server_workers: int = 1, extra: Sequence[str] = (),
                 timeout: float = 30.0) -> tuple[subprocess.Popen, dict[str, Any]]:
    """``dfns-sim serve`` on a free loopback port (``extra``: more serve arguments), its log
    and bootstrap file in ``out``; returns once it answers, with the bootstrap (``baseUrl``
    names the port). A server that does not come up is stopped, never handed back."""
    port = free_port()
    boot_file = out / "bootstrap.json"
    boot_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "simulator.cli", "serve", "--host", "127.0.0.1", "--port",
           str(port), "--bootstrap-out", str(boot_file)]
    if server_workers > 1:
        cmd += ["--workers", str(server_workers)]
    cmd += list(extra)
    with open(out / "serve.log", "wb") as log:  # the child keeps its own copy of the handle
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log,
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


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # SIGHUP: the terminal closed
# Locust answering SIGINT stops its users (--stop-timeout 3) and writes its HTML and CSV.
LOCUST_QUIT_GRACE = 20.0
# The wall-clock bound of a run: its run time plus this many seconds (start-up, provisioning
# the identities, --stop-timeout, writing the reports), after which Locust is stopped.
HARD_BOUND_MARGIN = 90


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    raise _Stopped(signum)


@contextmanager
def _stop_signals(handler: Callable[[int, FrameType | None], Any]) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP go to ``handler`` for the block. Only the main thread can set
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


def external_server(bootstrap: str) -> dict[str, Any]:
    """The bootstrap of a ``dfns-sim serve`` someone else started (the file its
    ``--bootstrap-out`` wrote), checked before anything starts: readable, naming a ``baseUrl``
    on loopback (unless ``DFNS_LOAD_ALLOW_REMOTE=1``), and a server answering there."""
    expected = "expected the file dfns-sim serve --bootstrap-out writes"
    try:
        boot = json.loads(Path(bootstrap).read_text())
    except OSError as exc:
        raise SystemExit(f"dfns-sim load: cannot read {bootstrap!r}: "
                         f"{exc.strerror or exc}") from None
    except ValueError:  # includes a file that is not UTF-8
        raise SystemExit(f"dfns-sim load: {bootstrap!r} is not JSON ({expected})") from None
    base = boot.get("baseUrl") if isinstance(boot, dict) else None
    if not isinstance(base, str) or not base.startswith(("http://", "https://")) \
            or not isinstance(boot.get("serviceAccount"), dict):
        raise SystemExit(f"dfns-sim load: {bootstrap!r} names no baseUrl and service "
                         f"account ({expected})")
    check_target(base)
    try:  # /_sim/health answers even on a server started with --no-admin
        httpx.get(base.rstrip("/") + "/_sim/health", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        raise SystemExit(f"dfns-sim load: no dfns-sim answers at {base} "
                         f"(from {bootstrap}): {exc}") from None
    return dict(boot)


def run(profile_name: str, *, users: int = 10, spawn_rate: float | None = None,
        run_time: str = "20s", shape: str | None = None, processes: int = 0,
        master_workers: int = 0, max_requests: int = 200_000, server_workers: int = 1,
        bootstrap: str | None = None, out_dir: str | None = None,
        quiet: bool = False) -> dict[str, Any]:
    """One bounded load run; returns its summary. On SIGINT, SIGTERM or SIGHUP: stops Locust (which
    writes its reports) and the server, writes a summary marked interrupted and raises
    ``Interrupted``. Whichever way it ends, nothing it started is left running.

    ``bootstrap``: drive the ``dfns-sim serve`` that wrote this bootstrap file instead of
    starting one (it is neither configured nor stopped by the run)."""
    if profile_name not in PROFILES:
        raise SystemExit(f"unknown profile {profile_name!r}; choose one of {', '.join(PROFILES)}")
    profile = PROFILES[profile_name]
    seconds = parse_seconds(run_time)
    if seconds <= 0:
        raise SystemExit("--run-time must be positive: every load run is bounded")
    if bootstrap is not None and server_workers != 1:
        raise SystemExit("dfns-sim load: --server-workers starts a server; with --bootstrap "
                         "the server is already running (start it with --workers instead)")
    external = external_server(bootstrap) if bootstrap is not None else None
    out = Path(out_dir or Path("reports") / "load" / profile_name)
    out.mkdir(parents=True, exist_ok=True)
    # An earlier run's files would pass for this run's (a partial report lists what is there).
    for old in [*out.glob("locust_*"), out / "final_stats.json", out / "summary.json",
                out / "summary.md", out / "latency.png", out / "serve.log"]:
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
                              server_workers=server_workers, external=external)
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
                wall_seconds=time.time() - started,
                server_workers=server_workers if external is None else None,
                target=external["baseUrl"] if external is not None else None,
                interrupted=signal.Signals(received[0]).name if received else None)
    if summary is not None and not quiet:
        print((out / "summary.md").read_text())
    if received:
        raise Interrupted(received[0], out, summary)
    assert summary is not None
    return summary


def _drive(profile: Profile, out: Path, log: IO[bytes], procs: _Processes, *, users: int,
           spawn_rate: float | None, seconds: int, shape: str | None, processes: int,
           master_workers: int, max_requests: int, server_workers: int,
           external: dict[str, Any] | None) -> int:
    """Start the server (unless ``external`` is the bootstrap of a running one) and Locust
    (recorded in ``procs`` as they start), wait for Locust; returns its exit code (-9: killed
    at the wall-clock bound)."""
    if external is None:
        procs.server, boot = start_server(out, server_workers=server_workers)
    else:  # the identity used, kept with the report as for a server of our own
        boot = external
        (out / "bootstrap.json").write_text(json.dumps(boot, indent=2) + "\n")
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
        code = proc.wait(seconds + HARD_BOUND_MARGIN)
    except subprocess.TimeoutExpired:
        # Past its bound: first the Ctrl-C a terminal would send, so that Locust still writes
        # what it has (HTML, CSV, final stats), then the kill.
        _quit_locust(procs.locust, [])
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
