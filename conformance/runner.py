"""Run one check against a target and judge it.

Used by the pytest plugin and the mutation proof.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.registry import Check
from conformance.target import Ctx, Exchange, Target


class CheckFailed(AssertionError):
    pass


@dataclass
class Outcome:
    passed: bool
    detail: str = ""
    observed: str = ""
    seconds: float = 0.0
    exchanges: list[Exchange] = field(default_factory=list)


def envelope_problem(response: httpx.Response) -> str | None:
    """What is wrong with a rejection's body, judged against errors.md §1 (None: it is fine)."""
    try:
        body = response.json()
    except ValueError:
        return "error body is not JSON"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "error body has no 'error' object"
    if error.get("status") != response.status_code:
        return f"error.status {error.get('status')!r} differs from HTTP {response.status_code}"
    if not isinstance(error.get("message"), str) or not error["message"]:
        return "error.message missing"
    return None


def message_of(response: httpx.Response) -> str:
    """The error message, or the (secret-masked, shortened) body of a success."""
    from conformance.target import mask_text
    from scenarios.client import envelope_message

    message = envelope_message(response)
    return message if message is not None else mask_text(response.text)[:300]


def judge(check: Check, result: Any) -> None:
    if check.self_judged:
        return
    if check.expect == "P":
        if isinstance(result, httpx.Response) and result.status_code >= 400:
            raise CheckFailed(f"expected success, got {result.status_code} {message_of(result)!r}")
        return
    if not isinstance(result, httpx.Response):
        raise CheckFailed("F-check did not return the response to judge")
    if result.status_code != check.status:
        raise CheckFailed(f"expected {check.status} {check.message or ''!s}, got "
                          f"{result.status_code} {message_of(result)!r}")
    problem = envelope_problem(result)
    if problem:
        raise CheckFailed(f"rejected with {result.status_code} but {problem}")
    if check.message and check.message not in message_of(result):
        raise CheckFailed(f"expected message containing {check.message!r}, got "
                          f"{message_of(result)!r}")


def run_check(check: Check, target: Target) -> Outcome:
    start = time.perf_counter()
    ctx: Ctx = target.new_ctx()
    try:
        result = check.fn(ctx)
        judge(check, result)
        outcome = Outcome(True)
    except Exception as exc:  # noqa: BLE001 - every failure is a red check with its reason
        outcome = Outcome(False, detail=f"{type(exc).__name__}: {exc}")
    finally:
        ctx.close()
    outcome.exchanges = ctx.exchanges
    if ctx.exchanges:
        last = ctx.exchanges[-1]
        outcome.observed = f"{last.title()} {last.response_body[:400]}"
    outcome.seconds = time.perf_counter() - start
    return outcome
