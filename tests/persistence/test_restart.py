"""`dfns-sim serve --state FILE`: kill -9, restart, and everything acknowledged is still there."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from scenarios.client import (
    DfnsApi,
    delegated_login,
    login,
    ok,
    register_delegated,
    service_account_api,
)
from virtual_authenticators import KeyAuthenticator

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(state: Path, boot_file: Path) -> Iterator[tuple[subprocess.Popen, dict[str, Any]]]:
    port = _free_port()
    if boot_file.exists():
        boot_file.unlink()
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "serve", "--port", str(port), "--state", str(state),
         "--bootstrap-out", str(boot_file)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            if boot_file.exists():
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/auth/login/init", timeout=1).status_code:
                        break
                except httpx.HTTPError:
                    pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        yield proc, json.loads(boot_file.read_text())
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)  # the point of the test: no clean shutdown
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


def test_kill_9_and_restart_keeps_everything(tmp_path: Path) -> None:
    state, boot_file = tmp_path / "state.db", tmp_path / "boot.json"
    device = KeyAuthenticator(algorithm="P-256")
    with serve(state, boot_file) as (_, boot):
        with httpx.Client(base_url=boot["baseUrl"], timeout=30) as http:
            sa = service_account_api(http, boot)
            register_delegated(sa, "restart@example.com", device)
            user_token = delegated_login(sa, "restart@example.com")
            user = sa.as_(user_token, device)
            second = KeyAuthenticator(algorithm="Ed25519")
            challenge = ok(user.request("POST", "/auth/credentials/init", {"kind": "Key"}))
            ok(user.signed("POST", "/auth/credentials", {
                "credentialKind": "Key", "credentialName": "second",
                "challengeIdentifier": challenge["challengeIdentifier"],
                "credentialInfo": second.register(challenge)["credentialInfo"]}))
            before_users = ok(sa.request("GET", "/auth/users"))["items"]
            before_creds = ok(user.request("GET", "/auth/credentials"))["items"]
            code = ok(user.signed("POST", "/auth/credentials/code",
                                  {"expiration": time.time() + 55}))
        # kill -9 right after the last acknowledged write

    with serve(state, boot_file) as (_, boot_again):
        assert boot_again["serviceAccount"] == boot["serviceAccount"]  # restored, not re-created
        assert boot_again["orgId"] == boot["orgId"]
        with httpx.Client(base_url=boot_again["baseUrl"], timeout=30) as http:
            sa = service_account_api(http, boot_again)  # the old SA token still verifies
            assert ok(sa.request("GET", "/auth/users"))["items"] == before_users
            user = sa.as_(user_token, device)  # the old login token too
            assert ok(user.request("GET", "/auth/credentials"))["items"] == before_creds
            assert login(DfnsApi(http), org_id=boot["orgId"], username="restart@example.com",
                         device=second)
            # the credential code issued before the crash is still single-use and redeemable
            init = ok(DfnsApi(http).request("POST", "/auth/credentials/code/init",
                                            {"code": code["code"], "credentialKind": "Key"}))
            assert init["challengeIdentifier"]
            again = DfnsApi(http).request("POST", "/auth/credentials/code/init",
                                          {"code": code["code"], "credentialKind": "Key"})
            assert again.status_code == 403


def test_two_servers_on_one_file_share_state_and_single_use(tmp_path: Path) -> None:
    """Two `serve --state` processes on one file: a challenge issued by one completes on the
    other, and a credential code raced on both is redeemed exactly once."""
    import threading

    state = tmp_path / "shared.db"
    device = KeyAuthenticator()
    with (serve(state, tmp_path / "a.json") as (_, boot_a),
          serve(state, tmp_path / "b.json") as (_, boot_b)):
        assert boot_b["serviceAccount"] == boot_a["serviceAccount"]
        with httpx.Client(base_url=boot_a["baseUrl"], timeout=30) as a, \
                httpx.Client(base_url=boot_b["baseUrl"], timeout=30) as b:
            register_delegated(service_account_api(a, boot_a), "shared@example.com", device)
            challenge = ok(DfnsApi(a).request(
                "POST", "/auth/login/init",
                {"username": "shared@example.com", "orgId": boot_a["orgId"]}))
            token = ok(DfnsApi(b).request("POST", "/auth/login", {
                "challengeIdentifier": challenge["challengeIdentifier"],
                "firstFactor": device.sign(challenge)}))["token"]
            user_b = DfnsApi(b).as_(token, device)
            for _ in range(5):
                code = ok(user_b.signed("POST", "/auth/credentials/code",
                                        {"expiration": time.time() + 50}))["code"]
                statuses: list[int] = []
                barrier = threading.Barrier(4)

                def redeem(base: str, barrier: threading.Barrier = barrier,
                           statuses: list[int] = statuses, code: str = code) -> None:
                    with httpx.Client(base_url=base, timeout=30) as http:
                        barrier.wait()
                        response = http.post("/auth/credentials/code/init",
                                             json={"code": code, "credentialKind": "Key"})
                        statuses.append(response.status_code)

                threads = [threading.Thread(target=redeem, args=(base,))
                           for base in (boot_a["baseUrl"], boot_b["baseUrl"]) * 2]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                assert sorted(statuses) == [200, 403, 403, 403]
