"""PasswordProtectedKey and RecoveryKey: the §5 wrapping scheme, examples E and F."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from virtual_authenticators import (
    PasswordProtectedKeyAuthenticator,
    RecoveryKeyAuthenticator,
    WrongSecretError,
    recovery_code_from_uuids,
    unwrap_private_key,
)
from virtual_authenticators._wrapping import derive_wrapping_key, username_salt
from virtual_authenticators.recovery_key import RECOVERY_CODE_ALPHABET

from ._referees import b64u, reference_key_assertion, reference_key_registration, unb64u

CHALLENGE = "Y2gtNXRxMm0tNGs4cGYtOHMzbjFjN2UyYjl2MHg0cg"
FAST = 2  # PBKDF2 iterations for property tests only; the default stays 100 000
CODE_RE = re.compile(
    rf"^D1-[{RECOVERY_CODE_ALPHABET}]{{6}}(-[{RECOVERY_CODE_ALPHABET}]{{5}}){{4}}"
    rf"-[{RECOVERY_CODE_ALPHABET}]{{6}}$"
)


def ppk_challenge(auth: PasswordProtectedKeyAuthenticator, blob: str) -> dict:
    return {
        "challenge": CHALLENGE,
        "allowCredentials": {
            "key": [], "webauthn": [],
            "passwordProtectedKey": [
                {"type": "public-key", "id": auth.credential_id, "encryptedPrivateKey": blob}
            ],
        },
    }


def test_password_protected_key_register_and_sign() -> None:
    auth = PasswordProtectedKeyAuthenticator(password="correct horse", username="jane@example.com",
                                             seed=3)
    assert auth.iterations == 100_000
    registration = auth.register({"challenge": "Y2gtcmVn"})
    assert registration["credentialKind"] == "PasswordProtectedKey"
    blob = registration["encryptedPrivateKey"]
    assert set(json.loads(base64.b64decode(blob))) == {"key", "iv"}
    pem = reference_key_registration(registration["credentialInfo"], "Y2gtcmVn")
    signed = auth.sign(ppk_challenge(auth, blob))
    assert signed["kind"] == "PasswordProtectedKey"
    reference_key_assertion(signed["credentialAssertion"], CHALLENGE, pem)
    # the key really comes out of the server's blob: another user's blob does not open
    other = PasswordProtectedKeyAuthenticator(password="correct horse", username="bob@example.com",
                                              seed=4, iterations=FAST)
    with pytest.raises(WrongSecretError) as info:
        auth.sign(ppk_challenge(auth, other.encrypted_private_key))
    assert "correct horse" not in str(info.value)
    assert "correct horse" not in repr(auth)


def test_password_protected_key_needs_its_entry_and_blob() -> None:
    auth = PasswordProtectedKeyAuthenticator(password="pw", username="u", iterations=FAST, seed=1)
    with pytest.raises(ValueError, match="allowCredentials.passwordProtectedKey"):
        auth.sign({"challenge": CHALLENGE,
                   "allowCredentials": {"key": [{"id": auth.credential_id}]}})
    with pytest.raises(ValueError, match="no encryptedPrivateKey"):
        auth.sign(ppk_challenge(auth, ""))


@settings(max_examples=40, deadline=None)
@given(password=st.text(min_size=1, max_size=40), username=st.text(min_size=1, max_size=40),
       wrong=st.text(min_size=1, max_size=40))
def test_wrap_round_trip_property(password: str, username: str, wrong: str) -> None:
    auth = PasswordProtectedKeyAuthenticator(password=password, username=username,
                                             iterations=FAST, seed=11)
    blob = auth.encrypted_private_key
    key = unwrap_private_key(blob, secret=password, username=username, iterations=FAST)
    assert key.private_numbers() == auth.private_key.private_numbers()
    # the salt normalises the username: case and surrounding spaces do not matter
    if username.upper().lower() == username.lower():
        unwrap_private_key(blob, secret=password, username=f"  {username.upper()} ",
                           iterations=FAST)
    if wrong != password:
        with pytest.raises(WrongSecretError) as info:
            unwrap_private_key(blob, secret=wrong, username=username, iterations=FAST)
        with pytest.raises(WrongSecretError) as info2:
            unwrap_private_key(blob, secret=wrong + "#", username=username, iterations=FAST)
        # the message does not depend on the secret at all, so it cannot leak it
        assert str(info.value) == str(info2.value)
    if wrong.strip().lower() != username.strip().lower():
        with pytest.raises(WrongSecretError):
            unwrap_private_key(blob, secret=password, username=wrong, iterations=FAST)


def test_wrapping_key_derivation_is_cached() -> None:
    derive_wrapping_key("pw-cache", "u", FAST + 1)
    from virtual_authenticators._wrapping import _pbkdf2

    hits = _pbkdf2.cache_info().hits
    derive_wrapping_key("pw-cache", "u", FAST + 1)
    assert _pbkdf2.cache_info().hits == hits + 1


# --------------------------------------------------------------------- recovery key


def test_example_e_recovery_wrapping() -> None:
    code = recovery_code_from_uuids("3f2a9c1e7b4d40a8b6e5d2c1f0a9b8c7",
                                    "9a1b7c3d5e2f4a6b8c0d1e2f3a4b5c6d")
    assert code == "D1-V9C4K6-B8H5E-7ESL2-5YQXP-UNTRS-L3M2NZ"
    username = "Jane.Doe@Example.com "
    assert username_salt(username).hex() == (
        "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"
    )
    assert derive_wrapping_key(code, username).hex() == (
        "6373c816a3cca9db0ab96838c3ca3fb7f6298aca70d443d0ca23f0bbeb4e33f4"
    )
    key = ec.derive_private_key(
        int.from_bytes(hashlib.sha256(b"recovery-key-example").digest(), "big"), ec.SECP256R1()
    )
    auth = RecoveryKeyAuthenticator(username, recovery_code=code, private_key=key,
                                    iv=bytes(range(16)))
    assert auth.encrypted_private_key == (
        "eyJrZXkiOiI0dXdkSlAyRnpJTXY3WWZzNXRjenJpcys2R1ZscU9HR0xaVkt6UFROZldaQXF6VXdEd2dKNkZxTUNuT1"
        "U1M29UeEppR0pjWDBiOVBXbWtNTnB5dFh1QWNNckhaQ2NPU3RvMk01cEdZenc0RmxVV1h0R0M4NTlqTUxXeUlqKy9t"
        "UnVqZm1QNFhpaWZGS2VPQVVvcUovcm9HWit0Q3VSdlRRd2VoUGpuUFNWd0Z3K2hSMllMWDlWZ2ptL25xSmcySjUxeV"
        "p0alJSUG1XdjNpdz09IiwiaXYiOiJBQUVDQXdRRkJnY0lDUW9MREEwT0R3PT0ifQ=="
    )
    assert len(base64.b64decode(json.loads(base64.b64decode(auth.encrypted_private_key))["key"])) \
        == 154
    assert auth.credential_id == "Sjhj79OtyEwualW2u2LI3UbwsaS_X00iMV-HCJFMj-M"


def test_example_f_recovery_assertion_challenge() -> None:
    auth = RecoveryKeyAuthenticator("jane", iterations=FAST, seed=5)
    new_credentials = {"firstFactorCredential": {"credentialKind": "Key", "credentialInfo": {
        "credId": "A", "clientData": "B", "attestationData": "C"}}}
    recovery = auth.recovery_assertion(new_credentials, auth.encrypted_private_key)
    assert recovery["kind"] == "RecoveryKey"
    client_data = json.loads(unb64u(recovery["credentialAssertion"]["clientData"]))
    assert client_data["type"] == "key.get"
    assert client_data["challenge"] == (
        "eyJmaXJzdEZhY3RvckNyZWRlbnRpYWwiOnsiY3JlZGVudGlhbEtpbmQiOiJLZXkiLCJjcmVkZW50aWFsSW5mbyI6"
        "eyJjcmVkSWQiOiJBIiwiY2xpZW50RGF0YSI6IkIiLCJhdHRlc3RhdGlvbkRhdGEiOiJDIn19fQ"
    )
    # §6 verifier: the challenge decodes to JSON deep-equal to newCredentials
    assert json.loads(unb64u(client_data["challenge"])) == new_credentials
    reference_key_assertion(recovery["credentialAssertion"], client_data["challenge"],
                            auth.public_key_pem)


def test_recovery_key_registration() -> None:
    auth = RecoveryKeyAuthenticator("Jane.Doe@example.com", iterations=FAST, seed=6)
    assert CODE_RE.match(auth.recovery_code) and len(auth.recovery_code) == 40
    registration = auth.register({"challenge": "Y2gtcmVjb3Zlcnk"})
    assert registration["credentialKind"] == "RecoveryKey"
    assert registration["encryptedPrivateKey"] == auth.encrypted_private_key
    info = registration["credentialInfo"]
    assert info["credId"] == b64u(hashlib.sha256(auth.encrypted_private_key.encode()).digest())
    attestation = json.loads(unb64u(info["attestationData"]))
    assert attestation["algorithm"] == "SHA256"
    assert attestation["publicKey"].count("\n") == 2 and not attestation["publicKey"].endswith("\n")
    client_data = json.loads(unb64u(info["clientData"]))
    assert list(client_data) == ["type", "challenge", "origin", "crossOrigin"]
    assert client_data["challenge"] == b64u(b"Y2gtcmVjb3Zlcnk")  # worker form (§5)
    reference_key_registration(info, "Y2gtcmVjb3Zlcnk")
    with pytest.raises(ValueError, match="recovery_assertion"):
        auth.sign({"challenge": "x", "allowCredentials": {}})
    challenge = {"allowedRecoveryCredentials": [
        {"id": auth.credential_id, "encryptedRecoveryKey": auth.encrypted_private_key}]}
    assert auth.encrypted_key_from_challenge(challenge) == auth.encrypted_private_key


@settings(max_examples=25, deadline=None)
@given(username=st.text(min_size=1, max_size=30), seed=st.integers(0, 2**32),
       other=st.text(min_size=1, max_size=30))
def test_recovery_wrong_code_or_username_fails_cleanly(username: str, seed: int, other: str
                                                       ) -> None:
    auth = RecoveryKeyAuthenticator(username, seed=seed, iterations=FAST)
    assert CODE_RE.match(auth.recovery_code)
    impostor = RecoveryKeyAuthenticator(username, seed=seed + 1, iterations=FAST)
    with pytest.raises(WrongSecretError) as info:
        impostor.recovery_assertion({"x": 1}, auth.encrypted_private_key)
    assert impostor.recovery_code not in str(info.value)
    assert auth.recovery_code not in str(info.value)
    assert auth.recovery_code not in repr(auth)
    if other.strip().lower() != username.strip().lower():
        renamed = RecoveryKeyAuthenticator(other, recovery_code=auth.recovery_code,
                                           iterations=FAST, seed=seed)
        with pytest.raises(WrongSecretError):
            renamed.recovery_assertion({"x": 1}, auth.encrypted_private_key)
