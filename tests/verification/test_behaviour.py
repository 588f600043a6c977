"""Happy paths per key type and format, leniency, and rejections that are parse failures."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from simulator import errors as E
from simulator.errors import ApiError
from simulator.verification import (
    VerifyingKey,
    challenge_matches,
    load_cose_key,
    load_public_key_pem,
    verify_key_assertion,
    verify_key_attestation,
    verify_passkey_assertion,
    verify_passkey_attestation,
    verify_signature,
)
from simulator.verification._codec import INVALID_AUTHENTICATOR_DATA

from . import helpers as h

KEYS = h.keys()


def _raises(status: int, message: str, fn, *a, **kw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiError) as info:
        fn(*a, **kw)
    assert (info.value.status, info.value.message) == (status, message)


def _reg(info, **kw):  # type: ignore[no-untyped-def]
    return verify_passkey_attestation(info, challenge=h.CHALLENGE, relying_parties=[h.RP],
                                      now=h.NOW, **kw)


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_key_kinds_register_and_assert_every_key_type(kind: str) -> None:
    reg = verify_key_attestation(h.key_attestation(KEYS[kind]), challenge=h.CHALLENGE)
    assert reg.public_key.key_type == kind
    verify_key_assertion(h.key_assertion(KEYS[kind]), challenge=h.CHALLENGE,
                         public_key=reg.public_key)


def test_canonical_reserialisation_fallback() -> None:
    cd = h.client_data("key.create", origin="https://x", crossOrigin=False)
    canonical = json.dumps(json.loads(cd), separators=(",", ":"), sort_keys=True).encode()
    verify_key_attestation(h.key_attestation(cd=cd, hash_of=canonical), challenge=h.CHALLENGE)
    other = h.client_data("key.create", origin="https://y")
    _raises(401, E.INVALID_SIGNATURE, verify_key_attestation,
            h.key_attestation(cd=cd, hash_of=other), challenge=h.CHALLENGE)


def test_challenge_forms() -> None:
    c = h.CHALLENGE
    enc = base64.urlsafe_b64encode(c.encode()).decode()
    assert challenge_matches(c, c) and challenge_matches(enc, c)
    assert challenge_matches(enc.rstrip("="), c)
    assert not challenge_matches(c + "x", c) and not challenge_matches(None, c)
    verify_key_assertion(h.key_assertion(cd=h.client_data("key.get", enc)), challenge=c,
                         public_key=load_public_key_pem(h.pem_of(KEYS["P-256"])))


def test_pem_leniency() -> None:
    pem = h.pem_of(KEYS["P-256"])
    body = "".join(pem.splitlines()[1:-1])
    fp = load_public_key_pem(pem).fingerprint
    for variant in (pem.replace("\n", "\\n"), pem.rstrip("\n"), pem.replace("\n", "\r\n"),
                    f"-----BEGIN PUBLIC KEY-----{body}-----END PUBLIC KEY-----",
                    f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----"):
        assert load_public_key_pem(variant).fingerprint == fp
    # the fingerprint message uses the PEM exactly as received, escapes and all
    escaped = pem.replace("\n", "\\n")
    verify_key_attestation(h.key_attestation(pem=escaped), challenge=h.CHALLENGE)


def test_pkcs1_rsa_pem() -> None:
    pub = KEYS["RSA"].public_key()
    pkcs1 = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    assert pkcs1.startswith("-----BEGIN RSA PUBLIC KEY-----")
    assert load_public_key_pem(pkcs1).fingerprint == load_public_key_pem(h.pem_of(KEYS["RSA"])
                                                                         ).fingerprint


@pytest.mark.parametrize("pem", ["", "nope", 42, None, "-----BEGIN PUBLIC KEY-----\n!!\n"
                                 "-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nAAAA\n"
                                 "-----END PUBLIC KEY-----"])
def test_bad_pem(pem: object) -> None:
    _raises(400, E.INVALID_PUBLIC_KEY, load_public_key_pem, pem)


def test_rsa_pss_and_sha512() -> None:
    key = VerifyingKey.from_key(KEYS["RSA"].public_key())
    data = b"payload"
    for salt in (32, padding.PSS.MAX_LENGTH):
        sig = KEYS["RSA"].sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), salt),
                               hashes.SHA256())
        assert verify_signature(key, sig, data)
    p256 = VerifyingKey.from_key(KEYS["P-256"].public_key())
    from cryptography.hazmat.primitives.asymmetric import ec
    sig = KEYS["P-256"].sign(data, ec.ECDSA(hashes.SHA512()))
    assert verify_signature(p256, sig, data, algorithm="SHA512")
    assert not verify_signature(p256, sig, data)


def test_verify_signature_never_raises() -> None:
    key = VerifyingKey.from_key(KEYS["P-256"].public_key())
    for sig in (b"", b"\x30" * 64, None, "text", b"\x00" * 200):
        assert verify_signature(key, sig, b"x") is False  # type: ignore[arg-type]


def test_verifying_key_json_roundtrip() -> None:
    key = load_public_key_pem(h.pem_of(KEYS["Ed25519"]))
    again = VerifyingKey.from_json(key.to_json())
    assert again.fingerprint == key.fingerprint and again.key_type == "Ed25519"
    assert again.pem() == h.pem_of(KEYS["Ed25519"])


@pytest.mark.parametrize("value", ["!!!", "a", 5, None, h.b64(b"[1]"), h.b64(b"\xff\xfe"),
                                   h.b64(b"{nope")])
def test_undecodable_client_data(value: object) -> None:
    info = {**h.key_assertion(), "clientData": value}
    _raises(400, E.INVALID_CLIENT_DATA, verify_key_assertion, info, challenge=h.CHALLENGE,
            public_key=load_public_key_pem(h.pem_of(KEYS["P-256"])))


def test_padded_and_standard_alphabet_accepted() -> None:
    info = h.key_assertion()
    std = {k: base64.b64encode(base64.urlsafe_b64decode(v + "==")).decode()
           for k, v in info.items() if k != "credId"}
    verify_key_assertion(std, challenge=h.CHALLENGE,
                         public_key=load_public_key_pem(h.pem_of(KEYS["P-256"])))


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_passkeys_every_algorithm(kind: str) -> None:
    priv = KEYS[kind]
    reg = _reg(h.passkey_registration(private=priv))
    n = verify_passkey_assertion(h.passkey_assertion(private=priv), challenge=h.CHALLENGE,
                                 relying_parties=[h.RP], public_key=reg.public_key,
                                 cose_alg=reg.cose_alg, stored_sign_count=0, user_id=h.USER_ID)
    assert n == 1


@pytest.mark.parametrize("fmt,builder", [
    ("packed", h.packed_self()), ("packed", h.packed_full()), ("fido-u2f", h.fido_u2f()),
    ("apple", None), ("tpm", None), ("android-key", None), ("android-safetynet", None)])
def test_attestation_formats_accepted(fmt: str, builder: object) -> None:
    reg = _reg(h.passkey_registration(fmt=fmt, stmt_builder=builder,
                                      att_stmt={"x": b"opaque"}))
    assert reg.fmt == fmt and reg.aaguid == "00010203-0405-0607-0809-0a0b0c0d0e0f"


def test_packed_x5c_empty_or_garbage() -> None:
    def empty(ad: bytes, cdh: bytes) -> dict:
        return {"alg": -7, "sig": b"x", "x5c": []}

    def garbage(ad: bytes, cdh: bytes) -> dict:
        return {"alg": -7, "sig": b"x", "x5c": [b"not a cert"]}
    for builder in (empty, garbage):
        _raises(400, E.INVALID_ATTESTATION, _reg,
                h.passkey_registration(fmt="packed", stmt_builder=builder))


def test_packed_cert_not_yet_valid_and_wrong_ou() -> None:
    import datetime as dt
    early = h.att_cert(not_before=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    for cert in (early, h.att_cert(ou="Something Else")):
        _raises(400, E.INVALID_ATTESTATION, _reg,
                h.passkey_registration(fmt="packed", stmt_builder=h.packed_full(cert)))


@pytest.mark.parametrize("blob", [b"", b"\xff", b"\xa1", b"\x83\x01\x02", b"\xa3" + b"\x00" * 5])
def test_malformed_cbor(blob: bytes) -> None:
    info = {**h.passkey_registration(), "attestationData": h.b64(blob)}
    _raises(400, E.INVALID_ATTESTATION, _reg, info)


def test_cbor_trailing_bytes_after_attestation_object() -> None:
    info = h.passkey_registration()
    raw = base64.urlsafe_b64decode(info["attestationData"] + "==") + b"\x00"
    _raises(400, E.INVALID_ATTESTATION, _reg, {**info, "attestationData": h.b64(raw)})


def test_assertion_authdata_shapes() -> None:
    pub = load_public_key_pem(h.pem_of(KEYS["P-256"]))
    base = hashlib.sha256(h.RP.rp_id.encode()).digest()

    def run(ad: bytes, stored: int = 0) -> int:
        return verify_passkey_assertion(h.passkey_assertion(ad=ad), challenge=h.CHALLENGE,
                                        relying_parties=[h.RP], public_key=pub, cose_alg=-7,
                                        stored_sign_count=stored, user_id=h.USER_ID)
    _raises(400, INVALID_AUTHENTICATOR_DATA, run, base + b"\x05\x00\x00\x00\x01\x00")
    _raises(400, INVALID_AUTHENTICATOR_DATA, run, base[:20])
    assert run(base + b"\x85\x00\x00\x00\x02\xa1\x01\x02") == 2  # ED with an extensions map
    assert run(base + b"\x05\x00\x00\x00\x00", stored=9) == 0  # counter unsupported: allowed


def test_user_handle_absent_or_empty_is_accepted() -> None:
    pub = load_public_key_pem(h.pem_of(KEYS["P-256"]))
    for handle in (None, ""):
        verify_passkey_assertion(h.passkey_assertion(user_handle=handle), challenge=h.CHALLENGE,
                                 relying_parties=[h.RP], public_key=pub, cose_alg=-7,
                                 stored_sign_count=0, user_id=h.USER_ID)


def test_raw_ecdsa_rejected_for_passkeys_and_when_policy_says_so() -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    from simulator.verification import VerificationPolicy
    info = h.key_assertion()
    der = base64.urlsafe_b64decode(info["signature"] + "==")
    r, s = decode_dss_signature(der)
    raw = {**info, "signature": h.b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}
    pub = load_public_key_pem(h.pem_of(KEYS["P-256"]))
    verify_key_assertion(raw, challenge=h.CHALLENGE, public_key=pub)
    _raises(401, E.INVALID_SIGNATURE, verify_key_assertion, raw, challenge=h.CHALLENGE,
            public_key=pub, policy=VerificationPolicy(accept_raw_ecdsa=False))


def test_several_relying_parties_pick_by_origin_then_hash() -> None:
    from simulator.verification import RelyingParty
    a = RelyingParty(rp_id="example.com", origin=h.RP.origin)
    reg = verify_passkey_attestation(h.passkey_registration(), challenge=h.CHALLENGE,
                                     relying_parties=[a, h.RP], now=h.NOW)
    assert reg.rp == h.RP


def test_cose_key_errors() -> None:
    _raises(401, E.UNSUPPORTED_ALGORITHM, load_cose_key, {1: 2, 3: -999})
    _raises(400, E.INVALID_PUBLIC_KEY, load_cose_key, {1: 2, 3: -7, -1: 1, -2: b"\x01" * 32,
                                                       -3: b"\x02" * 32})
    _raises(400, E.INVALID_PUBLIC_KEY, load_cose_key, {1: 2, 3: -7, -1: 1})
