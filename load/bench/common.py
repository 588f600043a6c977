"""What P2 and P3 share: simulator and bare servers started as processes, registered
identities that sign actions, CPU placement and accounting, and the arithmetic of figures."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from load.common import credential_code_body
from load.loadgen import Connection, request_bytes
from load.runner import start_server

PROTECTED = "/auth/credentials/code"
# The generator's CPU per request (P2) or flow (P3) spent in the kernel (loopback TCP, which
# any client on this machine would pay), a part of the "generator" figure.
GENERATOR_KERNEL = "generator, in the kernel"

def spawn(cmd: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as handle:  # the child keeps its own copy of the handle
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=handle,
                                start_new_session=True)


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def start_sim(
    tmp: Path, name: str, extra: Sequence[str] = ()
) -> tuple[subprocess.Popen, dict[str, Any], int]:
    """``dfns-sim serve`` (load/runner.py's start, its files in ``tmp/name``): the process, its
    bootstrap and its port."""
    out = tmp / name
    out.mkdir(exist_ok=True)
    proc, boot = start_server(out, extra=extra)
    port = urlsplit(boot["baseUrl"]).port
    assert port is not None  # start_server always names one
    return proc, boot, port


class Identity:
    """A registered Key P-256 user with a login token (provisioned over httpx, not timed)."""

    def __init__(self, port: int, boot: dict[str, Any]) -> None:
        from scenarios.client import delegated_login, register_delegated, service_account_api
        from virtual_authenticators import KeyAuthenticator

        self.device = KeyAuthenticator("P-256", origin=boot["origin"])
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            sa = service_account_api(http, boot)
            username = f"bench-{os.urandom(6).hex()}@bench.example.com"
            register_delegated(sa, username, self.device)
            self.token = delegated_login(sa, username)
        self.auth = {"Authorization": f"Bearer {self.token}"}

    def init_request(self, payload: str) -> bytes:
        return request_bytes("POST", "/auth/action/init", {
            "userActionPayload": payload, "userActionHttpMethod": "POST",
            "userActionHttpPath": PROTECTED, "userActionServerKind": "Api"}, self.auth)

    def signed_action_request(self, conn: Connection, payload: str) -> bytes:
        status, body = conn.roundtrip(self.init_request(payload))
        if status != 200:
            raise RuntimeError(f"action init failed: {status} {body[:200]!r}")
        challenge = json.loads(body)
        return request_bytes("POST", "/auth/action", {
            "challengeIdentifier": challenge["challengeIdentifier"],
            "firstFactor": self.device.sign(challenge)}, self.auth)


def split_cpus() -> tuple[set[int] | None, set[int] | None]:
    """(server CPUs, generator CPUs): the last usable CPU for the server, the rest for the
    generator; (None, None) with fewer than two CPUs or no affinity control."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        return None, None
    return {usable[-1]}, set(usable[:-1])


def placement(server: set[int] | None, generator: set[int] | None) -> str:
    if server is None or generator is None:
        return "not pinned (one CPU, or no affinity control)"
    return (f"server pinned to CPU {sorted(server)}, generator to CPU(s) {sorted(generator)}")


def process_cpu(pid: int, *, children: bool = False) -> float | None:
    """CPU seconds (user + system) a server process has used so far, with ``children`` also
    its live child processes' (``serve --workers``: the workers); None off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    if children:
        for child in _child_pids(pid):
            total += process_cpu(child, children=True) or 0.0
    return total


def _child_pids(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    out: list[int] = []
    for task in tasks:
        try:
            out += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return out


def cpu_us(before: float | None, after: float | None, count: int) -> float | None:
    return None if before is None or after is None or not count else (after - before) / count * 1e6


def median_known(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 1) if known else None


def action_payload() -> str:
    """The hot path's protected call body (load/common.py, as the Locust profiles send it),
    as the JSON text an action signs."""
    return json.dumps(credential_code_body(), separators=(",", ":"))


def spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 1), "min": round(min(values), 1),
            "max": round(max(values), 1), "rounds": len(values)}


