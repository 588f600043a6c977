"""Where a crafted credential or assertion is presented: the challenge types of the matrix.

Registration-side contexts take a *registrar* (``register(challenge) -> attestation``) and
return the response of the completing call; assertion-side contexts take an actor and a
*signer function* (``challenge -> firstFactor``) and return the completing call's response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from conformance.target import Actor, Ctx
from scenarios.client import ok


def at_registration(ctx: Ctx, registrar: Any) -> httpx.Response:
    challenge = ctx.registration_challenge()
    return ctx.complete_registration(challenge, registrar.register(challenge))


def at_recovery_registration(ctx: Ctx, registrar: Any) -> httpx.Response:
    """The registrar's answer as the recoveryCredential next to a good Key first factor."""
    challenge = ctx.registration_challenge()
    first = ctx.device("Key").register(challenge)
    return ctx.complete_registration(challenge, first, registrar.register(challenge))


def at_credential(ctx: Ctx, registrar: Any) -> httpx.Response:
    actor = ctx.user("Key")
    challenge = ctx.credential_challenge(actor, registrar.kind)
    return ctx.credential_complete(actor, challenge, registrar.register(challenge))


def at_credential_code(ctx: Ctx, registrar: Any) -> httpx.Response:
    actor = ctx.user("Key")
    code = ok(actor.api.signed("POST", "/auth/credentials/code",
                               {"expiration": _soon(ctx)}))["code"]
    challenge = ok(ctx.anon.request("POST", "/auth/credentials/code/init",
                                    {"code": code, "credentialKind": registrar.kind}, token=""))
    body = {"challengeIdentifier": challenge["challengeIdentifier"],
            "credentialName": "with code", **registrar.register(challenge)}
    return ctx.anon.request("POST", "/auth/credentials/code/verify", body, token="")


def _soon(ctx: Ctx, seconds: float = 50) -> str:
    import datetime as dt

    if ctx.sim is not None:
        now = ctx.sim.clock.now()
        return dt.datetime.fromtimestamp(now + seconds, dt.UTC).isoformat().replace(
            "+00:00", "Z")
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).isoformat().replace(
        "+00:00", "Z")


soon = _soon

REGISTRATION_CONTEXTS: dict[str, Callable[[Ctx, Any], httpx.Response]] = {
    "registration": at_registration,
    "credential": at_credential,
}

Signer = Callable[[dict[str, Any]], dict[str, Any]]


def at_login(ctx: Ctx, actor: Actor, signer: Signer) -> httpx.Response:
    challenge = ctx.login_challenge(actor)
    return ctx.login_complete(challenge, signer(challenge))


def at_action(ctx: Ctx, actor: Actor, signer: Signer) -> httpx.Response:
    challenge = ctx.action_challenge(actor)
    return ctx.action_complete(actor, challenge, signer(challenge))


ASSERTION_CONTEXTS: dict[str, Callable[[Ctx, Actor, Signer], httpx.Response]] = {
    "login": at_login,
    "user action": at_action,
}
