"""Locust user bases shared by the profiles (imported by the locustfiles in ``load/profiles``).

A profile user owns one identity (user + credential + login token) taken at ``on_start`` from a
pool provisioned at test start (``DFNS_LOAD_POOL`` per kind), so nothing but the flows under
test is timed. Think time is ``DFNS_LOAD_WAIT`` seconds (default 0: closed loop, flat out).
"""

from __future__ import annotations

import csv
import json
import math
import os
from typing import Any, ClassVar

from locust import FastHttpUser, constant, events
from locust.runners import MasterRunner, WorkerRunner

from load import common
from load.common import DfnsApi, LocustHttp, credential_code_body, ok
from scenarios.client import login


@events.init.add_listener
def _on_init(environment: Any, runner: Any = None, **_: Any) -> None:
    host = environment.host or common.load_bootstrap().get("baseUrl", "")
    environment.host = host
    common.check_target(host)
    # Provision here, not at test_start: init runs before Locust starts its --run-time clock,
    # so the measured window holds nothing but the flows under test. The master runs no users.
    runner = runner or environment.runner
    if isinstance(runner, MasterRunner):
        runner.register_message(common.BUDGET_MESSAGE, _budget_spent)
    else:
        _prefill(environment)


def _budget_spent(environment: Any, msg: Any, **_: Any) -> None:
    """A worker spent its --max-requests: end the whole run from here (the master stops the
    workers and keeps their final stats)."""
    import gevent

    if environment.runner is not None and not getattr(environment, "_dfns_budget_quit", False):
        environment._dfns_budget_quit = True
        gevent.spawn(environment.runner.quit)


@events.quitting.add_listener
def _write_final_stats(environment: Any, **_: Any) -> None:
    """Final figures for ``dfns-sim load``'s summary (Locust rewrites its CSV only once a
    second, so a run stopped by the request budget could leave it stale)."""
    target = os.environ.get(common.FINAL_STATS_ENV)
    if not target or isinstance(environment.runner, WorkerRunner):
        return
    stats = environment.runner.stats if environment.runner else environment.stats
    rows = []
    for entry in [*stats.entries.values(), stats.total]:
        rows.append({
            "type": entry.method or "", "name": entry.name, "requests": entry.num_requests,
            "failures": entry.num_failures, "rps": round(entry.total_rps, 1),
            **{f"p{int(q * 100)}": (entry.get_response_time_percentile(q)
                                    if entry.num_requests else 0)
               for q in (0.5, 0.95, 0.99)},
            "max": entry.max_response_time or 0,
        })
    with open(target, "w", encoding="utf-8") as handle:
        json.dump({"rows": rows, "errors": len(stats.errors)}, handle, indent=2)
    _rewrite_csv(environment)


def _rewrite_csv(environment: Any) -> None:
    """Locust's own ``--csv`` files from the final figures: Locust refreshes them once a
    second, so without this they miss the last requests (or all, after an early stop)."""
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if not prefix:
        return
    from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    with open(f"{prefix}_stats.csv", "w", newline="", encoding="utf-8") as handle:
        writer.requests_csv(csv.writer(handle))
    with open(f"{prefix}_failures.csv", "w", newline="", encoding="utf-8") as handle:
        writer.failures_csv(csv.writer(handle))


def _prefill(environment: Any) -> None:
    total_users = common.pool_size()
    classes = [c for c in environment.user_classes if getattr(c, "identity_kinds", ())]
    if not classes or not total_users:
        return
    total_weight = sum(c.weight for c in classes)
    wanted: dict[str, int] = {}
    for user_class in classes:  # each class gets users in proportion to its weight
        share = math.ceil(total_users * user_class.weight / total_weight)
        for kind in user_class.identity_kinds:
            wanted[kind] = wanted.get(kind, 0) + share
    common.provisioner(environment.host).prefill(wanted)


class DfnsUser(FastHttpUser):
    abstract = True
    wait_time = constant(float(os.environ.get("DFNS_LOAD_WAIT", "0") or 0))
    # several sequential requests per flow, all to the same host: keep the connection
    concurrency = 1
    identity_kinds: ClassVar[tuple[str, ...]] = ()

    def api(self, token: str | None = None, signer: Any = None) -> DfnsApi:
        # stats rows per credential kind: "/auth/action (Key:Ed25519)"
        return DfnsApi(LocustHttp(self, self.kind_label), token, signer)  # type: ignore[arg-type]

    @property
    def kind_label(self) -> str:
        return str(getattr(self, "kind", ""))

    @property
    def prov(self) -> common.Provisioner:
        return common.provisioner(self.host)


class SigningUser(DfnsUser):
    """Hot path: init → sign with the virtual authenticator → complete → the protected call."""

    abstract = True
    kind: ClassVar[str] = "Key:P-256"

    def on_start(self) -> None:
        self.identity = self.prov.take(self.kind)
        self.user_api = self.api(self.identity.token, self.identity.device)

    def signed_action(self) -> Any:
        return ok(self.user_api.signed("POST", "/auth/credentials/code", credential_code_body()))


class LoginUser(DfnsUser):
    """Login: init → sign → complete."""

    abstract = True
    kind: ClassVar[str] = "Key:P-256"

    def on_start(self) -> None:
        self.identity = self.prov.take(self.kind)
        self.anon = self.api(None)

    def do_login(self) -> str:
        return login(self.anon, org_id=self.prov.org_id, username=self.identity.username,
                     device=self.identity.device)


class RegistrationUser(DfnsUser):
    """Delegated registration by the bootstrap service account, completed by a new device."""

    abstract = True
    kind: ClassVar[str] = "Key:P-256"

    def on_start(self) -> None:
        bootstrap = self.prov.bootstrap
        self.sa = common.service_account_api(LocustHttp(self, self.kind), bootstrap)  # type: ignore[arg-type]

    def do_register(self) -> Any:
        username = common.unique_username("reg")
        device = common.make_device(self.kind, origin=self.prov.origin, username=username,
                                    registration=True)
        return common.register_delegated(self.sa, username, device)
