"""PKCS#1 v1.5 is checked by recovering the encoded message and comparing it with the expected
encoding (RFC 8017 §8.2.2); these tests hold that to ``cryptography``'s own ``verify`` on
well-formed signatures and on hand-built near misses (wrong hash, DigestInfo without NULL,
short padding, bad padding byte, signature ≥ modulus)."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.verification import VerifyingKey, verify_signature
from simulator.verification.public_keys import COSE_PS256, COSE_RS256

PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC = PRIVATE.public_key()
KEY = VerifyingKey.from_key(PUBLIC)
NUMBERS = PRIVATE.private_numbers()
K = 256  # modulus length in bytes

SHA256_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
SHA256_INFO_NO_NULL = bytes.fromhex("302f300b0609608648016503040201" "0420")
SHA512_INFO = bytes.fromhex("3051300d060960864801650304020305000440")


def _raw_sign(em: bytes) -> bytes:
    """RSASP1 over an encoded message of our choosing (so malformed encodings can be made)."""
    m = int.from_bytes(em, "big")
    return pow(m, NUMBERS.d, NUMBERS.public_numbers.n).to_bytes(K, "big")


def _em(t: bytes, *, ps_len: int | None = None, lead: bytes = b"\x00\x01",
        fill: int = 0xFF) -> bytes:
    ps_len = K - 3 - len(t) if ps_len is None else ps_len
    em = lead + bytes([fill]) * ps_len + b"\x00" + t
    return em.rjust(K, b"\x00")[:K] if len(em) < K else em


def _cryptography_says(sig: bytes, data: bytes, digest: hashes.HashAlgorithm) -> bool:
    try:
        PUBLIC.verify(sig, data, padding.PKCS1v15(), digest)
        return True
    except InvalidSignature:
        return False


VARIANTS = {
    "sha256": lambda d: _em(SHA256_INFO + hashlib.sha256(d).digest()),
    "sha512": lambda d: _em(SHA512_INFO + hashlib.sha512(d).digest()),
    "sha256, DigestInfo no NULL": lambda d: _em(SHA256_INFO_NO_NULL + hashlib.sha256(d).digest()),
    "sha256 of other data": lambda d: _em(SHA256_INFO + hashlib.sha256(d + b"!").digest()),
    "bare hash, no DigestInfo": lambda d: _em(hashlib.sha256(d).digest()),
    "padding of 7 bytes": lambda d: _em(SHA256_INFO + hashlib.sha256(d).digest(), ps_len=7),
    "padding byte 0xFE": lambda d: _em(SHA256_INFO + hashlib.sha256(d).digest(), fill=0xFE),
    "block type 02": lambda d: _em(SHA256_INFO + hashlib.sha256(d).digest(), lead=b"\x00\x02"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@settings(max_examples=15, deadline=None)
@given(data=st.binary(max_size=300))
def test_pkcs1_verdict_equals_cryptography(variant: str, data: bytes) -> None:
    sig = _raw_sign(VARIANTS[variant](data))
    assert verify_signature(KEY, sig, data) == _cryptography_says(sig, data, hashes.SHA256())
    assert verify_signature(KEY, sig, data, algorithm="SHA512") == _cryptography_says(
        sig, data, hashes.SHA512())


def test_only_the_well_formed_variants_verify() -> None:
    data = b"clientData bytes"
    verdicts = {name: verify_signature(KEY, _raw_sign(make(data)), data)
                for name, make in VARIANTS.items()}
    assert [name for name, ok in verdicts.items() if ok] == ["sha256"]
    assert verify_signature(KEY, _raw_sign(VARIANTS["sha512"](data)), data, algorithm="SHA512")


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=200), flip=st.integers(min_value=0, max_value=K * 8 - 1))
def test_any_flipped_bit_is_rejected(data: bytes, flip: int) -> None:
    sig = bytearray(PRIVATE.sign(data, padding.PKCS1v15(), hashes.SHA256()))
    assert verify_signature(KEY, bytes(sig), data)
    sig[flip // 8] ^= 1 << (flip % 8)
    assert not verify_signature(KEY, bytes(sig), data)


def test_signature_not_below_the_modulus_or_of_wrong_length() -> None:
    n = NUMBERS.public_numbers.n
    for sig in (n.to_bytes(K, "big"), b"\xff" * K, b"\x01" * (K + 1), b"", b"\x00" * (K - 1)):
        assert not verify_signature(KEY, sig, b"x")


def test_cose_alg_pins_the_padding() -> None:
    data = b"authenticatorData || clientDataHash"
    pkcs1 = PRIVATE.sign(data, padding.PKCS1v15(), hashes.SHA256())
    pss = PRIVATE.sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    assert verify_signature(KEY, pkcs1, data, cose_alg=COSE_RS256)
    assert not verify_signature(KEY, pss, data, cose_alg=COSE_RS256)
    assert verify_signature(KEY, pss, data, cose_alg=COSE_PS256)
    assert not verify_signature(KEY, pkcs1, data, cose_alg=COSE_PS256)
    assert verify_signature(KEY, pss, data)  # no COSE alg: PKCS#1 first, then PSS
