"""Dfns key-based kinds (credentials.md §3–§6): Key, PasswordProtectedKey, RecoveryKey —
registration (fingerprint attestation) and assertion (``key.get`` clientData signed)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conformance import craft
from conformance.checks._contexts import (
    ASSERTION_CONTEXTS,
    at_credential,
    at_recovery_registration,
    at_registration,
)
from conformance.registry import add
from simulator import errors as E

ALGORITHMS = ("P-256", "secp256k1", "Ed25519", "RSA-2048")
LAYOUTS = ("docs-sorted", "python-sdk", "ts-two-field")
SUBJECT = {"Key": "KEY", "PasswordProtectedKey": "PPK", "RecoveryKey": "RK"}
GROUP = {"Key": "KEY", "PasswordProtectedKey": "PPK", "RecoveryKey": "RK"}
WRAPPED = "encrypted-private-key-blob-for-conformance"


def _extra(kind: str) -> dict[str, Any]:
    return {"encryptedPrivateKey": WRAPPED} if kind != "Key" else {}


# registration contexts per kind: (challenge type, presenter)
def _reg_contexts(kind: str) -> list[tuple[str, Any]]:
    if kind == "RecoveryKey":
        return [("registration", at_recovery_registration), ("credential", at_credential)]
    return [("registration", at_registration), ("credential", at_credential)]


# rule, status, message, guards, crafted-key knobs
REG_FAULTS: list[tuple[str, int, str | None, tuple[str, ...], dict[str, Any]]] = [
    ("clientData.type must be key.create (key.get given)", 401, E.INVALID_CLIENT_DATA_TYPE,
     ("key.clientdata.type",), {"cd_type": "key.get"}),
    ("clientData.type must be key.create (webauthn.create given)", 401, E.INVALID_CLIENT_DATA_TYPE,
     ("key.clientdata.type",), {"cd_type": "webauthn.create"}),
    ("clientData.challenge must be the challenge issued", 401, E.CHALLENGE_MISMATCH,
     ("key.clientdata.challenge",), {"challenge": "Y2gtbm90LXRoaXMtb25l"}),
    ("clientData.crossOrigin, if present, must be false", 401, E.CROSS_ORIGIN,
     ("key.clientdata.cross_origin",), {"cross_origin": True}),
    ("attestationData.algorithm must be RSA-SHA256, SHA256 or SHA512", 400,
     E.UNSUPPORTED_ALGORITHM, ("key.algorithm",), {"algorithm": "MD5"}),
    ("RSA public keys must have at least 2048 bits", 400, E.INVALID_PUBLIC_KEY,
     ("key.public_key.rsa_size",),
     {"key": lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024)}),
    ("EC public keys must be on P-256, secp256k1 or P-384 (P-521 given)", 400,
     E.INVALID_PUBLIC_KEY, ("key.public_key.curve",),
     {"key": lambda: ec.generate_private_key(ec.SECP521R1())}),
    ("attestation signature must verify over the fingerprint", 401, E.INVALID_SIGNATURE,
     ("key.attestation.signature",), {"tamper": True}),
    ("fingerprint must hash exactly the clientData bytes sent", 401, E.INVALID_SIGNATURE,
     ("key.attestation.signature",), {"hash_of": b"other client data"}),
    ("attestationData.publicKey must be a PEM public key", 400, E.INVALID_PUBLIC_KEY,
     ("key.public_key.pem",),
     {"pem": "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n"}),
]


def _crafted(ctx: Any, kind: str, knobs: dict[str, Any]) -> craft.CraftedKey:
    knobs = dict(knobs)
    if callable(knobs.get("key")):
        knobs["key"] = knobs["key"]()
    return craft.CraftedKey(ctx.origin, kind=kind, extra=_extra(kind), **knobs)


for kind in ("Key", "PasswordProtectedKey", "RecoveryKey"):
    for challenge_type, present in _reg_contexts(kind):
        subject = f"{'REG' if challenge_type == 'registration' else 'CRED'}-{SUBJECT[kind]}"
        for rule, status, message, guards, knobs in REG_FAULTS:
            add(GROUP[kind], subject, "F", rule, "credentials.md §3.2",
                lambda ctx, p=present, k=kind, kn=knobs: p(ctx, _crafted(ctx, k, kn)),
                status=status, message=message, guards=guards, cells=[(challenge_type, kind)])
        if kind == "PasswordProtectedKey":
            add(GROUP[kind], subject, "F", f"{kind} needs encryptedPrivateKey", "credentials.md §2",
                lambda ctx, p=present, k=kind: p(ctx, craft.CraftedKey(ctx.origin, kind=k)),
                status=400, guards=("ppk.encrypted_key",), cells=[(challenge_type, kind)])
        if kind == "RecoveryKey":
            add(GROUP[kind], subject, "P", "encryptedPrivateKey is optional for a RecoveryKey",
                "credentials.md §2",
                lambda ctx, p=present, k=kind: p(ctx, craft.CraftedKey(ctx.origin, kind=k)),
                cells=[(challenge_type, kind)])
        # positives: algorithms (Key / PPK; RecoveryKey is always P-256) and clientData layouts
        algorithms = ALGORITHMS if kind != "RecoveryKey" else ("P-256",)
        for algorithm in algorithms:
            add(GROUP[kind], subject, "P", f"a {algorithm} {kind} registers", "credentials.md §3.2",
                lambda ctx, p=present, k=kind, a=algorithm: p(ctx, ctx.device(
                    k, ctx.name(), **({"algorithm": a} if k != "RecoveryKey" else {}))),
                cells=[(challenge_type, kind)])
        if kind != "RecoveryKey":
            for layout in LAYOUTS:
                add(GROUP[kind], subject, "P", f"clientData layout '{layout}' is accepted",
                    "credentials.md §3.1",
                    lambda ctx, p=present, k=kind, lay=layout: p(ctx, ctx.device(
                        k, ctx.name(), client_data_layout=lay)),
                    cells=[(challenge_type, kind)])
        add(GROUP[kind], subject, "P", f"a P-384 {kind} key registers", "credentials.md §3.2",
            lambda ctx, p=present, k=kind: p(ctx, craft.CraftedKey(
                ctx.origin, kind=k, key=ec.generate_private_key(ec.SECP384R1()), extra=_extra(k))),
            cells=[(challenge_type, kind)])

# -- assertions (Key, PasswordProtectedKey) ---------------------------------------------------
ASSERT_FAULTS: list[tuple[str, int, str | None, tuple[str, ...], dict[str, Any]]] = [
    ("clientData.type must be key.get (key.create given)", 401, E.INVALID_CLIENT_DATA_TYPE,
     ("key.clientdata.type",), {"cd_type": "key.create"}),
    ("clientData.type must be key.get (webauthn.get given)", 401, E.INVALID_CLIENT_DATA_TYPE,
     ("key.clientdata.type",), {"cd_type": "webauthn.get"}),
    ("clientData.challenge must be the challenge issued", 401, E.CHALLENGE_MISMATCH,
     ("key.clientdata.challenge",), {"challenge_override": "Y2gtbm90LXRoaXMtb25l"}),
    ("clientData.crossOrigin, if present, must be false", 401, E.CROSS_ORIGIN,
     ("key.clientdata.cross_origin",), {"cross_origin": True}),
    ("signature must verify over the clientData bytes", 401, E.INVALID_SIGNATURE,
     ("key.assertion.signature",), {"tamper": True}),
    ("signature by another key is rejected", 401, E.INVALID_SIGNATURE,
     ("key.assertion.signature",), {"key": lambda: ec.generate_private_key(ec.SECP256R1())}),
]


def _key_signer(actor: Any, knobs: dict[str, Any]) -> Any:
    knobs = dict(knobs)
    if callable(knobs.get("key")):
        knobs["key"] = knobs["key"]()
    return lambda challenge: craft.key_assertion(actor.device, challenge["challenge"], **knobs)


def _mutating_signer(actor: Any, mutate: Any) -> Any:
    def sign(challenge: dict[str, Any]) -> dict[str, Any]:
        out = actor.device.sign(challenge)
        mutate(out)
        return out
    return sign


# (rule, status, message, mutation, rule ids guarded)
ASSERT_STRUCT = [
    ("credId must be one of allowCredentials", 401, E.INVALID_CREDENTIAL,
     lambda a: a["credentialAssertion"].__setitem__("credId", "dW5rbm93bi1jcmVk"),
     ("credential.allowed",)),
    ("kind must match the credential's kind", 401, E.INVALID_CREDENTIAL,
     lambda a: a.__setitem__("kind", "Fido2" if a["kind"] != "Fido2" else "Key"),
     ("credential.allowed",)),
    ("clientData must decode to JSON", 400, E.INVALID_CLIENT_DATA,
     lambda a: a["credentialAssertion"].__setitem__("clientData", "e3t7"),
     ("clientdata.encoding",)),
    ("signature is required", 400, "is required",
     lambda a: a["credentialAssertion"].pop("signature"), ("schema.required",)),
]

for kind in ("Key", "PasswordProtectedKey"):
    for challenge_type, present in ASSERTION_CONTEXTS.items():
        subject = f"{'LOGIN' if challenge_type == 'login' else 'ACT'}-{SUBJECT[kind]}"
        needs = ("sim",) if (kind == "PasswordProtectedKey" and challenge_type == "login") else ()
        for rule, status, message, guards, knobs in ASSERT_FAULTS:
            add(GROUP[kind], subject, "F", rule, "credentials.md §3.3",
                lambda ctx, p=present, k=kind, kn=knobs: (lambda a: p(ctx, a, _key_signer(a, kn)))(
                    ctx.user(k)),
                status=status, message=message, guards=guards, needs=needs,
                cells=[(challenge_type, kind)])
        for rule, status, message, mutate, guards in ASSERT_STRUCT:
            add(GROUP[kind], subject, "F", rule, "credentials.md §3.3; errors.md §3.3",
                lambda ctx, p=present, k=kind, m=mutate: (
                    lambda a: p(ctx, a, _mutating_signer(a, m)))(ctx.user(k)),
                status=status, message=message, needs=needs, cells=[(challenge_type, kind)],
                guards=guards)
        for algorithm in ALGORITHMS:
            add(GROUP[kind], subject, "P", f"a {algorithm} {kind} assertion verifies",
                "credentials.md §3.3",
                lambda ctx, p=present, k=kind, a=algorithm: (
                    lambda actor: p(ctx, actor, actor.device.sign))(ctx.user(k, algorithm=a)),
                needs=needs, cells=[(challenge_type, kind)])
        for layout in LAYOUTS:
            add(GROUP[kind], subject, "P", f"clientData layout '{layout}' is accepted",
                "credentials.md §3.1",
                lambda ctx, p=present, k=kind, lay=layout: (
                    lambda actor: p(ctx, actor, actor.device.sign))(
                    ctx.user(k, client_data_layout=lay)),
                needs=needs, cells=[(challenge_type, kind)])
        add(GROUP[kind], subject, "P", "base64url(C) as clientData challenge is accepted",
            "credentials.md §7",
            lambda ctx, p=present, k=kind: (lambda actor: p(ctx, actor, actor.device.sign))(
                ctx.user(k, challenge_encoding="base64url")),
            needs=needs, cells=[(challenge_type, kind)])

# RecoveryKey never answers login / user-action challenges
for challenge_type in ("login", "user action"):
    subject = f"{'LOGIN' if challenge_type == 'login' else 'ACT'}-RK"

    def _rk_as_signer(ctx: Any, ct: str = challenge_type) -> Any:
        actor = ctx.user("Key", with_recovery=True)
        rk = actor.recovery

        def sign(challenge: dict[str, Any]) -> dict[str, Any]:
            return craft.key_assertion(rk, challenge["challenge"])
        return ASSERTION_CONTEXTS[ct](ctx, actor, sign)

    add("RK", subject, "F", "a RecoveryKey cannot answer a login / user-action challenge",
        "errors.md §3.3", _rk_as_signer, status=401, message=E.INVALID_CREDENTIAL,
        guards=("credential.allowed",), cells=[(challenge_type, "Key")])
