"""Races: several clients redeem the same single-use item at once → exactly one success.

Every single-use item of the API: login / action / credential challenges, the temporary token
of a registration challenge, recovery challenges, user-action tokens, credential codes and
registration codes; through both doors (threads in process, and HTTP clients on loopback).

``DFNS_SIM_RACES`` races per item and door (default 30 here; the long run is
``make races`` = 1,000). ``DFNS_SIM_RACERS`` threads per race (default 4).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from scenarios.client import DfnsApi, delegated_login, ok, register_delegated, service_account_api
from simulator import Simulator
from virtual_authenticators import KeyAuthenticator, RecoveryKeyAuthenticator

from .invariants import check_invariants

RACES = int(os.environ.get("DFNS_SIM_RACES", "30"))
RACERS = int(os.environ.get("DFNS_SIM_RACERS", "4"))

Attempt = Callable[[DfnsApi], httpx.Response]


class Racer:
    """K clients of one door and a pool of K threads that fire together."""

    def __init__(self, clients: list[httpx.Client], boot: dict[str, Any]) -> None:
        self.anons = [DfnsApi(c) for c in clients]
        self.sa = service_account_api(clients[0], boot)
        self.pool = ThreadPoolExecutor(len(clients))
        self.outcomes: Counter = Counter()
        self.races = 0

    def race(self, attempt: Attempt | list[Attempt]) -> list[int]:
        attempts = attempt if isinstance(attempt, list) else [attempt] * len(self.anons)
        barrier = threading.Barrier(len(self.anons))

        def fire(i: int) -> int:
            barrier.wait()
            return attempts[i](self.anons[i]).status_code

        statuses = list(self.pool.map(fire, range(len(self.anons))))
        self.races += 1
        self.outcomes.update(statuses)
        wins = [s for s in statuses if s < 300]
        assert len(wins) == 1, f"race {self.races}: {statuses}"
        assert all(400 <= s < 500 for s in statuses if s >= 300), statuses
        return statuses


@pytest.fixture
def racer(door: httpx.Client, sim: Simulator, request: pytest.FixtureRequest) -> Iterator[Racer]:
    kind = request.node.callspec.params["door"]
    if kind == "inprocess":
        clients = [sim.client() for _ in range(RACERS)]
    else:
        server = request.getfixturevalue("http_server")["server"]
        clients = [server.client(timeout=30) for _ in range(RACERS)]
    racer = Racer(clients, sim.bootstrap())
    yield racer
    racer.pool.shutdown()
    for c in clients:
        c.close()
    assert check_invariants(sim.core) == []


def _user(racer: Racer, name: str) -> tuple[DfnsApi, KeyAuthenticator]:
    device = KeyAuthenticator()
    register_delegated(racer.sa, name, device)
    return racer.sa.as_(delegated_login(racer.sa, name), device), device


def _code_body() -> dict[str, Any]:
    return {"expiration": time.time() + 50}


def test_login_challenge(racer: Racer, sim: Simulator) -> None:
    _, device = _user(racer, "login-race@example.com")
    for _ in range(RACES):
        challenge = ok(racer.anons[0].request("POST", "/auth/login/init",
                                              {"username": "login-race@example.com",
                                               "orgId": sim.org_id}))
        body = {"challengeIdentifier": challenge["challengeIdentifier"],
                "firstFactor": device.sign(challenge)}
        racer.race(lambda api, body=body: api.request("POST", "/auth/login", body))


def test_action_challenge(racer: Racer) -> None:
    user, device = _user(racer, "action-race@example.com")
    for _ in range(RACES):
        challenge = user.action_challenge("POST", "/auth/credentials/code", _code_body())
        body = {"challengeIdentifier": challenge["challengeIdentifier"],
                "firstFactor": device.sign(challenge)}
        racer.race(lambda api, body=body: api.request("POST", "/auth/action", body,
                                                      token=user.token))


def test_user_action_token(racer: Racer) -> None:
    user, _ = _user(racer, "ua-race@example.com")
    for _ in range(RACES):
        body = _code_body()
        token = user.user_action("POST", "/auth/credentials/code", body)
        statuses = racer.race(
            lambda api, body=body, token=token: api.request(
                "POST", "/auth/credentials/code", body, token=user.token, user_action=token))
        assert sorted(statuses)[1:] == [400] * (RACERS - 1)  # "already used", not 403


def test_credential_challenge(racer: Racer) -> None:
    user, _ = _user(racer, "cred-race@example.com")
    for i in range(RACES):
        challenge = ok(user.request("POST", "/auth/credentials/init", {"kind": "Key"}))
        info = KeyAuthenticator().register(challenge)["credentialInfo"]
        body = {"credentialKind": "Key", "credentialName": f"race {i}", "credentialInfo": info,
                "challengeIdentifier": challenge["challengeIdentifier"]}
        tokens = [user.user_action("POST", "/auth/credentials", body) for _ in range(RACERS)]
        racer.race([
            (lambda api, t=t, body=body: api.request("POST", "/auth/credentials", body,
                                                     token=user.token, user_action=t))
            for t in tokens])
    assert len(ok(user.request("GET", "/auth/credentials"))["items"]) == RACES + 1


def test_credential_code(racer: Racer) -> None:
    user, _ = _user(racer, "code-race@example.com")
    for _ in range(RACES):
        code = ok(user.signed("POST", "/auth/credentials/code", _code_body()))["code"]
        racer.race(lambda api, code=code: api.request("POST", "/auth/credentials/code/init",
                                                      {"code": code, "credentialKind": "Key"}))


def test_registration_temp_token(racer: Racer) -> None:
    for i in range(RACES):
        challenge = ok(racer.sa.signed("POST", "/auth/registration/delegated",
                                       {"email": f"reg-race-{i}@example.com", "kind": "EndUser"}))
        body = {"firstFactorCredential": KeyAuthenticator().register(challenge)}
        temp = challenge["temporaryAuthenticationToken"]
        racer.race(lambda api, body=body, temp=temp: api.request("POST", "/auth/registration", body,
                                                                  token=temp))


def test_registration_code(racer: Racer, sim: Simulator) -> None:
    for i in range(RACES):
        email = f"direct-race-{i}@example.com"
        ok(racer.sa.signed("POST", "/auth/users", {"email": email, "kind": "CustomerEmployee"}))
        code = sim.last_code(email, "registration-code")
        body = {"username": email, "registrationCode": code, "orgId": sim.org_id}
        racer.race(lambda api, body=body: api.request("POST", "/auth/registration/init", body))


def test_recovery_challenge(racer: Racer) -> None:
    username = "recovery-race@example.com"
    recovery_key = RecoveryKeyAuthenticator(username, iterations=1000)
    register_delegated(racer.sa, username, KeyAuthenticator(), recovery=recovery_key)
    for _ in range(RACES):
        challenge = ok(racer.sa.signed("POST", "/auth/recover/user/delegated", {
            "username": username, "credentialId": recovery_key.credential_id}))
        next_key = RecoveryKeyAuthenticator(username, iterations=1000)
        new_credentials = {"firstFactorCredential": KeyAuthenticator().register(challenge),
                           "recoveryCredential": next_key.register(challenge)}
        blob = recovery_key.encrypted_key_from_challenge(challenge)
        body = {"recovery": recovery_key.recovery_assertion(new_credentials, blob),
                "newCredentials": new_credentials}
        temp = challenge["temporaryAuthenticationToken"]
        racer.race(lambda api, body=body, temp=temp: api.request("POST", "/auth/recover/user", body,
                                                                  token=temp))
        recovery_key = next_key
