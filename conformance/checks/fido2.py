"""FIDO2 server groups for Fido2 credentials (WebAuthn L2 §7.1 registration, §7.2 assertion),
presented at every challenge type a passkey answers: registration, credential creation
(regular), login and user action. One check per (rule, challenge type) cell."""

from __future__ import annotations

import copy
from typing import Any

from conformance import craft
from conformance.checks._contexts import ASSERTION_CONTEXTS, REGISTRATION_CONTEXTS
from conformance.registry import add
from simulator import errors as E
from virtual_authenticators import Fault, b64url_encode

E_AUTHDATA = "invalid authenticatorData"  # simulator.verification._codec (a simulator choice)

BACKUP_STATE = "backup"  # message fragment (simulator.verification.passkeys.BACKUP_STATE_INVALID)

# -- registration-side: authenticator fault flags --------------------------------------------
# fault -> (group, rule, status, message, guarded rule, attestation format to use)
CREATE_FAULTS: list[tuple[Fault, str, str, int, str | None, tuple[str, ...], str]] = [
    (Fault.WRONG_TYPE, "F2-CDATA", "clientData.type must be webauthn.create", 401,
     E.INVALID_CLIENT_DATA_TYPE, ("fido2.clientdata.type",), "none"),
    (Fault.WRONG_CHALLENGE, "F2-CDATA", "clientData.challenge must be the challenge issued", 401,
     E.CHALLENGE_MISMATCH, ("fido2.clientdata.challenge",), "none"),
    (Fault.WRONG_ORIGIN, "F2-CDATA", "clientData.origin must be an origin of the org's apps", 401,
     E.ORIGIN_MISMATCH, ("fido2.clientdata.origin",), "none"),
    (Fault.CROSS_ORIGIN_TRUE, "F2-CDATA", "clientData.crossOrigin must not be true", 401,
     E.CROSS_ORIGIN, ("fido2.clientdata.cross_origin",), "none"),
    (Fault.WRONG_RP_ID_HASH, "F2-ATTOBJ", "authData.rpIdHash must be SHA-256(rpId)", 401,
     E.RPID_MISMATCH, ("fido2.authdata.rp_id_hash",), "none"),
    (Fault.UP_CLEARED, "F2-ATTOBJ", "authData UP flag must be set", 401, E.USER_NOT_PRESENT,
     ("fido2.authdata.user_present",), "none"),
    (Fault.UV_CLEARED, "F2-ATTOBJ", "authData UV flag must be set (userVerification required)",
     401, E.USER_NOT_VERIFIED, ("fido2.authdata.user_verified",), "none"),
    (Fault.BS_WITHOUT_BE, "F2-ATTOBJ", "authData BS flag must not be set without BE", 401,
     BACKUP_STATE, ("fido2.authdata.backup_state",), "none"),
    (Fault.TRAILING_BYTES, "F2-ATTOBJ", "authData must not carry trailing bytes", 400,
     E.INVALID_ATTESTATION, ("fido2.authdata.trailing_bytes",), "none"),
    (Fault.MALFORMED_CBOR, "F2-ATTOBJ", "attestationObject must be well-formed CBOR", 400,
     E.INVALID_ATTESTATION, ("fido2.attestation.encoding",), "none"),
    (Fault.UNKNOWN_ATTESTATION_FORMAT, "F2-FMT", "attestation fmt must be a known format", 400,
     E.INVALID_ATTESTATION, ("fido2.attestation.format",), "none"),
    (Fault.BOGUS_SIGNATURE, "F2-FMT", "packed self attestation sig must verify", 401,
     E.INVALID_SIGNATURE, ("fido2.attestation.packed.signature",), "packed-self"),
    (Fault.BOGUS_SIGNATURE, "F2-FMT", "packed (x5c) attestation sig must verify", 401,
     E.INVALID_SIGNATURE, ("fido2.attestation.packed.signature",), "packed"),
    (Fault.X5C_EXPIRED, "F2-FMT", "packed x5c[0] must be within its validity period", 400,
     E.INVALID_ATTESTATION, ("fido2.attestation.packed.validity",), "packed"),
    (Fault.X5C_WRONG_KEY, "F2-FMT", "packed sig must verify with x5c[0]'s key", 401,
     E.INVALID_SIGNATURE, ("fido2.attestation.packed.signature",), "packed"),
    (Fault.X5C_EMPTY, "F2-FMT", "packed x5c, if present, must not be empty", 400,
     E.INVALID_ATTESTATION, ("fido2.attestation.packed.x5c",), "packed"),
    (Fault.BOGUS_SIGNATURE, "F2-FMT", "fido-u2f attestation sig must verify", 401,
     E.INVALID_SIGNATURE, ("fido2.attestation.fido_u2f.signature",), "fido-u2f"),
]


