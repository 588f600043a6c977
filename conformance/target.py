"""Where the checks run, and the per-check context they get.

``Target`` is either the embedded simulator (a fresh :class:`simulator.Simulator` per check,
so checks never share state and can run in any order on any worker) or a base URL plus a
bootstrap file (one shared org; checks use unique usernames). ``Ctx`` gives a check the
clients, the bootstrap identity, actors with virtual authenticators, and records every HTTP
exchange for the reports (secrets masked).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from scenarios.client import DfnsApi, delegated_login, ok, service_account_api
from virtual_authenticators import authenticator_for

# PBKDF2 cost of the wrapped kinds: the server never unwraps, so a low count keeps the suite
# fast without changing anything the API sees.
WRAP_ITERATIONS = 1000
SECRET_KEYS = re.compile(
    r'"(accessToken|token|temporaryAuthenticationToken|userAction|privateKeyPem|'
    r'encryptedPrivateKey|encryptedRecoveryKey|password|recoveryCode|code|loginCode|'
    r'verificationCode|registrationCode)"\s*:\s*"[^"]*"')
SECRET_HEADERS = {"authorization", "x-dfns-useraction"}


def mask_text(text: str) -> str:
    return SECRET_KEYS.sub(lambda m: f'"{m.group(1)}":"***"', text)


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            keep = value.split(" ", 1)[0] + " " if value.lower().startswith("bearer ") else ""
            value = f"{keep}***"
        out[name] = value
    return out


@dataclass
class Exchange:
    method: str
    path: str
    request_headers: dict[str, str]
    request_body: str
    status: int
    response_body: str

    def title(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"

    def request_text(self) -> str:
        head = "\n".join(f"{k}: {v}" for k, v in self.request_headers.items())
        return f"{self.method} {self.path}\n{head}\n\n{self.request_body}"


class Target:
    """The implementation under test."""

    def __init__(self, spec: str = "inprocess", bootstrap_file: str | None = None,
                 policy: Any = None) -> None:
        self.spec = spec
        self.policy = policy
        self.is_simulator = spec == "inprocess"
        self._boot: dict[str, Any] | None = None
        self._route_keys: set[tuple[str, str]] | None = None
        if not self.is_simulator:
            if not bootstrap_file:
                raise ValueError("--dfns-target URL needs --dfns-bootstrap FILE "
                                 "(as written by `dfns-sim serve --bootstrap-out FILE`)")
            self._boot = json.loads(Path(bootstrap_file).read_text())
            self._boot.setdefault("baseUrl", spec)

    def describe(self) -> str:
        return "embedded simulator (in-process)" if self.is_simulator else self.spec

    def routes(self) -> set[tuple[str, str]] | None:
        """(method, path) pairs served, when known (embedded simulator only)."""
        if not self.is_simulator:
            return None
        if self._route_keys is None:
            from simulator.http.routes import ALL_TABLES

            self._route_keys = {(r.method, r.path) for t in ALL_TABLES for r in t.routes}
        return self._route_keys

    def has_routes(self, wanted: tuple[tuple[str, str], ...]) -> bool:
        known = self.routes()
        return known is None or all(route in known for route in wanted)

    def new_ctx(self) -> Ctx:
        if self.is_simulator:
            from simulator import Simulator

            sim = Simulator(policy=self.policy) if self.policy is not None else Simulator()
            boot = sim.bootstrap()
            http = sim.client(timeout=30)
            return Ctx(self, http, boot, sim)
        assert self._boot is not None
        http = httpx.Client(base_url=self.spec if "://" in self.spec else self._boot["baseUrl"],
                            timeout=30)
        return Ctx(self, http, self._boot, None)


@dataclass
class Actor:
    username: str
    device: Any
    token: str
    api: DfnsApi
    user_id: str = ""
    registration: dict[str, Any] = field(default_factory=dict)
    recovery: Any = None


_serial = itertools.count(1)


class Ctx:
    """What one check sees. ``sim`` is None against a URL target."""

    def __init__(self, target: Target, http: httpx.Client, boot: dict[str, Any], sim: Any) -> None:
        self.target = target
        self.sim = sim
        self.boot = boot
        self.exchanges: list[Exchange] = []
        http.event_hooks["response"] = [self._record]
        self.http = http
        self.org_id: str = boot["orgId"]
        self.app_id: str = boot.get("appId", "")
        self.origin: str = boot.get("origin", "http://localhost:3000")
        self.rp_id: str = boot.get("rpId", "localhost")
        self.sa = service_account_api(http, boot)
        self.anon = DfnsApi(http)

    # -- recording ------------------------------------------------------------------------
    def _record(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        body = request.content.decode("utf-8", "replace") if request.content else ""
        self.exchanges.append(Exchange(
            method=request.method, path=request.url.path,
            request_headers=mask_headers(dict(request.headers)),
            request_body=mask_text(body[:20000]), status=response.status_code,
            response_body=mask_text(response.text[:20000])))

    def close(self) -> None:
        self.http.close()

    # -- identities -----------------------------------------------------------------------
    def name(self, prefix: str = "user") -> str:
        return f"{prefix}-{os.getpid()}-{next(_serial)}-{uuid.uuid4().hex[:6]}@conformance.test"

    def device(self, kind: str, username: str = "", **knobs: Any) -> Any:
        if kind in ("PasswordProtectedKey", "RecoveryKey"):
            knobs.setdefault("iterations", WRAP_ITERATIONS)
        return authenticator_for(kind, origin=self.origin, username=username,
                                 password="correct horse battery", **knobs)

    def registration_challenge(self, username: str | None = None,
                               kind: str = "EndUser") -> dict[str, Any]:
        body = {"email": username or self.name(), "kind": kind}
        return ok(self.sa.signed("POST", "/auth/registration/delegated", body))

    def complete_registration(self, challenge: Mapping[str, Any], first: Mapping[str, Any],
                              recovery: Mapping[str, Any] | None = None,
                              path: str = "/auth/registration",
                              extra: Mapping[str, Any] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"firstFactorCredential": first}
        if recovery is not None:
            body["recoveryCredential"] = recovery
        if extra:
            body.update(extra)
        return self.anon.request("POST", path, body,
                                 token=challenge["temporaryAuthenticationToken"])

    def user(self, kind: str = "Key", *, with_recovery: bool = False, **knobs: Any) -> Actor:
        """A registered, delegated-logged-in user whose first factor is a ``kind`` device."""
        username = self.name(kind.lower())
        device = self.device(kind, username, **knobs)
        challenge = self.registration_challenge(username)
        recovery = self.device("RecoveryKey", username) if with_recovery else None
        result = ok(self.complete_registration(
            challenge, device.register(challenge),
            recovery.register(challenge) if recovery else None))
        token = delegated_login(self.sa, username)
        api = DfnsApi(self.http, token, device)
        return Actor(username, device, token, api, result["user"]["id"], result, recovery)

    # -- challenge helpers ----------------------------------------------------------------
    def login_code(self, actor: Actor) -> str:
        ok(self.anon.request("POST", "/auth/login/code",
                             {"username": actor.username, "orgId": self.org_id}, token=""))
        if self.sim is None:
            raise RuntimeError("login codes arrive by e-mail: needs the embedded simulator")
        return self.sim.last_code(actor.username)

    def login_challenge(self, actor: Actor) -> dict[str, Any]:
        body: dict[str, Any] = {"username": actor.username, "orgId": self.org_id}
        if actor.device.kind == "PasswordProtectedKey":
            body["loginCode"] = self.login_code(actor)
        return ok(self.anon.request("POST", "/auth/login/init", body, token=""))

    def login_complete(self, challenge: Mapping[str, Any], assertion: Any) -> httpx.Response:
        return self.anon.request("POST", "/auth/login", {
            "challengeIdentifier": challenge["challengeIdentifier"], "firstFactor": assertion},
            token="")

    def action_challenge(self, actor: Actor, method: str = "POST",
                         path: str = "/auth/credentials/code", body: Any = None) -> dict[str, Any]:
        return actor.api.action_challenge(method, path, body if body is not None else {"x": 1})

    def action_complete(self, actor: Actor, challenge: Mapping[str, Any],
                        assertion: Any) -> httpx.Response:
        return actor.api.request("POST", "/auth/action", {
            "challengeIdentifier": challenge["challengeIdentifier"], "firstFactor": assertion})

    def credential_challenge(self, actor: Actor, kind: str) -> dict[str, Any]:
        return ok(actor.api.request("POST", "/auth/credentials/init", {"kind": kind}))

    def credential_complete(self, actor: Actor, challenge: Mapping[str, Any],
                            attestation: Mapping[str, Any],
                            name: str = "conformance") -> httpx.Response:
        body = {"challengeIdentifier": challenge["challengeIdentifier"], "credentialName": name,
                **attestation}
        return actor.api.signed("POST", "/auth/credentials", body)


def admin_user(ctx: Ctx, kind: str = "Key") -> Actor:
    """A CustomerEmployee holding DfnsFullAdminAccess (assigned by the bootstrap SA)."""
    username = ctx.name("admin")
    device = ctx.device(kind, username)
    challenge = ctx.registration_challenge(username, kind="CustomerEmployee")
    result = ok(ctx.complete_registration(challenge, device.register(challenge)))
    user_id = result["user"]["id"]
    permissions = ok(ctx.sa.request("GET", "/permissions"))["items"]
    full = next(p["id"] for p in permissions if p["name"] == "DfnsFullAdminAccess")
    ok(ctx.sa.signed("POST", "/permissions/assignments",
                     {"permissionId": full, "identityId": user_id}))
    token = delegated_login(ctx.sa, username)
    return Actor(username, device, token, DfnsApi(ctx.http, token, device), user_id, result)
