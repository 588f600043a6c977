"""Schemathesis fuzzing of the whole API through the HTTP door, from our OpenAPI document.

Each operation gets positive (schema-valid) and negative (schema-violating) cases. User-action
routes get, for half of their cases, a real ``X-DFNS-USERACTION`` token signed by the bootstrap
service account for exactly that method, path and body, so the fuzzer reaches the handlers
behind the user-action gate instead of bouncing off it.

Checks per response: no 5xx; every 4xx is the Dfns error envelope with matching status. After
the run: the state invariants of :mod:`invariants` and the audit chain.

Long run (documented in docs/persistence-and-hardening.md, ``make fuzz``)::

    .venv/bin/python -m tests.hardening.fuzzing --requests 10000
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from scenarios.client import service_account_api
from simulator import Simulator
from simulator.http.openapi import build_openapi
from simulator.server import ThreadedServer

from .invariants import check_invariants, used_items

MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
UVICORN_BAD_REQUEST = "Invalid HTTP request received."
REQUEST_LINE_LIMIT = 8192


@dataclass
class FuzzReport:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    per_operation: Counter = field(default_factory=Counter)
    signed_user_actions: int = 0
    oversized_request_lines: int = 0
    failures: list[str] = field(default_factory=list)
    invariant_problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {"requests": self.requests, "operations": len(self.per_operation),
                "statuses": dict(sorted(self.statuses.items())),
                "signedUserActions": self.signed_user_actions,
                "oversizedRequestLines": self.oversized_request_lines,
                "failures": len(self.failures), "invariantProblems": len(self.invariant_problems),
                "seconds": round(self.seconds, 1)}


def envelope_problem(status: int, text: str) -> str | None:
    try:
        body = json.loads(text)
    except ValueError:
        return "error body is not JSON"
    inner = body.get("error") if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        return "error body has no 'error' object"
    if inner.get("status") != status or not isinstance(inner.get("message"), str):
        return "error.status/message do not match the response"
    if body.get("message") != inner["message"]:
        return "top-level message differs from error.message"
    return None


def operations(doc: dict[str, Any]) -> list[Any]:
    schema = schemathesis.openapi.from_dict(doc)
    return [result.ok() for result in schema.get_all_operations()]


class Fuzzer:
    def __init__(self, sim: Simulator, base_url: str) -> None:
        self.sim = sim
        self.base_url = base_url
        self.boot = sim.bootstrap()
        self.session = requests.Session()
        self.auth = {"Authorization": f"Bearer {self.boot['serviceAccount']['accessToken']}"}
        self.signer = service_account_api(sim.client(), self.boot)
        self.report = FuzzReport()

    def _user_action(self, case: Any) -> str | None:
        body = None if case.body is None or type(case.body).__name__ == "NotSet" else case.body
        try:
            return self.signer.user_action(case.method.upper(), case.formatted_path, body)
        except Exception:  # noqa: BLE001 - an unsignable case is sent with the fuzzed header
            return None

    def run_case(self, case: Any) -> None:
        headers = dict(self.auth)
        if case.operation.definition.raw.get("parameters") and any(
                p.get("name") == "X-DFNS-USERACTION"
                for p in case.operation.definition.raw["parameters"]):
            if self.report.requests % 2 == 0:
                token = self._user_action(case)
                if token:
                    headers["X-DFNS-USERACTION"] = token
                    self.report.signed_user_actions += 1
        try:
            response = case.call(base_url=self.base_url, session=self.session, headers=headers,
                                 timeout=30)
        except requests.RequestException as exc:
            self.report.failures.append(f"{case.operation.label}: transport error {exc!r}")
            return
        status = response.status_code
        self.report.requests += 1
        self.report.statuses[status] += 1
        self.report.per_operation[case.operation.label] += 1
        if status >= 500:
            self.report.failures.append(
                f"{case.operation.label}: {status} for {case.as_curl_command()}")
        elif status == 400 and response.text == UVICORN_BAD_REQUEST and \
                len(response.request.url or "") > REQUEST_LINE_LIMIT:
            # A request line longer than the HTTP parser accepts never reaches the app; a real
            # deployment answers it at the load balancer (414). Counted, not a failure.
            self.report.oversized_request_lines += 1
        elif status >= 400:
            problem = envelope_problem(status, response.text)
            if problem:
                self.report.failures.append(
                    f"{case.operation.label}: {status} {problem}: {response.text[:200]}")

    def fuzz(self, ops: list[Any], examples: int, *, derandomize: bool) -> None:
        for op in ops:
            for mode in MODES:
                @settings(max_examples=examples, database=None, deadline=None,
                          derandomize=derandomize, phases=[Phase.generate],
                          suppress_health_check=list(HealthCheck))
                @given(op.as_strategy(generation_mode=mode))
                def run(case: Any) -> None:
                    self.run_case(case)

                run()


def run_fuzz(total_requests: int, *, shard: int = 0, shards: int = 1,
             derandomize: bool = False) -> FuzzReport:
    """Fuzz every route (or one shard of them) with about ``total_requests`` requests."""
    sim = Simulator()
    server = ThreadedServer(sim.app).start()
    try:
        ops = operations(build_openapi(sim.routes))
        mine = ops[shard::shards]
        fuzzer = Fuzzer(sim, server.base_url)
        used_before = used_items(sim.core)
        examples = max(1, math.ceil(total_requests / shards / max(1, len(mine)) / len(MODES)))
        started = time.perf_counter()
        fuzzer.fuzz(mine, examples, derandomize=derandomize)
        fuzzer.report.seconds = time.perf_counter() - started
        fuzzer.report.invariant_problems = check_invariants(sim.core, used_before=used_before)
        # the bootstrap SA still works after everything the fuzzer did
        check = fuzzer.session.get(server.base_url + "/auth/login/init", timeout=10)
        if check.status_code >= 500:
            fuzzer.report.failures.append("server unhealthy after the run")
        return fuzzer.report
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="fuzz the dfns-sim API with schemathesis")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--out", default="reports/fuzz.json")
    args = parser.parse_args(argv)
    report = run_fuzz(args.requests)
    summary = report.summary()
    print(json.dumps(summary, indent=2))
    for line in (report.failures + report.invariant_problems)[:50]:
        print("FAIL", line)
    try:
        with open(args.out, "w") as fh:
            json.dump({**summary, "perOperation": dict(report.per_operation),
                       "failureSamples": report.failures[:50],
                       "invariantProblems": report.invariant_problems[:50]}, fh, indent=2)
    except OSError:
        pass
    ok = not report.failures and not report.invariant_problems and report.requests >= args.requests
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