class _FaultyPasskey:
    kind = "Fido2"

    def __init__(self, ctx: Any, fault: Fault, fmt: str) -> None:
        knobs: dict[str, Any] = {"attestation": fmt}
        if fmt == "fido-u2f":
            knobs["algorithms"] = (-7,)
        self.device = ctx.device("Fido2", **knobs)
        self.fault = fault

    def register(self, challenge: dict[str, Any]) -> dict[str, Any]:
        return self.device.register(challenge, faults=[self.fault])


for _context, _present in REGISTRATION_CONTEXTS.items():
    _subject = "REG-F2" if _context == "registration" else "CRED-F2"
    for fault, group, rule, status, message, guards, fmt in CREATE_FAULTS:
        add(group, _subject, "F", f"{rule} ({fault.value}, {fmt})",
            "WebAuthn §7.1; credentials.md §8.1",
            lambda ctx, p=_present, f=fault, fm=fmt: p(ctx, _FaultyPasskey(ctx, f, fm)),
            status=status, message=message, guards=guards, cells=[(_context, "Fido2")])

# -- registration-side: hand-built structures ----------------------------------------------------
def _p384() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP384R1())


def _p521() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP521R1())


def _rsa() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _k1() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP256K1())


CRAFTED: list[tuple[str, str, int, str | None, tuple[str, ...], Any]] = [
    ("F2-ATTOBJ", "registration authData must carry attested credential data (AT)", 401,
     E.ATTESTED_DATA_MISSING, ("fido2.authdata.attested_data",),
     lambda o: craft.CraftedPasskey(o, flags=0x05, attested=False)),
    ("F2-ATTOBJ", "attested credential id must equal credId", 401, E.CREDENTIAL_ID_MISMATCH,
     ("fido2.authdata.credential_id",),
     lambda o: craft.CraftedPasskey(o, cred_id_in_body=b"another-credential-id")),
    ("F2-ALG", "COSE alg ES384 (-35) is not a supported credential algorithm", 401,
     E.UNSUPPORTED_ALGORITHM, ("fido2.algorithm",),
     lambda o: craft.CraftedPasskey(o, key=_p384(), cose_alg=-35)),
    ("F2-ALG", "COSE alg ES512 (-36) with a P-521 key is rejected", 400, E.INVALID_PUBLIC_KEY,
     ("key.public_key.curve",),
     lambda o: craft.CraftedPasskey(o, key=_p521(), cose_alg=-36)),
    ("F2-ALG", "COSE alg PS256 (-37) is not a supported credential algorithm", 401,
     E.UNSUPPORTED_ALGORITHM, ("fido2.algorithm",),
     lambda o: craft.CraftedPasskey(o, key=_rsa(), cose_alg=-37)),
    ("F2-FMT", "none attestation statement must be empty", 400, E.INVALID_ATTESTATION,
     ("fido2.attestation.none.empty",),
     lambda o: craft.CraftedPasskey(o, stmt=craft.fixed_stmt({"sig": b"1"}))),
    ("F2-FMT", "packed self attestation alg must equal the credential key alg", 400,
     E.INVALID_ATTESTATION, ("fido2.attestation.packed.algorithm",),
     lambda o: craft.CraftedPasskey(o, fmt="packed", stmt=craft.packed_self(alg=-257))),
    ("F2-FMT", "packed x5c[0] must not be a CA certificate (WebAuthn §8.2.1)", 400,
     E.INVALID_ATTESTATION, ("fido2.attestation.packed.certificate",),
     lambda o: craft.CraftedPasskey(o, fmt="packed",
                                    stmt=craft.packed_full(craft.att_cert(ca=True)))),
    ("F2-FMT", "packed x5c[0] OU must be 'Authenticator Attestation' (WebAuthn §8.2.1)", 400,
     E.INVALID_ATTESTATION, ("fido2.attestation.packed.certificate",),
     lambda o: craft.CraftedPasskey(o, fmt="packed",
                                    stmt=craft.packed_full(craft.att_cert(ou="Marketing")))),
    ("F2-FMT", "packed x5c[0] AAGUID extension must equal authData's AAGUID", 400,
     E.INVALID_ATTESTATION, ("fido2.attestation.packed.aaguid",),
     lambda o: craft.CraftedPasskey(o, fmt="packed",
                                    stmt=craft.packed_full(craft.att_cert(aaguid=b"\xff" * 16)))),
    ("F2-FMT", "fido-u2f attestation needs a P-256 credential key", 400, E.INVALID_ATTESTATION,
     ("fido2.attestation.fido_u2f.key",),
     lambda o: craft.CraftedPasskey(o, key=_k1(), cose_alg=-47, fmt="fido-u2f",
                                    stmt=craft.fido_u2f())),
    ("F2-CDATA", "clientData.type webauthn.get is not a registration", 401,
     E.INVALID_CLIENT_DATA_TYPE, ("fido2.clientdata.type",),
     lambda o: craft.CraftedPasskey(o, cd_type="webauthn.get")),
    ("F2-CDATA", "clientData.type key.create is not a Fido2 registration", 401,
     E.INVALID_CLIENT_DATA_TYPE, ("fido2.clientdata.type",),
     lambda o: craft.CraftedPasskey(o, cd_type="key.create")),
]

