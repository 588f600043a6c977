"""What every Locust profile shares: the HTTP adapter, Server-Timing metrics, bounds, identities.

* :class:`LocustHttp` makes Locust's ``FastHttpSession`` look like the ``httpx.Client`` that
  :class:`scenarios.client.DfnsApi` expects, so the profiles run exactly the flows the tests
  and scenarios run (same request bodies, same virtual authenticators).
* Every response's ``Server-Timing: verify;dur=<ms>, app;dur=<ms>`` is recorded as a Locust
  stats entry of type ``SERVER-TIMING`` **in microseconds** (Locust rounds response times
  under 100 to whole units; in ms that would erase sub-millisecond verification).
* Identities (users, credentials, tokens) are provisioned outside the measured loop, through
  the bootstrap service account, with a plain ``httpx`` client Locust does not time.
* Bounds: the host must be loopback (``DFNS_LOAD_ALLOW_REMOTE=1`` opts out, for a deliberate
  multi-host run), and each process stops after ``DFNS_LOAD_MAX_REQUESTS`` requests.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import httpx

from scenarios.client import (  # noqa: F401 - re-exported for the profiles
    DfnsApi,
    delegated_login,
    login,
    ok,
    register_delegated,
    service_account_api,
)

SERVER_TIMING = "SERVER-TIMING"
logging.getLogger("httpx").setLevel(logging.WARNING)  # provisioning requests are not news
BOOTSTRAP_ENV = "DFNS_SIM_BOOTSTRAP"
MAX_REQUESTS_ENV = "DFNS_LOAD_MAX_REQUESTS"
FINAL_STATS_ENV = "DFNS_LOAD_FINAL_STATS"
DEFAULT_MAX_REQUESTS = 200_000
# PasswordProtectedKey wrapping cost is client-side only (PBKDF2); registration loops use a
# lighter count so the load generator, not the simulator, is not what gets measured.
PPK_REGISTRATION_ITERATIONS = 1_000

SHAPE_NAMES = ("ramp", "step", "spike", "soak")  # load/shapes.py SHAPES, without importing locust
KEY_ALGORITHMS = ("P-256", "Ed25519", "secp256k1", "RSA-2048")
def unique_username(prefix: str) -> str:
    # random per call: forked Locust processes (--processes) share any module-level counter
    return f"{prefix}-{secrets.token_hex(8)}@load.example.com"


# -- bounds --------------------------------------------------------------------------------
def is_loopback_host(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except OSError:
            return False


def check_target(url: str) -> None:
    if not url:
        raise SystemExit("dfns-sim load: no target host (pass --host or set DFNS_SIM_BOOTSTRAP)")
    if not is_loopback_host(url) and os.environ.get("DFNS_LOAD_ALLOW_REMOTE") != "1":
        raise SystemExit(f"dfns-sim load profiles target loopback only, not {url!r} "
                         "(set DFNS_LOAD_ALLOW_REMOTE=1 for a deliberate multi-host run)")


class RequestBudget:
    """Stops this process's runner after a fixed number of HTTP requests."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self.tripped = False

    def spend(self, environment: Any) -> None:
        self.count += 1
        if self.count >= self.limit and not self.tripped and environment.runner is not None:
            self.tripped = True
            import gevent
            from locust.runners import WorkerRunner

            runner = environment.runner
            if isinstance(runner, WorkerRunner):
                # A worker that quit on its own would take its last stats with it: ask the
                # master to end the run, which collects every worker's figures first.
                runner.send_message(BUDGET_MESSAGE, {"requests": self.count})
            else:
                gevent.spawn(runner.quit)


BUDGET_MESSAGE = "dfns_sim_budget_spent"
BUDGET = RequestBudget(int(os.environ.get(MAX_REQUESTS_ENV, DEFAULT_MAX_REQUESTS)))


# -- Server-Timing -------------------------------------------------------------------------
def parse_server_timing(value: str | list[str] | tuple[str, ...] | None) -> dict[str, float]:
    """``verify;dur=0.120, app;dur=0.410`` → ``{"verify": 0.12, "app": 0.41}`` (ms).

    As the Server-Timing grammar allows: the header repeated (a proxy adding its own line;
    HTTP clients hand those over as a list), spaces around ``;`` and ``=``, parameter names in
    any case, quoted values. A metric named twice keeps its first duration.
    """
    if isinstance(value, (list, tuple)):
        value = ", ".join(value)
    out: dict[str, float] = {}
    for part in (value or "").split(","):
        name, *params = (piece.strip() for piece in part.split(";"))
        for param in params:
            key, _, number = param.partition("=")
            if key.strip().lower() == "dur" and name and name not in out:
                try:
                    out[name] = float(number.strip().strip('"'))
                except ValueError:
                    pass
    return out


def record_server_timing(environment: Any, name: str, header: str | None) -> None:
    for metric, ms in parse_server_timing(header).items():
        if metric == "verify" and ms <= 0:
            continue  # this request verified nothing: no sample, or the percentiles lie
        # Logged on its own stats entry (type SERVER-TIMING), not through events.request:
        # the entry reaches Locust's console, CSV, HTML and the distributed master like any
        # request, while the "Aggregated" row keeps counting real HTTP requests only.
        environment.stats.get(f"{metric} {name} [us]", SERVER_TIMING).log(ms * 1000.0, 0)


