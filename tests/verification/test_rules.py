"""One bad input per rule: rejected with the exact status/message by default, and accepted
when (only) that rule is switched off — so every check is shown to be able to fail."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fido2.cose import CoseKey

from simulator import errors as E
from simulator.errors import ApiError
from simulator.verification import (
    RULES,
    VerificationPolicy,
    decode_client_data,
    load_public_key_pem,
    recovery_challenge_matches,
    verify_key_assertion,
    verify_key_attestation,
    verify_passkey_assertion,
    verify_passkey_attestation,
)
from simulator.verification._codec import USER_HANDLE_MISMATCH
from simulator.verification.passkeys import BACKUP_STATE_INVALID

from . import helpers as h

P256 = h.keys()["P-256"]
K1 = h.keys()["secp256k1"]
PUB = load_public_key_pem(h.pem_of(P256))
RP_HASH = hashlib.sha256(h.RP.rp_id.encode()).digest()


def key_att(info: dict[str, Any]) -> Callable[[VerificationPolicy], Any]:
    return lambda p: verify_key_attestation(info, challenge=h.CHALLENGE, policy=p)


def key_get(info: dict[str, Any], key: Any = PUB) -> Callable[[VerificationPolicy], Any]:
    return lambda p: verify_key_assertion(info, challenge=h.CHALLENGE, public_key=key, policy=p)


def pk_reg(info: dict[str, Any]) -> Callable[[VerificationPolicy], Any]:
    return lambda p: verify_passkey_attestation(info, challenge=h.CHALLENGE,
                                                relying_parties=[h.RP], policy=p, now=h.NOW)


def pk_get(info: dict[str, Any], stored: int = 0) -> Callable[[VerificationPolicy], Any]:
    return lambda p: verify_passkey_assertion(
        info, challenge=h.CHALLENGE, relying_parties=[h.RP], public_key=PUB, cose_alg=-7,
        stored_sign_count=stored, user_id=h.USER_ID, policy=p)


def recovery(p: VerificationPolicy) -> Any:
    cd = decode_client_data(h.b64(h.client_data("key.get", h.b64(b'{"a":1}'))))
    if not recovery_challenge_matches(cd, {"a": 2}, policy=p):
        raise ApiError(401, E.CHALLENGE_MISMATCH)


def rsa1024(p: VerificationPolicy) -> Any:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return verify_key_attestation(h.key_attestation(key), challenge=h.CHALLENGE, policy=p)


def _ad(**kw: Any) -> bytes:
    return h.auth_data(**kw)


P521 = ec.derive_private_key(12345, ec.SECP521R1())
ES384 = CoseKey.for_alg(-35).from_cryptography_key(
    ec.derive_private_key(777, ec.SECP384R1()).public_key())

CASES: dict[str, tuple[int, str, Callable[[VerificationPolicy], Any]]] = {
    "key.clientdata.type": (401, E.INVALID_CLIENT_DATA_TYPE, key_att(
        h.key_attestation(cd=h.client_data("key.get")))),
    "key.clientdata.challenge": (401, E.CHALLENGE_MISMATCH, key_get(
        h.key_assertion(cd=h.client_data("key.get", "other")))),
    "key.clientdata.cross_origin": (401, E.CROSS_ORIGIN, key_get(
        h.key_assertion(cd=h.client_data("key.get", crossOrigin=True)))),
    "key.algorithm": (400, E.UNSUPPORTED_ALGORITHM, key_att(
        h.key_attestation(algorithm="MD5"))),
    "key.public_key.rsa_size": (400, E.INVALID_PUBLIC_KEY, rsa1024),
    "key.public_key.curve": (400, E.INVALID_PUBLIC_KEY, key_att(h.key_attestation(P521))),
    "key.attestation.signature": (401, E.INVALID_SIGNATURE, key_att(
        h.key_attestation(tamper=True))),
    "key.assertion.signature": (401, E.INVALID_SIGNATURE, key_get(
        h.key_assertion(tamper=True))),
    "recovery.challenge": (401, E.CHALLENGE_MISMATCH, recovery),
    "fido2.clientdata.type": (401, E.INVALID_CLIENT_DATA_TYPE, pk_get(
        h.passkey_assertion(type_="webauthn.create"))),
    "fido2.clientdata.challenge": (401, E.CHALLENGE_MISMATCH, pk_reg(
        h.passkey_registration(challenge="Y2gtb3RoZXI"))),
    "fido2.clientdata.origin": (401, E.ORIGIN_MISMATCH, pk_reg(
        h.passkey_registration(origin="https://evil.example.com"))),
    "fido2.clientdata.cross_origin": (401, E.CROSS_ORIGIN, pk_get(
        h.passkey_assertion(crossOrigin=True))),
    "fido2.authdata.rp_id_hash": (401, E.RPID_MISMATCH, pk_reg(
        h.passkey_registration(ad=_ad(rp_id="evil.example.com")))),
    "fido2.authdata.user_present": (401, E.USER_NOT_PRESENT, pk_get(
        h.passkey_assertion(flags=0x04))),
    "fido2.authdata.user_verified": (401, E.USER_NOT_VERIFIED, pk_reg(
        h.passkey_registration(ad=_ad(flags=0x41)))),
    "fido2.authdata.attested_data": (401, E.ATTESTED_DATA_MISSING, pk_reg(
        h.passkey_registration(ad=_ad(flags=0x05)))),
    "fido2.authdata.credential_id": (401, E.CREDENTIAL_ID_MISMATCH, pk_reg(
        {**h.passkey_registration(), "credId": h.b64(b"another-id")})),
    "fido2.authdata.backup_state": (401, BACKUP_STATE_INVALID, pk_reg(
        h.passkey_registration(ad=_ad(flags=0x55)))),
    "fido2.authdata.trailing_bytes": (400, E.INVALID_ATTESTATION, pk_reg(
        h.passkey_registration(ad=_ad() + b"\x00"))),
    "fido2.algorithm": (401, E.UNSUPPORTED_ALGORITHM, pk_reg(
        h.passkey_registration(ad=_ad(cose=ES384)))),
    "fido2.attestation.format": (400, E.INVALID_ATTESTATION, pk_reg(
        h.passkey_registration(fmt="made-up", att_stmt={"x": 1}))),
    "fido2.attestation.none.empty": (400, E.INVALID_ATTESTATION, pk_reg(
        h.passkey_registration(att_stmt={"sig": b"1"}))),
    "fido2.attestation.packed.algorithm": (400, E.INVALID_ATTESTATION, pk_reg(
        h.passkey_registration(fmt="packed", stmt_builder=h.packed_self(alg=-257)))),
    "fido2.attestation.packed.signature": (401, E.INVALID_SIGNATURE, pk_reg(
        h.passkey_registration(fmt="packed", stmt_builder=h.packed_full(signer=P256)))),
    "fido2.attestation.packed.validity": (400, E.INVALID_ATTESTATION, pk_reg(
        h.passkey_registration(fmt="packed", stmt_builder=h.packed_full(h.att_cert(
            not_after=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)))))),
    "fido2.attestation.packed.certificate": (400, E.INVALID_ATTESTATION, pk_reg(
        h.passkey_registration(fmt="packed", stmt_builder=h.packed_full(h.att_cert(ca=True))))),
    "fido2.attestation.packed.aaguid": (400, E.INVALID_ATTESTATION, pk_reg(
        h.passkey_registration(fmt="packed", stmt_builder=h.packed_full(
            h.att_cert(aaguid=b"\xff" * 16))))),
    "fido2.attestation.fido_u2f.key": (400, E.INVALID_ATTESTATION, pk_reg(
        h.passkey_registration(private=K1, fmt="fido-u2f", stmt_builder=h.fido_u2f(K1)))),
    "fido2.attestation.fido_u2f.signature": (401, E.INVALID_SIGNATURE, pk_reg(
        h.passkey_registration(fmt="fido-u2f", stmt_builder=h.fido_u2f(signer=P256)))),
    "fido2.assertion.signature": (401, E.INVALID_SIGNATURE, pk_get(
        h.passkey_assertion(tamper=True))),
    "fido2.assertion.sign_count": (401, E.SIGN_COUNT, pk_get(h.passkey_assertion(count=5), 5)),
    "fido2.assertion.user_handle": (401, USER_HANDLE_MISMATCH, pk_get(
        h.passkey_assertion(user_handle=h.b64(b"us-someone-else")))),
}


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_rejects_with_exact_status_and_message(rule: str) -> None:
    status, message, call = CASES[rule]
    with pytest.raises(ApiError) as info:
        call(VerificationPolicy())
    assert (info.value.status, info.value.message) == (status, message)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_disabling_the_rule_accepts_the_bad_input(rule: str) -> None:
    CASES[rule][2](VerificationPolicy(disabled_rules=frozenset({rule})))


def test_unknown_rule_id_is_refused() -> None:
    with pytest.raises(ValueError):
        VerificationPolicy(disabled_rules=frozenset({"no.such.rule"}))
