"""Scale-out: several simulator processes share one store; every single-use rule holds.

Two independent uvicorn processes (the same factory ``dfns-sim serve --workers`` uses) on two
loopback ports share one SQLite file, so which process answers is certain: a challenge is
issued by one and completed on the other, and concurrent replays across both are counted.
A last test drives ``dfns-sim serve --workers 2`` itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from load.loadgen import store_lock_stats, worker_pids
from load.runner import free_port, stop
from scenarios.client import DfnsApi, delegated_login, ok, register_delegated, service_account_api
from simulator import errors
from simulator.multiworker import SETTINGS_ENV, STORE_ENV
from virtual_authenticators import KeyAuthenticator, PasskeyAuthenticator


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server exited with {proc.returncode}"
        try:
            httpx.get(f"http://127.0.0.1:{port}/auth/login/init", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def _start_worker(url: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = dict(os.environ, **{STORE_ENV: url, SETTINGS_ENV: json.dumps({})})
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "simulator.multiworker:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--lifespan", "off"],
        env=env, start_new_session=True)
    return proc, port


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def two_processes(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from simulator import Simulator
    from simulator.multiworker import open_store

    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('shared') / 'state.sqlite'}"
    parent = Simulator(store=open_store(url))  # what serve_workers does before forking
    boot = parent.bootstrap()
    procs = [_start_worker(url) for _ in range(2)]
    try:
        for proc, port in procs:
            _wait_ready(port, proc)
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
                   for _, port in procs]
        yield {"boot": boot, "clients": clients}
        for client in clients:
            client.close()
    finally:
        for proc, _ in procs:
            stop(proc)


def test_bootstrap_token_and_org_are_shared(two_processes: dict[str, Any]) -> None:
    boot = two_processes["boot"]
    for client in two_processes["clients"]:
        sa = service_account_api(client, boot)
        items = ok(sa.request("GET", "/auth/credentials"))["items"]
        assert items, "the bootstrap service account's token works on every process"


def test_challenge_from_one_process_completes_on_the_other(two_processes: dict[str, Any]) -> None:
    boot = two_processes["boot"]
    a, b = two_processes["clients"]
    sa_a, sa_b = service_account_api(a, boot), service_account_api(b, boot)
    device = PasskeyAuthenticator(origin=boot["origin"], algorithms=(-7,))
    username = f"cross-{os.urandom(4).hex()}@workers.example.com"
    # delegated registration: user action signed on A, redeemed on B; registration completed on A
    challenge = ok(sa_a.request("POST", "/auth/action/init", {
        "userActionPayload": json.dumps({"email": username, "kind": "EndUser"}),
        "userActionHttpMethod": "POST", "userActionHttpPath": "/auth/registration/delegated",
        "userActionServerKind": "Api"}))
    token = ok(sa_b.request("POST", "/auth/action", {
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": sa_b.signer.sign(challenge)}))["userAction"]
    reg = ok(sa_a.request("POST", "/auth/registration/delegated",
                          {"email": username, "kind": "EndUser"}, user_action=token))
    ok(sa_b.request("POST", "/auth/registration", {"firstFactorCredential": device.register(reg)},
                    token=reg["temporaryAuthenticationToken"]))
    # login: init on B, complete on A; the session then works on both
    anon_a, anon_b = DfnsApi(a), DfnsApi(b)
    login_ch = ok(anon_b.request("POST", "/auth/login/init",
                                 {"username": username, "orgId": boot["orgId"]}, token=""))
    session = ok(anon_a.request("POST", "/auth/login", {
        "challengeIdentifier": login_ch["challengeIdentifier"],
        "firstFactor": device.sign(login_ch)}, token=""))["token"]
    for client in (a, b):
        assert ok(DfnsApi(client, session).request("GET", "/auth/credentials"))["items"]


def test_single_use_rules_hold_across_processes(two_processes: dict[str, Any]) -> None:
    boot = two_processes["boot"]
    a, b = two_processes["clients"]
    sa_a, sa_b = service_account_api(a, boot), service_account_api(b, boot)
    device = KeyAuthenticator("Ed25519", origin=boot["origin"])
    username = f"race-{os.urandom(4).hex()}@workers.example.com"
    register_delegated(sa_a, username, device)
    token = delegated_login(sa_b, username)
    user_a, user_b = sa_a.as_(token, device), sa_b.as_(token, device)
    body = {"expiration": int((time.time() + 50) * 1000)}
    path = "/auth/credentials/code"

    def burst(calls: list) -> list[httpx.Response]:
        with ThreadPoolExecutor(len(calls)) as pool:
            return list(pool.map(lambda call: call(), calls))

    for _ in range(3):
        # 1. one action challenge, signed once, completed concurrently on both processes
        challenge = user_a.action_challenge("POST", path, body)
        signed = {"challengeIdentifier": challenge["challengeIdentifier"],
                  "firstFactor": device.sign(challenge)}
        answers = burst([lambda u=u, signed=signed: u.request("POST", "/auth/action", signed)
                         for u in (user_a, user_b) * 4])
        winners = [r for r in answers if r.status_code == 200]
        assert len(winners) == 1, [(r.status_code, r.text) for r in answers]
        assert all(r.status_code == 400 for r in answers if r.status_code != 200)
        # 2. the one user-action token, replayed concurrently on both processes
        ua = winners[0].json()["userAction"]
        answers = burst([lambda u=u, ua=ua: u.request("POST", path, body, user_action=ua)
                         for u in (user_a, user_b) * 4])
        assert [r.status_code for r in answers].count(200) == 1, [r.text for r in answers]
        losers = [r for r in answers if r.status_code != 200]
        assert {(r.status_code, r.json()["message"]) for r in losers} == {
            (400, errors.USER_ACTION_USED)}
    # 3. a login challenge, completed concurrently on both processes: one session only
    anon_a, anon_b = DfnsApi(a), DfnsApi(b)
    login_ch = ok(anon_a.request("POST", "/auth/login/init",
                                 {"username": username, "orgId": boot["orgId"]}, token=""))
    signed = {"challengeIdentifier": login_ch["challengeIdentifier"],
              "firstFactor": device.sign(login_ch)}
    answers = burst([lambda c=c: c.request("POST", "/auth/login", signed, token="")
                     for c in (anon_a, anon_b) * 4])
    assert [r.status_code for r in answers].count(200) == 1, [r.text for r in answers]


def test_clock_and_faults_are_one_for_all_processes(two_processes: dict[str, Any]) -> None:
    """A clock change or a fault made through one process's /_sim/ applies on the other."""
    boot = two_processes["boot"]
    a, b = two_processes["clients"]
    device = KeyAuthenticator(origin=boot["origin"])
    username = f"clock-{os.urandom(4).hex()}@workers.example.com"
    register_delegated(service_account_api(a, boot), username, device)
    login = {"username": username, "orgId": boot["orgId"]}
    try:
        challenge = ok(DfnsApi(a).request("POST", "/auth/login/init", login, token=""))
        assert b.post("/_sim/clock", json={"action": "advance", "seconds": 3600}).status_code \
            == 200
        assert abs(a.get("/_sim/clock").json()["epoch"] - time.time() - 3600) < 30
        late = a.post("/auth/login", json={"challengeIdentifier": challenge["challengeIdentifier"],
                                           "firstFactor": device.sign(challenge)})
        assert (late.status_code, late.json()["message"]) == (400, errors.CHALLENGE_INVALID)

        rule = b.post("/_sim/faults", json={"path": "/auth/login/init", "status": 503,
                                            "times": 2}).json()
        statuses = [(a, b)[i % 2].post("/auth/login/init", json=login).status_code
                    for i in range(4)]
        assert statuses == [503, 503, 200, 200]
        assert [f["fired"] for f in a.get("/_sim/faults").json()["items"]] == [2]
        assert a.delete(f"/_sim/faults/{rule['id']}").status_code == 200
        assert b.get("/_sim/faults").json()["items"] == []
    finally:
        a.delete("/_sim/faults")
        a.post("/_sim/clock", json={"action": "set", "at": time.time()})