for _context, _present in REGISTRATION_CONTEXTS.items():
    _subject = "REG-F2" if _context == "registration" else "CRED-F2"
    for group, rule, status, message, guards, make in CRAFTED:
        add(group, _subject, "F", rule, "WebAuthn §7.1 / §8; credentials.md §8.1",
            lambda ctx, p=_present, m=make: p(ctx, m(ctx.origin)),
            status=status, message=message, guards=guards, cells=[(_context, "Fido2")])

# -- structure: mutations of a valid attestation ------------------------------------------------
def _drop(path: tuple[str, ...]) -> Any:
    def mutate(att: dict[str, Any]) -> None:
        node = att
        for key in path[:-1]:
            node = node[key]
        node.pop(path[-1], None)
    return mutate


def _set(path: tuple[str, ...], value: Any) -> Any:
    def mutate(att: dict[str, Any]) -> None:
        node = att
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


# (rule, mutation, expected message (substring), rule ids guarded). The unknown kind is judged
# by the registration schema; at credential creation, by the challenge's kind.
REQUIRED = ("is required", ("schema.required",))
STRUCTURE = [
    ("credentialInfo.credId is required", _drop(("credentialInfo", "credId")), *REQUIRED),
    ("credentialInfo.clientData is required", _drop(("credentialInfo", "clientData")), *REQUIRED),
    ("credentialInfo.attestationData is required", _drop(("credentialInfo", "attestationData")),
     *REQUIRED),
    ("credentialInfo is required", _drop(("credentialInfo",)), *REQUIRED),
    ("credentialKind is required", _drop(("credentialKind",)), *REQUIRED),
    ("credentialKind must be a known kind", _set(("credentialKind",), "Telepathy"),
     "credentialKind", ("schema.enum", "credential.kind")),
    ("credentialInfo.credId must be a string", _set(("credentialInfo", "credId"), 12345),
     "must be a string", ("schema.type",)),
    ("credentialInfo.clientData must be base64url", _set(("credentialInfo", "clientData"), "%%%*"),
     E.INVALID_CLIENT_DATA, ("clientdata.encoding",)),
    ("credentialInfo.clientData must decode to JSON",
     _set(("credentialInfo", "clientData"), b64url_encode(b"not json at all")),
     E.INVALID_CLIENT_DATA, ("clientdata.encoding",)),
    ("credentialInfo.attestationData must be base64url",
     _set(("credentialInfo", "attestationData"), "%%%*"), E.INVALID_ATTESTATION,
     ("fido2.attestation.encoding",)),
    ("credentialInfo.attestationData must decode to CBOR",
     _set(("credentialInfo", "attestationData"), b64url_encode(b"\xff\xfe\xfd")),
     E.INVALID_ATTESTATION, ("fido2.attestation.encoding",)),
    ("credentialInfo must be an object", _set(("credentialInfo",), "a string"),
     "must be a JSON object", ("schema.object",)),
]


