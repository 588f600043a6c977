"""Key credentials (credentials.md §3) against a reference verifier written from the spec."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from dfns_sdk.auth import KeySigner

from virtual_authenticators import KeyAuthenticator
from virtual_authenticators.key import CLIENT_DATA_LAYOUTS

from ._referees import b64u, reference_key_assertion, reference_key_registration, unb64u

ALGORITHMS = ("P-256", "secp256k1", "Ed25519", "RSA-2048")
API_CHALLENGE = "Y2gtM2txN2MtOGExZHQtOXIwbTVtMmg0ZTZsM3A3cQ"
ACTION_CHALLENGE = "Y2gtNXRxMm0tNGs4cGYtOHMzbjFjN2UyYjl2MHg0cg"
SEEDS = {alg: i for i, alg in enumerate(ALGORITHMS)}

_cache: dict[tuple[str, str, str], KeyAuthenticator] = {}
_keys: dict[str, str] = {}


def authenticator(alg: str, layout: str, encoding: str = "raw") -> KeyAuthenticator:
    # seeded so the (slow, pure-Python) deterministic RSA key is generated once per run
    key = (alg, layout, encoding)
    if alg not in _keys:
        _keys[alg] = KeyAuthenticator(alg, seed=SEEDS[alg]).private_key_pem
    if key not in _cache:
        _cache[key] = KeyAuthenticator(alg, layout, "https://app.example.com", encoding,
                                       seed=SEEDS[alg], private_key=_keys[alg])
    return _cache[key]


def allow(cred_id: str) -> dict[str, Any]:
    return {"challenge": ACTION_CHALLENGE,
            "allowCredentials": {"key": [{"type": "public-key", "id": cred_id}], "webauthn": []}}


CASES = [(a, lay, enc) for a in ALGORITHMS for lay in CLIENT_DATA_LAYOUTS
         for enc in ("raw", "base64url")]


@pytest.mark.parametrize(("alg", "layout", "encoding"), CASES,
                         ids=["-".join(c) for c in CASES])
def test_registration_and_assertion_verify(alg: str, layout: str, encoding: str) -> None:
    auth = authenticator(alg, layout, encoding)
    registration = auth.register({"challenge": API_CHALLENGE})
    assert registration["credentialKind"] == "Key"
    pem = reference_key_registration(registration["credentialInfo"], API_CHALLENGE)
    assert pem == auth.public_key_pem
    signed = auth.sign(allow(auth.credential_id))
    assert signed["kind"] == "Key"
    reference_key_assertion(signed["credentialAssertion"], ACTION_CHALLENGE, pem)
    client_data = json.loads(unb64u(signed["credentialAssertion"]["clientData"]))
    expected_keys = {
        "docs-sorted": ["challenge", "crossOrigin", "origin", "type"],
        "python-sdk": ["type", "challenge", "origin", "crossOrigin"],
        "ts-two-field": ["type", "challenge"],
    }[layout]
    assert list(client_data) == expected_keys


def _flip(value: str, position: float) -> str:
    raw = bytearray(unb64u(value))
    raw[int(position * (len(raw) - 1))] ^= 0x01
    return b64u(bytes(raw))


FIELDS = ("clientData", "attestationData")
POSITIONS = (0.0, 0.2, 0.5, 0.8, 1.0)
FLIP_CASES = [(a, f, p) for a in ALGORITHMS for f in FIELDS for p in POSITIONS]


@pytest.mark.parametrize(("alg", "field", "position"), FLIP_CASES,
                         ids=[f"{a}-{f}-{p}" for a, f, p in FLIP_CASES])
def test_flipped_bit_in_registration_rejected(alg: str, field: str, position: float) -> None:
    info = dict(authenticator(alg, "docs-sorted").register({"challenge": API_CHALLENGE})[
        "credentialInfo"])
    info[field] = _flip(info[field], position)
    with pytest.raises(Exception):  # noqa: B017 - JSON, PEM, hex or signature errors all count
        reference_key_registration(info, API_CHALLENGE)


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_flipped_bit_in_registration_signature_rejected(alg: str) -> None:
    auth = authenticator(alg, "python-sdk")
    info = dict(auth.register({"challenge": API_CHALLENGE})["credentialInfo"])
    attestation = json.loads(unb64u(info["attestationData"]))
    sig = bytearray(bytes.fromhex(attestation["signature"]))
    sig[len(sig) // 2] ^= 0x80
    attestation["signature"] = sig.hex()
    info["attestationData"] = b64u(json.dumps(attestation).encode())
    with pytest.raises(Exception):  # noqa: B017
        reference_key_registration(info, API_CHALLENGE)


ASSERT_FLIPS = [(a, f, p) for a in ALGORITHMS for f in ("clientData", "signature")
                for p in POSITIONS]


@pytest.mark.parametrize(("alg", "field", "position"), ASSERT_FLIPS,
                         ids=[f"{a}-{f}-{p}" for a, f, p in ASSERT_FLIPS])
def test_flipped_bit_in_assertion_rejected(alg: str, field: str, position: float) -> None:
    auth = authenticator(alg, "ts-two-field")
    assertion = dict(auth.sign(allow(auth.credential_id))["credentialAssertion"])
    reference_key_assertion(assertion, ACTION_CHALLENGE, auth.public_key_pem)
    assertion[field] = _flip(assertion[field], position)
    with pytest.raises(Exception):  # noqa: B017
        reference_key_assertion(assertion, ACTION_CHALLENGE, auth.public_key_pem)


def test_sign_requires_own_credential_in_allow_list() -> None:
    auth = authenticator("Ed25519", "docs-sorted")
    padded = auth.credential_id + "="  # padded spelling of the same id still matches
    assert auth.sign(allow(padded))["credentialAssertion"]["credId"] == auth.credential_id
    with pytest.raises(ValueError, match="allowCredentials.key"):
        auth.sign(allow("c29tZW9uZS1lbHNl"))


# --------------------------------------------------------------------- worked examples (§10)

EXAMPLE_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def test_example_a_ed25519_registration_docs_sorted() -> None:
    auth = KeyAuthenticator(private_key=EXAMPLE_KEY, origin="https://app.example.com",
                            cred_id=b64u(hashlib.sha256(b"example-credential-1").digest()))
    info = auth.register({"challenge": API_CHALLENGE})["credentialInfo"]
    assert auth.public_key_pem == (
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n"
        "-----END PUBLIC KEY-----\n"
    )
    assert info["credId"] == "APa6ZvpUdstJf91Ce8ElIPK-WKzDMHueMWL57RW_SNs"
    assert info["clientData"] == (
        "eyJjaGFsbGVuZ2UiOiJZMmd0TTJ0eE4yTXRPR0V4WkhRdE9YSXdiVFZ0TW1nMFpUWnNNM0EzY1EiLCJjcm9zc09y"
        "aWdpbiI6ZmFsc2UsIm9yaWdpbiI6Imh0dHBzOi8vYXBwLmV4YW1wbGUuY29tIiwidHlwZSI6ImtleS5jcmVhdGUifQ"
    )
    assert hashlib.sha256(unb64u(info["clientData"])).hexdigest() == (
        "1a66773614de517ff179f47c29ebabde3160e21bc6dd7e8be0894dc214cbecbc"
    )
    assert json.loads(unb64u(info["attestationData"]))["signature"] == (
        "a82081afa830b2e6f840d294c5a2f168140ea9d898868269d5c2eec586b1d329"
        "e16ad3ddf05989101456f6928e870c6d5c97157df133f72359ab5df2acc07106"
    )
    assert info["attestationData"] == (
        "eyJwdWJsaWNLZXkiOiItLS0tLUJFR0lOIFBVQkxJQyBLRVktLS0tLVxuTUNvd0JRWURLMlZ3QXlFQUE2RUh2L1BP"
        "RUw0ZGNOMFk1MHZBbVdmazFqQ2JwUTFmSGR5R1pCSlZNYmc9XG4tLS0tLUVORCBQVUJMSUMgS0VZLS0tLS1cbiIs"
        "InNpZ25hdHVyZSI6ImE4MjA4MWFmYTgzMGIyZTZmODQwZDI5NGM1YTJmMTY4MTQwZWE5ZDg5ODg2ODI2OWQ1YzJl"
        "ZWM1ODZiMWQzMjllMTZhZDNkZGYwNTk4OTEwMTQ1NmY2OTI4ZTg3MGM2ZDVjOTcxNTdkZjEzM2Y3MjM1OWFiNWRm"
        "MmFjYzA3MTA2In0"
    )


EXAMPLE_B_CLIENT_DATA = (
    "eyJ0eXBlIjoia2V5LmdldCIsImNoYWxsZW5nZSI6IlkyZ3ROWFJ4TW0wdE5HczRjR1l0T0hNemJqRmpOMlV5WWpsMk1I"
    "ZzBjZyIsIm9yaWdpbiI6Imh0dHBzOi8vYXBwLmV4YW1wbGUuY29tIiwiY3Jvc3NPcmlnaW4iOmZhbHNlfQ"
)


def test_example_b_ed25519_assertion_python_sdk_layout() -> None:
    auth = KeyAuthenticator(private_key=EXAMPLE_KEY, origin="https://app.example.com",
                            client_data_layout="python-sdk")
    assertion = auth.sign(allow(auth.credential_id))["credentialAssertion"]
    assert assertion["clientData"] == EXAMPLE_B_CLIENT_DATA
    assert assertion["signature"] == (
        "bBT5f0LcvSV0hAZmMAuD3aBCL9dT9ihVcgBDjL0uplgDlzT7IBhXA7zhcbQDjxp5H975lFOS_acNjPwsDMZEAg"
    )


def test_example_c_p256_rfc6979() -> None:
    key = ec.derive_private_key(
        int.from_bytes(hashlib.sha256(b"p256-example-key").digest(), "big"), ec.SECP256R1()
    )
    auth = KeyAuthenticator(private_key=key, origin="https://app.example.com",
                            client_data_layout="python-sdk", deterministic=True)
    assert auth.public_key_pem == (
        "-----BEGIN PUBLIC KEY-----\n"
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEvUcnJLk8cXXv1N0r88b8mkGA00Dm\n"
        "UxSmUm07dXG9+Dukef6oHkOWBfvunMWKz6r4bqxRBAf3xqVPcg4cZhj9uQ==\n-----END PUBLIC KEY-----\n"
    )
    assertion = auth.sign(allow(auth.credential_id))["credentialAssertion"]
    assert assertion["clientData"] == EXAMPLE_B_CLIENT_DATA
    assert unb64u(assertion["signature"]).hex() == (
        "3045022100d1db9eb7df1fb0299652bd42e77999ed5f9e19821ed2462bffe0ae10a72169d8"
        "022034300bd9be80411cd2a8262551c408d50475fd52f3746c5ab1e4e7e22a72f5be"
    )
    assert assertion["signature"] == (
        "MEUCIQDR25633x-wKZZSvULneZntX54Zgh7SRiv_4K4QpyFp2AIgNDAL2b6AQRzSqCYlUcQI1QR1_VLzdGxaseTn4ipy9b4"
    )


# --------------------------------------------------------------------- dfns-sdk KeySigner parity


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_python_sdk_layout_matches_key_signer_bytes(alg: str) -> None:
    ours = KeyAuthenticator(alg, "python-sdk", "https://app.dfns.io", seed=SEEDS[alg])
    theirs = KeySigner(ours.credential_id, ours.private_key_pem, app_origin="https://app.dfns.io")
    challenge = {"challenge": ACTION_CHALLENGE, "challengeIdentifier": "x",
                 "allowCredentials": {"key": [{"type": "public-key", "id": ours.credential_id}]}}
    a = ours.sign(challenge)
    b = theirs.sign(challenge)
    assert a["kind"] == b["kind"] == "Key"
    assert a["credentialAssertion"]["clientData"] == b["credentialAssertion"]["clientData"]
    assert a["credentialAssertion"]["credId"] == b["credentialAssertion"]["credId"]
    if alg in ("Ed25519", "RSA-2048"):  # deterministic schemes: identical signatures
        assert a["credentialAssertion"]["signature"] == b["credentialAssertion"]["signature"]
    for result in (a, b):  # ECDSA nonces differ; both must verify
        reference_key_assertion(result["credentialAssertion"], ACTION_CHALLENGE,
                                ours.public_key_pem)


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_sha512_attestation_algorithm_signs_with_sha512(alg: str) -> None:
    # credentials.md §3.2: "algorithm": "SHA512" announces a SHA-512 signature.
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from simulator.verification.key_kinds import verify_key_attestation
    from virtual_authenticators.key import credential_info_fingerprint

    auth = KeyAuthenticator(alg, seed=SEEDS[alg], private_key=authenticator(alg, "docs-sorted")
                            .private_key_pem, attestation_algorithm="SHA512")
    info = auth.register({"challenge": API_CHALLENGE})["credentialInfo"]
    attestation = json.loads(unb64u(info["attestationData"]))
    assert attestation["algorithm"] == "SHA512"
    signed = credential_info_fingerprint(unb64u(info["clientData"]), attestation["publicKey"])
    public = serialization.load_pem_public_key(attestation["publicKey"].encode())
    signature = bytes.fromhex(attestation["signature"])

    def verifies(digest: hashes.HashAlgorithm) -> bool:
        try:
            if isinstance(public, ec.EllipticCurvePublicKey):
                public.verify(signature, signed, ec.ECDSA(digest))
            elif isinstance(public, rsa.RSAPublicKey):
                public.verify(signature, signed, padding.PKCS1v15(), digest)
            else:
                assert isinstance(public, ed25519.Ed25519PublicKey)
                public.verify(signature, signed)  # EdDSA: no separate hash to choose
            return True
        except InvalidSignature:
            return False

    assert verifies(hashes.SHA512())
    assert alg == "Ed25519" or not verifies(hashes.SHA256())
    registration = verify_key_attestation(info, challenge=API_CHALLENGE)  # the simulator agrees
    assert registration.algorithm == "SHA512"