def test_a_restore_through_one_process_holds_on_the_other(two_processes: dict[str, Any]) -> None:
    """/_sim/restore through A: B takes the restored JWT secret, org and bootstrap identity."""
    from simulator import Simulator

    a, b = two_processes["clients"]
    original = a.get("/_sim/snapshot").json()
    elsewhere = Simulator()
    boot = elsewhere.bootstrap()
    try:
        assert a.post("/_sim/restore", json=elsewhere.snapshot()).status_code == 200
        for _ in range(4):  # fresh requests on B, each after the restore answered
            users = service_account_api(b, boot).request("GET", "/auth/users")
            assert users.status_code == 200, users.text
        assert b.get("/_sim/health").json()["orgId"] == boot["orgId"]
    finally:
        assert a.post("/_sim/restore", json=original).status_code == 200
    assert b.get("/_sim/health").json()["orgId"] == two_processes["boot"]["orgId"]


def test_serve_workers_command(tmp_path: Path) -> None:
    """``dfns-sim serve --workers 2``: one bootstrap for all, flows and replays across workers."""
    port = free_port()
    boot_file = tmp_path / "boot.json"
    # Where the server makes its journal sockets' directory: short, as a socket path must be.
    scratch = Path(tempfile.mkdtemp(prefix="jt-", dir="/tmp"))
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "serve", "--port", str(port),
                             "--workers", "2", "--bootstrap-out", str(boot_file)],
                            start_new_session=True, stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, TMPDIR=str(scratch)))
    assert proc.stdout is not None
    banner = proc.stdout.readline()  # "... sharing /dev/shm/dfns-sim-workers-XXXX/state.sqlite"
    state_dir = Path(banner.split(" sharing ")[1].split(" (org")[0]).parent
    try:
        _wait_ready(port, proc)
        assert state_dir.is_dir()
        boot = json.loads(boot_file.read_text())
        # fresh connections, so the kernel spreads them over both workers
        def fresh() -> httpx.Client:
            return httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                headers={"Connection": "close"})

        with fresh() as http:
            sa = service_account_api(http, boot)
            device = KeyAuthenticator("P-256", origin=boot["origin"])
            register_delegated(sa, f"w-{os.urandom(4).hex()}@workers.example.com", device)
            challenge = sa.action_challenge("POST", "/auth/users", {})
        signed = {"challengeIdentifier": challenge["challengeIdentifier"],
                  "firstFactor": sa.signer.sign(challenge)}

        def attempt(_: int) -> int:
            with fresh() as http:
                api = service_account_api(http, boot)
                return api.request("POST", "/auth/action", signed).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(attempt, range(8)))
        assert codes.count(200) == 1, codes

        # Named workers (GET /_sim/health's pid): issued on one, completed on the other,
        # refused when replayed on the first.
        first, second = worker_pids(port, expected=2)

        def on_worker(pid: int) -> httpx.Client:
            for _ in range(200):
                http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
                if http.get("/_sim/health").json()["pid"] == pid:
                    return http
                http.close()
            raise AssertionError(f"no connection reached worker {pid}")

        one, two = on_worker(first), on_worker(second)
        try:
            challenge = service_account_api(one, boot).action_challenge("POST", "/auth/users", {})
            signed = {"challengeIdentifier": challenge["challengeIdentifier"],
                      "firstFactor": sa.signer.sign(challenge)}
            assert service_account_api(two, boot).request(
                "POST", "/auth/action", signed).status_code == 200
            replay = service_account_api(one, boot).request("POST", "/auth/action", signed)
            assert (replay.status_code, replay.json()["error"]["message"]) == (
                400, "Challenge token is not valid.")
            # One journal for both workers, whichever answers /_sim/journal: the completion
            # on the second, then the replay on the first (admin/journal_peers.py).
            for reader in (one, two):
                items = reader.get("/_sim/journal", params={"path": "/auth/action"}).json()["items"]
                assert [(e["worker"], e["status"]) for e in items[-2:]] == [(second, 200),
                                                                           (first, 400)]
            assert two.delete("/_sim/journal").status_code == 200
            assert one.get("/_sim/journal").json()["items"] == []
        finally:
            one.close()
            two.close()
        # Each worker counts its own waits for the shared write lock (bench P3 reads them).
        locks = store_lock_stats(port, [first, second])
        assert set(locks) == {first, second}
        for stats in locks.values():
            assert stats["busyRetries"] >= 0 and stats["waitSeconds"] >= 0.0
        assert [p.name for p in scratch.iterdir()][0].startswith("dfns-sim-journal-")
    finally:
        stop(proc)
    assert not state_dir.exists()  # the ephemeral shared state leaves nothing in RAM
    assert list(scratch.iterdir()) == []  # nor the journal sockets anything in TMPDIR
    scratch.rmdir()