class _Mutated:
    kind = "Fido2"

    def __init__(self, ctx: Any, mutate: Any) -> None:
        self.device = ctx.device("Fido2")
        self.mutate = mutate

    def register(self, challenge: dict[str, Any]) -> dict[str, Any]:
        att = copy.deepcopy(self.device.register(challenge))
        self.mutate(att)
        return att


for _context, _present in REGISTRATION_CONTEXTS.items():
    _subject = "REG-F2S" if _context == "registration" else "CRED-F2S"
    for rule, mutate, message, guards in STRUCTURE:
        if rule == "credentialKind must be a known kind":  # registration: schema; else challenge
            guards = guards[:1] if _context == "registration" else guards[1:]
            message = ("firstFactorCredential.credentialKind" if _context == "registration"
                       else "does not match the challenge")
        add("F2-STRUCT", _subject, "F", rule, "credentials.md §8.1; errors.md §3.1",
            lambda ctx, p=_present, m=mutate: p(ctx, _Mutated(ctx, m)),
            status=400, message=message, guards=guards, cells=[(_context, "Fido2")])

# -- positive: algorithms and formats ------------------------------------------------------------
ALGS = {-7: "ES256", -8: "EdDSA", -257: "RS256"}
FORMATS = ["none", "packed-self", "packed", "fido-u2f"]

for _context, _present in REGISTRATION_CONTEXTS.items():
    _subject = "REG-F2" if _context == "registration" else "CRED-F2"
    for alg, name in ALGS.items():
        add("F2-ALG", _subject, "P", f"a {name} ({alg}) passkey registers",
            "WebAuthn §5.8.3; credentials.md §8.1",
            lambda ctx, p=_present, a=alg: p(ctx, ctx.device("Fido2", algorithms=(a,))),
            cells=[(_context, "Fido2")])
    for fmt in FORMATS:
        add("F2-FMT", _subject, "P", f"{fmt} attestation is accepted", "WebAuthn §8",
            lambda ctx, p=_present, f=fmt: p(ctx, ctx.device(
                "Fido2", attestation=f, **({"algorithms": (-7,)} if f == "fido-u2f" else {}))),
            cells=[(_context, "Fido2")])

