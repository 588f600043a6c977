"""``dfns-sim serve`` as customers run it: admin API defaults by host, --admin-token, --seed."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(tmp_path: Path, *args: str) -> Iterator[tuple[httpx.Client, subprocess.Popen, dict]]:
    port = _free_port()
    boot = tmp_path / f"boot-{port}.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "serve", "--port", str(port),
         "--bootstrap-out", str(boot), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/_sim/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "server did not become healthy"
                time.sleep(0.05)
            yield client, process, json.loads(boot.read_text())
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_non_loopback_host_without_token_disables_admin(tmp_path: Path) -> None:
    with serve(tmp_path, "--host", "0.0.0.0") as (client, process, _boot):
        assert client.get("/_sim/clock").status_code == 404
        assert client.get("/auth/users").status_code == 401  # the Dfns API is served
    assert "admin API (/_sim/) disabled" in process.stderr.read()  # type: ignore[union-attr]


def test_admin_token_and_seed(tmp_path: Path) -> None:
    with serve(tmp_path, "--admin-token", "t0ken", "--seed", "9") as (client, _process, boot):
        assert client.get("/_sim/clock").status_code == 401
        good = {"Authorization": "Bearer t0ken"}
        assert client.get("/_sim/clock", headers=good).status_code == 200
        assert client.post("/_sim/reset", headers=good).json() == {"reset": "all"}
        first_org = boot["orgId"]
    with serve(tmp_path, "--seed", "9") as (client, _process, boot):
        assert boot["orgId"] == first_org  # same seed, same ids
        assert client.get("/_sim/clock").status_code == 200  # loopback: no token needed
