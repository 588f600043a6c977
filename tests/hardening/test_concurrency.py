"""50 concurrent clients mix every flow over loopback HTTP for a bounded time.

No 5xx, no failed flow, no lost write (everything a client created is listed afterwards), and
the state invariants (including the audit chain) hold. ``DFNS_SIM_CLIENTS`` (50) and
``DFNS_SIM_LOAD_SECONDS`` (5 here; ``make hardening-long`` runs 30) bound the run.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from scenarios.client import (
    ApiCallError,
    DfnsApi,
    delegated_login,
    login,
    ok,
    register_delegated,
    service_account_api,
)
from simulator import Simulator
from simulator.persistence.sqlite_store import SqliteStore
from simulator.server import ThreadedServer
from virtual_authenticators import KeyAuthenticator

from .invariants import check_invariants

CLIENTS = int(os.environ.get("DFNS_SIM_CLIENTS", "50"))
SECONDS = float(os.environ.get("DFNS_SIM_LOAD_SECONDS", "5"))


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.flows: Counter = Counter()
        self.errors: list[str] = []
        self.users: dict[str, int] = {}  # username -> credentials created for it

    def count(self, event: Any) -> None:
        with self.lock:
            self.statuses[event.status_code] += 1


def client_loop(number: int, base_url: str, boot: dict[str, Any], tally: Tally,
                deadline: float) -> None:
    http = httpx.Client(base_url=base_url, timeout=60,
                        event_hooks={"response": [tally.count]})
    sa = service_account_api(http, boot)
    anon = DfnsApi(http)
    sequence = itertools.count()
    try:
        while time.monotonic() < deadline:
            name = f"c{number}-{next(sequence)}@example.com"
            device = KeyAuthenticator(algorithm=("P-256", "Ed25519", "secp256k1")[number % 3])
            register_delegated(sa, name, device)
            with tally.lock:
                tally.users[name] = 1
            user = sa.as_(login(anon, org_id=boot["orgId"], username=name, device=device), device)
            # a second credential through the credential challenge (user action + challenge)
            challenge = ok(user.request("POST", "/auth/credentials/init", {"kind": "Key"}))
            info = KeyAuthenticator().register(challenge)["credentialInfo"]
            ok(user.signed("POST", "/auth/credentials", {
                "credentialKind": "Key", "credentialName": "second", "credentialInfo": info,
                "challengeIdentifier": challenge["challengeIdentifier"]}))
            with tally.lock:
                tally.users[name] += 1
            ok(user.signed("POST", "/auth/credentials/code", {"expiration": time.time() + 50}))
            delegated = sa.as_(delegated_login(sa, name), device)
            ok(delegated.request("GET", "/auth/credentials"))
            ok(sa.request("GET", "/auth/users", headers={}))
            with tally.lock:
                tally.flows["iterations"] += 1
    except ApiCallError as exc:
        with tally.lock:
            tally.errors.append(str(exc))
    except Exception as exc:  # noqa: BLE001 - report, do not hang the other threads
        with tally.lock:
            tally.errors.append(repr(exc))
    finally:
        http.close()


def all_users(sa: DfnsApi) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        query = "?limit=1000" + (f"&paginationToken={token}" if token else "")
        page = ok(sa.request("GET", "/auth/users" + query))
        items += page["items"]
        token = page.get("nextPageToken")
        if not token:
            return items


@pytest.mark.http
@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_concurrent_clients_mixing_flows(backend: str, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "load.db") if backend == "sqlite" else None
    sim = Simulator(store=store)
    boot = sim.bootstrap()
    tally = Tally()
    with ThreadedServer(sim.app) as server:
        deadline = time.monotonic() + SECONDS
        threads = [threading.Thread(target=client_loop,
                                    args=(i, server.base_url, boot, tally, deadline))
                   for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=SECONDS + 120)
        print(f"{backend}: {CLIENTS} clients, {tally.flows['iterations']} full iterations, "
              f"{sum(tally.statuses.values())} requests, statuses {dict(tally.statuses)}")
        assert tally.errors == []
        assert not any(status >= 500 for status in tally.statuses)
        with httpx.Client(base_url=server.base_url, timeout=60) as http:
            sa = service_account_api(http, boot)
            listed = {u["username"]: u for u in all_users(sa)}
            missing = [name for name in tally.users if name not in listed]
            assert missing == []  # no lost write
        # every credential a client created is there (the API lists them per user)
        for name, created in tally.users.items():
            user_id = listed[name]["userId"]
            stored = [c for c in sim.core.store.find("credentials", "user", user_id) if c.usable]
            assert len(stored) == created, name
    assert tally.flows["iterations"] > 0
    # the audit chain (checked by check_invariants) really recorded the run's user actions
    audited = len(list(sim.core.store.scan("audit")))
    print(f"{backend}: {audited} audit entries, chain verified")
    assert audited >= 3 * tally.flows["iterations"]
    assert check_invariants(sim.core) == []