# -- assertion side --------------------------------------------------------------------------------
GET_FAULTS = [
    (Fault.WRONG_TYPE, "F2-ACDATA", "clientData.type must be webauthn.get", 401,
     E.INVALID_CLIENT_DATA_TYPE, ("fido2.clientdata.type",)),
    (Fault.WRONG_CHALLENGE, "F2-ACDATA", "clientData.challenge must be the challenge issued", 401,
     E.CHALLENGE_MISMATCH, ("fido2.clientdata.challenge",)),
    (Fault.WRONG_ORIGIN, "F2-ACDATA", "clientData.origin must be the app's origin", 401,
     E.ORIGIN_MISMATCH, ("fido2.clientdata.origin",)),
    (Fault.CROSS_ORIGIN_TRUE, "F2-ACDATA", "clientData.crossOrigin must not be true", 401,
     E.CROSS_ORIGIN, ("fido2.clientdata.cross_origin",)),
    (Fault.WRONG_RP_ID_HASH, "F2-AUTHDATA", "authData.rpIdHash must be SHA-256(rpId)", 401,
     E.RPID_MISMATCH, ("fido2.authdata.rp_id_hash",)),
    (Fault.UP_CLEARED, "F2-AUTHDATA", "authData UP flag must be set", 401, E.USER_NOT_PRESENT,
     ("fido2.authdata.user_present",)),
    (Fault.UV_CLEARED, "F2-AUTHDATA", "authData UV flag must be set", 401, E.USER_NOT_VERIFIED,
     ("fido2.authdata.user_verified",)),
    (Fault.BS_WITHOUT_BE, "F2-AUTHDATA", "authData BS flag must not be set without BE", 401,
     BACKUP_STATE, ("fido2.authdata.backup_state",)),
    (Fault.TRAILING_BYTES, "F2-AUTHDATA", "authData must not carry trailing bytes", 400, None,
     ("fido2.authdata.trailing_bytes",)),
    (Fault.BOGUS_SIGNATURE, "F2-AUTHDATA", "assertion signature must verify", 401,
     E.INVALID_SIGNATURE, ("fido2.assertion.signature",)),
]


def _faulty_signer(actor: Any, fault: Fault) -> Any:
    return lambda challenge: actor.device.sign(challenge, faults=[fault])


def _counter_replay(ctx: Any, present: Any) -> Any:
    actor = ctx.user("Fido2", counter_mode="per-credential")
    ok_response = present(ctx, actor, actor.device.sign)  # counter now non-zero
    assert ok_response.status_code < 400, ok_response.text
    return present(ctx, actor, _faulty_signer(actor, Fault.COUNTER_NOT_INCREASED))


def _user_handle(other: str) -> Any:
    def make(actor: Any) -> Any:
        def sign(challenge: dict[str, Any]) -> dict[str, Any]:
            out = actor.device.sign(challenge)
            out["credentialAssertion"]["userHandle"] = b64url_encode(other.encode())
            return out
        return sign
    return make


def _assertion_mutation(mutate: Any) -> Any:
    def make(actor: Any) -> Any:
        def sign(challenge: dict[str, Any]) -> dict[str, Any]:
            out = copy.deepcopy(actor.device.sign(challenge))
            mutate(out)
            return out
        return sign
    return make


# (rule, status, message, mutation, rule ids guarded)
ASSERTION_STRUCTURE = [
    ("credentialAssertion.credId is required", 400, "is required",
     _drop(("credentialAssertion", "credId")), ("schema.required",)),
    ("credentialAssertion.clientData is required", 400, "is required",
     _drop(("credentialAssertion", "clientData")), ("schema.required",)),
    ("credentialAssertion.authenticatorData is required", 400, E_AUTHDATA,
     _drop(("credentialAssertion", "authenticatorData")), ("fido2.authdata.encoding",)),
    ("credentialAssertion.signature is required", 400, "is required",
     _drop(("credentialAssertion", "signature")), ("schema.required",)),
    ("firstFactor.kind is required", 400, "is required", _drop(("kind",)), ("schema.required",)),
    ("clientData must be base64url", 400, E.INVALID_CLIENT_DATA,
     _set(("credentialAssertion", "clientData"), "%%*"), ("clientdata.encoding",)),
    ("clientData must decode to JSON", 400, E.INVALID_CLIENT_DATA,
     _set(("credentialAssertion", "clientData"), b64url_encode(b"{{{")), ("clientdata.encoding",)),
    ("authenticatorData shorter than 37 bytes is rejected", 400, E_AUTHDATA,
     _set(("credentialAssertion", "authenticatorData"), b64url_encode(b"\x00" * 20)),
     ("fido2.authdata.encoding",)),
    ("credId must be one of allowCredentials", 401, E.INVALID_CREDENTIAL,
     _set(("credentialAssertion", "credId"), b64url_encode(b"unknown-credential-id")),
     ("credential.allowed",)),
    ("kind must match the credential's kind (Key for a Fido2 credential)", 401,
     E.INVALID_CREDENTIAL, _set(("kind",), "Key"), ("credential.allowed",)),
]

