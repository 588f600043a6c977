"""The figures measured inside one process: P1 (core verification ÷ bare ``cryptography``),
P4 (``sim.client()`` ÷ Starlette's TestClient) and the cProfile of in-process hot-path flows."""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import re
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from load.bench.common import PROTECTED, spread
from load.common import credential_code_body

if TYPE_CHECKING:
    from starlette.testclient import TestClient


def p1(quick: bool) -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    from load.bench_verification import _fido2_case, _key_case, measure

    cases: dict[str, Callable[[], tuple[Callable, Callable]]] = {
        "Key P-256": lambda: _key_case("P-256", ec.generate_private_key(ec.SECP256R1())),
        "Key Ed25519": lambda: _key_case("Ed25519", ed25519.Ed25519PrivateKey.generate()),
        "Key secp256k1": lambda: _key_case("secp256k1", ec.generate_private_key(ec.SECP256K1())),
        "Key RSA-2048": lambda: _key_case("RSA-2048", rsa.generate_private_key(
            public_exponent=65537, key_size=2048)),
        "Fido2 ES256 assertion": _fido2_case,
    }
    rows = {}
    for name, make in cases.items():
        core, bare = make()
        # Many short paired rounds rather than a few long ones: a burst of the host's other
        # load then spoils a few of 75 ratios instead of a third of 15. Same 1.5 s per side;
        # the spread of the figure over 8 repeats fell from ±0.025 to ±0.007 (docs/load.md).
        rows[name] = measure(core, bare, rounds=15 if quick else 75, seconds=0.02)
    return {"rows": rows, "min_ratio": min(r["ratio"] for r in rows.values())}


# starlette.testclient warns once, at import, when it runs on httpx rather than httpx2. P4
# measures that TestClient as installed, so the warning says nothing about the figures.
TESTCLIENT_HTTPX_WARNING = re.escape("Using `httpx` with `starlette.testclient` is deprecated")


def testclient_class() -> type[TestClient]:
    """Starlette's TestClient, imported with that one warning silenced (here only: the
    filter is gone once the import is done)."""
    from starlette.exceptions import StarletteDeprecationWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=TESTCLIENT_HTTPX_WARNING,
                                category=StarletteDeprecationWarning)
        from starlette.testclient import TestClient

    return TestClient


def p4(quick: bool) -> dict[str, Any]:
    from starlette.types import ASGIApp

    from simulator import Simulator

    TestClient = testclient_class()

    sim = Simulator()
    boot = sim.bootstrap()
    headers = {"Authorization": f"Bearer {boot['serviceAccount']['accessToken']}",
               "Content-Type": "application/json"}
    body = json.dumps({"userActionPayload": "{}", "userActionHttpMethod": "POST",
                       "userActionHttpPath": "/auth/users", "userActionServerKind": "Api"}).encode()
    ours = sim.client()
    # Our ASGI callables annotate scope as dict; Starlette's type asks for any MutableMapping.
    theirs = TestClient(cast("ASGIApp", sim.app), base_url="http://testserver")

    def call(client: Any) -> Callable[[], None]:
        def run() -> None:
            response = client.post("/auth/action/init", content=body, headers=headers)
            assert response.status_code == 200, response.text

        return run

    n = 100 if quick else 400
    ratios, ours_rates, theirs_rates = [], [], []
    for i in range(3 if quick else 7):
        pair = [("ours", call(ours)), ("theirs", call(theirs))]
        rates = {}
        for name, fn in (pair if i % 2 == 0 else pair[::-1]):
            fn()
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            rates[name] = n / (time.perf_counter() - t0)
        ours_rates.append(rates["ours"])
        theirs_rates.append(rates["theirs"])
        ratios.append(rates["ours"] / rates["theirs"])
    theirs.close()
    return {"inprocess_calls_s": spread(ours_rates), "testclient_calls_s": spread(theirs_rates),
            "ratio": round(statistics.median(ratios), 2), "call": "POST /auth/action/init"}


def profile(out: Path, flows: int = 300) -> list[str]:
    """cProfile of the server's side of ``flows`` hot-path flows: the profiler runs only while
    the ASGI app handles a request, so the client's httpx and the authenticator's signing
    (which a remote load generator pays, not the simulator) stay out of it."""
    import httpx

    from scenarios.client import delegated_login, ok, register_delegated, service_account_api
    from simulator import Simulator
    from simulator.simulator import INPROCESS_BASE_URL
    from simulator.transport import InProcessTransport
    from virtual_authenticators import KeyAuthenticator

    sim = Simulator()
    profiler = cProfile.Profile()
    profiling = False

    async def server_side(scope: dict, receive: Callable, send: Callable) -> None:
        if profiling:
            profiler.enable()
        try:
            await sim.app(scope, receive, send)
        finally:
            profiler.disable()

    boot = sim.bootstrap()
    client = httpx.Client(transport=InProcessTransport(server_side), base_url=INPROCESS_BASE_URL)
    sa = service_account_api(client, boot)
    device = KeyAuthenticator("P-256", origin=boot["origin"])
    register_delegated(sa, "profile@bench.example.com", device)
    user = sa.as_(delegated_login(sa, "profile@bench.example.com"), device)
    body = credential_code_body()
    ok(user.signed("POST", PROTECTED, body))
    profiling = True
    for _ in range(flows):
        ok(user.signed("POST", PROTECTED, body))
    profiling = False
    text = io.StringIO()
    text.write(f"Server side of {flows} hot-path flows (3 requests each), in process.\n")
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(30)
    top = text.getvalue()
    stats.sort_stats("cumulative").print_stats(r"simulator/", 40)
    (out / "profile.txt").write_text(text.getvalue())
    lines = [line for line in top.splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "tottime" in line and "ncalls" in line)
    return lines[start:start + 13]
