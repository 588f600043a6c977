"""Property-based checks (hypothesis): random mutations of valid requests are rejected cleanly
(a 4xx in the Dfns envelope, never a 2xx or a 5xx); random valid flows succeed."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.registry import add
from conformance.runner import CheckFailed, envelope_problem, message_of

SETTINGS = settings(max_examples=25, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _flip(text: str, index: int, bit: int) -> str:
    raw = bytearray(_b64d(text))
    raw[index % len(raw)] ^= 1 << bit
    return _b64e(bytes(raw))


def _clean_rejection(response: Any, what: str) -> None:
    if not 400 <= response.status_code < 500:
        raise CheckFailed(f"{what}: expected a 4xx, got {response.status_code} "
                          f"{message_of(response)!r}")
    problem = envelope_problem(response)
    if problem:
        raise CheckFailed(f"{what}: {problem}")


MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.sampled_from(["clientData", "signature", "authenticatorData"]),
              st.integers(0, 400), st.integers(0, 7)),
    st.tuples(st.just("drop"), st.sampled_from(["credId", "clientData", "signature",
                                                "authenticatorData", "kind"]),
              st.just(0), st.just(0)),
    st.tuples(st.just("type"), st.sampled_from(["credId", "clientData", "signature", "kind"]),
              st.sampled_from([0, 1, 2, 3]), st.just(0)),
)
ODD_VALUES = [None, 12345, ["a"], {"x": 1}]


def _mutate(first: dict[str, Any], mutation: tuple[str, str, int, int]) -> dict[str, Any]:
    op, field, a, b = mutation
    out = copy.deepcopy(first)
    inner = out["credentialAssertion"]
    holder = out if field == "kind" else inner
    if field not in holder:
        holder = inner if "clientData" in inner else out
        field = "clientData"
    if op == "flip":
        holder[field] = _flip(holder[field], a, b)
    elif op == "drop":
        holder.pop(field, None)
    else:
        holder[field] = ODD_VALUES[a]
    return out


def _mutated_assertions(kind: str, where: str) -> Any:
    def run(ctx: Any) -> None:
        actor = ctx.user(kind)

        @SETTINGS
        @given(MUTATION)
        def prop(mutation: tuple[str, str, int, int]) -> None:
            if where == "login":
                challenge = ctx.login_challenge(actor)
                response = ctx.login_complete(challenge,
                                              _mutate(actor.device.sign(challenge), mutation))
            else:
                challenge = ctx.action_challenge(actor)
                response = ctx.action_complete(actor, challenge,
                                               _mutate(actor.device.sign(challenge), mutation))
            _clean_rejection(response, f"mutation {mutation}")

        prop()
    return run


def _mutated_registration(kind: str) -> Any:
    def run(ctx: Any) -> None:
        @SETTINGS
        @given(st.sampled_from(["clientData", "attestationData", "credId"]), st.integers(0, 600),
               st.integers(0, 7))
        def prop(field: str, index: int, bit: int) -> None:
            challenge = ctx.registration_challenge()
            attestation = ctx.device(kind).register(challenge)
            info = attestation["credentialInfo"]
            if field == "credId" and kind != "Fido2":
                field = "clientData"
            info[field] = _flip(info[field], index, bit)
            _clean_rejection(ctx.complete_registration(challenge, attestation),
                             f"flip {field}[{index}] bit {bit}")

        prop()
    return run


def _random_json_bodies(ctx: Any) -> None:
    from conformance.checks._contexts import soon
    from scenarios.client import ok

    json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                               lambda inner: st.lists(inner, max_size=3)
                               | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                               max_leaves=8)
    # well-shaped bodies with random values too: a guessed one-time code must never work
    guessed_codes = st.fixed_dictionaries({"code": st.text(min_size=1, max_size=12),
                                           "credentialKind": st.just("Key")})
    paths = ["/auth/login/init", "/auth/login", "/auth/registration/init",
             "/auth/credentials/code/init", "/auth/credentials/code/verify"]
    actor = ctx.user("Key")  # holds a live credential code while the bodies fly
    ok(actor.api.signed("POST", "/auth/credentials/code", {"expiration": soon(ctx)}))

    @SETTINGS
    @given(st.sampled_from(paths), json_values | guessed_codes)
    def prop(path: str, body: Any) -> None:
        response = ctx.http.post(path, content=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
        _clean_rejection(response, f"POST {path} {body!r}")

    prop()


def _random_valid_flows(ctx: Any) -> None:
    @settings(max_examples=12, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(["Key", "Fido2"]), st.sampled_from(["P-256", "secp256k1", "Ed25519"]),
           st.sampled_from(["docs-sorted", "python-sdk", "ts-two-field"]),
           st.sampled_from([-7, -8]), st.integers(1, 3))
    def prop(kind: str, algorithm: str, layout: str, cose: int, actions: int) -> None:
        knobs = ({"algorithm": algorithm, "client_data_layout": layout} if kind == "Key"
                 else {"algorithms": (cose,)})
        actor = ctx.user(kind, **knobs)
        challenge = ctx.login_challenge(actor)
        response = ctx.login_complete(challenge, actor.device.sign(challenge))
        if response.status_code != 200:
            raise CheckFailed(f"login failed: {response.status_code} {message_of(response)}")
        for _ in range(actions):
            challenge = ctx.action_challenge(actor)
            response = ctx.action_complete(actor, challenge, actor.device.sign(challenge))
            if response.status_code != 200:
                raise CheckFailed(f"action failed: {response.status_code} {message_of(response)}")

    prop()


for kind in ("Key", "Fido2"):
    for where in ("login", "user action"):
        add("PROP", "PROP", "F", f"random mutations of a valid {kind} {where} assertion are "
            "rejected with a 4xx envelope", "errors.md §1, §3.3", _mutated_assertions(kind, where),
            self_judged=True, cells=[(where, kind)],
            guards=(("key.assertion.signature",) if kind == "Key"
                    else ("fido2.assertion.signature",)))
    add("PROP", "PROP", "F", f"random bit flips in a valid {kind} registration are rejected "
        "with a 4xx envelope", "errors.md §3.3", _mutated_registration(kind), self_judged=True,
        cells=[("registration", kind)],
        guards=(("key.attestation.signature",) if kind == "Key"
                else ("fido2.authdata.credential_id",)))
add("PROP", "PROP", "F", "random JSON bodies on unauthenticated routes are rejected with a 4xx "
    "envelope", "errors.md §3.1", _random_json_bodies, self_judged=True, guards=("code.known",))
add("PROP", "PROP", "P", "random valid register / login / action flows succeed", "flows.md §2-§5",
    _random_valid_flows)