for _context, _answer in ASSERTION_CONTEXTS.items():
    _subject = "LOGIN-F2" if _context == "login" else "ACT-F2"
    for fault, group, rule, status, message, guards in GET_FAULTS:
        add(group, _subject, "F", f"{rule} ({fault.value})", "WebAuthn §7.2; credentials.md §8.2",
            lambda ctx, p=_answer, f=fault: (lambda a: p(ctx, a, _faulty_signer(a, f)))(
                ctx.user("Fido2")),
            status=status, message=message, guards=guards, cells=[(_context, "Fido2")])
    add("F2-AUTHDATA", _subject, "F", "signCount must increase when stored and new are non-zero",
        "WebAuthn §7.2 step 21", lambda ctx, p=_answer: _counter_replay(ctx, p), status=401,
        message=E.SIGN_COUNT, guards=("fido2.assertion.sign_count",), cells=[(_context, "Fido2")])
    add("F2-ASTRUCT", _subject, "F", "userHandle, if present, must be the user's id",
        "WebAuthn §7.2 step 6",
        lambda ctx, p=_answer: (lambda a: p(ctx, a, _user_handle("us-someone-else")(a)))(
            ctx.user("Fido2")),
        status=401, guards=("fido2.assertion.user_handle",), cells=[(_context, "Fido2")])
    for rule, status, message, mutate, guards in ASSERTION_STRUCTURE:
        add("F2-ASTRUCT", _subject, "F", rule, "credentials.md §8.2",
            lambda ctx, p=_answer, m=mutate: (lambda a: p(ctx, a, _assertion_mutation(m)(a)))(
                ctx.user("Fido2")),
            status=status, message=message, cells=[(_context, "Fido2")], guards=guards)
    for alg, name in ALGS.items():
        add("F2-ALG", _subject, "P", f"an {name} passkey assertion verifies", "WebAuthn §7.2",
            lambda ctx, p=_answer, a=alg: (lambda actor: p(ctx, actor, actor.device.sign))(
                ctx.user("Fido2", algorithms=(a,))),
            cells=[(_context, "Fido2")])
    add("F2-ACDATA", _subject, "P", "Android-style clientData challenge (C itself) is accepted",
        "credentials.md §7", lambda ctx, p=_answer: (lambda a: p(ctx, a, a.device.sign))(
            ctx.user("Fido2", challenge_encoding="android")), cells=[(_context, "Fido2")])
    add("F2-AUTHDATA", _subject, "P", "an assertion without userHandle is accepted",
        "WebAuthn §7.2", lambda ctx, p=_answer: (lambda a: p(ctx, a, a.device.sign))(
            ctx.user("Fido2", include_user_handle=False)), cells=[(_context, "Fido2")])
    add("F2-AUTHDATA", _subject, "P", "a zero signCount authenticator (counter_mode none) works",
        "WebAuthn §6.1.1", lambda ctx, p=_answer: (lambda a: p(ctx, a, a.device.sign))(
            ctx.user("Fido2", counter_mode="zero")), cells=[(_context, "Fido2")])