# -- the httpx-shaped adapter -----------------------------------------------------------
class LocustResponse:
    """The part of ``httpx.Response`` that :mod:`scenarios.client` reads."""

    __slots__ = ("status_code", "content", "headers", "request")

    def __init__(self, method: str, path: str, raw: Any) -> None:
        self.status_code = int(raw.status_code or 0)
        self.content = raw.content or b""
        self.headers = raw.headers or {}
        self.request = SimpleNamespace(method=method, url=SimpleNamespace(path=path))

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class LocustHttp:
    """``DfnsApi(LocustHttp(user))``: every request timed by Locust, Server-Timing recorded."""

    def __init__(self, user: Any, label: str = "") -> None:
        self.session = user.client
        self.environment = user.environment
        self.label = f" ({label})" if label else ""

    def request(self, method: str, path: str, *, content: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> LocustResponse:
        name = path + self.label
        raw = self.session.request(method, path, data=content, headers=dict(headers or {}),
                                   name=name)
        BUDGET.spend(self.environment)
        headers_in = raw.headers or {}
        record_server_timing(self.environment, name, headers_in.get("server-timing"))
        return LocustResponse(method, path, raw)


# -- bootstrap and identities ----------------------------------------------------------
def load_bootstrap(path: str | None = None) -> dict[str, Any]:
    path = path or os.environ.get(BOOTSTRAP_ENV)
    if not path:
        raise SystemExit(f"set {BOOTSTRAP_ENV} to the file written by "
                         "dfns-sim serve --bootstrap-out")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def make_device(kind: str, *, origin: str, username: str, registration: bool = False) -> Any:
    """A virtual authenticator of ``kind``: ``Key:<alg>``, ``PasswordProtectedKey`` or ``Fido2``."""
    from virtual_authenticators import authenticator_for

    knobs: dict[str, Any] = {}
    if kind.startswith("Key"):
        kind, _, algorithm = kind.partition(":")
        knobs["algorithm"] = algorithm or "P-256"
    elif kind == "PasswordProtectedKey" and registration:
        knobs["iterations"] = PPK_REGISTRATION_ITERATIONS
    elif kind == "Fido2":
        knobs["algorithms"] = (-7,)
    elif kind == "RecoveryKey":  # recovery keys never sign actions or logins
        raise ValueError(f"unknown credential kind {kind!r}")
    return authenticator_for(kind, origin=origin, username=username,
                             password="load-test-password", **knobs)


@dataclass
class Identity:
    kind: str
    username: str
    device: Any
    token: str


class Provisioner:
    """Registers users through the bootstrap service account, outside Locust's timing."""

    def __init__(self, host: str | None = None, bootstrap: dict[str, Any] | None = None) -> None:
        self.bootstrap = bootstrap or load_bootstrap()
        self.host = (host or self.bootstrap["baseUrl"]).rstrip("/")
        self._lock = threading.Lock()
        self._http: httpx.Client | None = None
        self._pools: dict[str, list[Identity]] = {}

    @property
    def origin(self) -> str:
        return str(self.bootstrap["origin"])

    @property
    def org_id(self) -> str:
        return str(self.bootstrap["orgId"])

    def sa(self) -> DfnsApi:
        if self._http is None:
            self._http = httpx.Client(base_url=self.host, timeout=30)
        return service_account_api(self._http, self.bootstrap)

    def provision(self, kind: str) -> Identity:
        with self._lock:  # one shared httpx client: never two greenlets on it at once
            return self._provision(kind)

    def _provision(self, kind: str) -> Identity:
        username = unique_username(kind.replace(":", "-").lower())
        device = make_device(kind, origin=self.origin, username=username)
        sa = self.sa()
        register_delegated(sa, username, device)
        return Identity(kind, username, device, delegated_login(sa, username))

    def prefill(self, wanted: Mapping[str, int]) -> None:
        # Users starting meanwhile wait on the lock, then take from the full pools.
        with self._lock:
            for kind, count in sorted(wanted.items()):
                for _ in range(count):
                    self._pools.setdefault(kind, []).append(self._provision(kind))

    def take(self, kind: str) -> Identity:
        """A pre-provisioned identity of ``kind`` (one per Locust user), or a new one."""
        with self._lock:
            pool = self._pools.get(kind)
            if pool:
                return pool.pop()
            return self._provision(kind)


_provisioner: Provisioner | None = None


def provisioner(host: str | None = None) -> Provisioner:
    global _provisioner
    if _provisioner is None:
        _provisioner = Provisioner(host)
    return _provisioner


def pool_size() -> int:
    """Identities to pre-provision per kind at test start (``DFNS_LOAD_POOL``)."""
    return int(os.environ.get("DFNS_LOAD_POOL", "0") or 0)


def credential_code_body() -> dict[str, Any]:
    """The protected call of the hot path: a credential code valid for 50 s (ms epoch)."""
    return {"expiration": int((time.time() + 50) * 1000)}
