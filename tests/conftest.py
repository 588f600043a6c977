"""Shared fixtures: a fresh simulator per test, reached through either door.

``door`` is parametrised: every API test runs once in-process and once over loopback HTTP
against the same simulator state, as moto's own CI does for its server mode.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from load.runner import free_port, stop
from scenarios.client import DfnsApi, service_account_api
from simulator import Simulator
from simulator.server import ThreadedServer


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server (Debian package) on a free loopback port, started here."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    pytest.importorskip("redis", reason="the redis PyPI client is not installed")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path_factory.mktemp("redis"))],
                            stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        import redis

        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.skip("redis-server did not start")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def http_server() -> Iterator[dict[str, Any]]:
    """One loopback server per test session; each test mounts its own simulator on it."""
    holder: dict[str, Any] = {"app": None}

    async def app(scope: dict, receive: Any, send: Any) -> None:
        await holder["app"](scope, receive, send)

    server = ThreadedServer(app).start()
    holder["server"] = server
    yield holder
    server.stop()


@pytest.fixture
def sim() -> Simulator:
    return Simulator()


@pytest.fixture(params=["inprocess", "http"])
def door(request: pytest.FixtureRequest, sim: Simulator) -> Iterator[httpx.Client]:
    if request.param == "inprocess":
        with sim.client() as client:
            yield client
        return
    holder = request.getfixturevalue("http_server")
    holder["app"] = sim.app
    with holder["server"].client(timeout=30) as client:
        yield client


@pytest.fixture
def bootstrap(sim: Simulator) -> dict[str, Any]:
    return sim.bootstrap()


@pytest.fixture
def sa(door: httpx.Client, bootstrap: dict[str, Any]) -> DfnsApi:
    return service_account_api(door, bootstrap)


@pytest.fixture
def anon(door: httpx.Client) -> DfnsApi:
    return DfnsApi(door)