def test_single_process_hosts_on_one_store(tmp_path: Path) -> None:
    """``dfns-sim serve --store URL`` without --workers (one process per host, as in the
    several-hosts recipe): the state lives in the given store, shared with the other host."""
    state = tmp_path / "hosts.sqlite"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    hosts = []
    try:
        for name in ("a", "b"):
            port = free_port()
            boot_file = tmp_path / f"boot-{name}.json"
            proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "serve", "--port",
                                     str(port), "--store", f"sqlite:///{state}",
                                     "--bootstrap-out", str(boot_file)], start_new_session=True,
                                    env=dict(os.environ, TMPDIR=str(scratch)))
            hosts.append(proc)
            _wait_ready(port, proc)
            hosts_boot = json.loads(boot_file.read_text())
            if name == "a":
                port_a, boot = port, hosts_boot
            else:
                port_b = port
                assert hosts_boot["orgId"] == boot["orgId"]  # b restored a's state
        assert state.exists()
        with httpx.Client(base_url=f"http://127.0.0.1:{port_a}", timeout=30) as a, \
                httpx.Client(base_url=f"http://127.0.0.1:{port_b}", timeout=30) as b:
            sa_a, sa_b = service_account_api(a, boot), service_account_api(b, boot)
            challenge = sa_a.action_challenge("POST", "/auth/users", {})
            signed = {"challengeIdentifier": challenge["challengeIdentifier"],
                      "firstFactor": sa_a.signer.sign(challenge)}
            assert sa_b.request("POST", "/auth/action", signed).status_code == 200
            replay = sa_a.request("POST", "/auth/action", signed)
            assert (replay.status_code, replay.json()["error"]["message"]) == (
                400, errors.CHALLENGE_INVALID)
    finally:
        for proc in hosts:
            stop(proc)
    assert [proc.returncode for proc in hosts] == [0, 0]  # SIGTERM is a normal stop
    assert list(scratch.iterdir()) == []  # one process per host: no journal sockets to share


def test_state_and_store_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    from simulator.cli import build_parser

    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["serve", "--state", "a.sqlite", "--store", "redis://x/0"])
    assert exc.value.code == 2
    assert "argument --store: not allowed with argument --state" in capsys.readouterr().err
