"""Public keys: lenient PEM loading (credentials.md §1), COSE keys, and signature checks.

A :class:`VerifyingKey` holds the loaded ``cryptography`` key and a pre-selected verify
routine, so the hot path (an assertion) never re-parses a PEM or re-dispatches on key type.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fido2.cose import CoseKey

from simulator.errors import INVALID_PUBLIC_KEY, UNSUPPORTED_ALGORITHM

from ._codec import fail
from .policy import DEFAULT_POLICY, VerificationPolicy

_CURVES: dict[str, str] = {"secp256r1": "P-256", "secp256k1": "secp256k1", "secp384r1": "P-384"}
_SHA256 = hashes.SHA256()
_SHA384 = hashes.SHA384()
_SHA512 = hashes.SHA512()
_ECDSA_SHA256 = ec.ECDSA(_SHA256)
_ECDSA_SHA384 = ec.ECDSA(_SHA384)
_ECDSA_SHA512 = ec.ECDSA(_SHA512)
_PKCS1 = padding.PKCS1v15()
# DER DigestInfo headers (RFC 8017 §9.2 note 1): EMSA-PKCS1-v1_5's T is header || hash.
_DIGEST_INFO_SHA256 = bytes.fromhex("3031300d060960864801650304020105000420")
_DIGEST_INFO_SHA512 = bytes.fromhex("3051300d060960864801650304020305000440")

# COSE algorithm ids (RFC 9053 / IANA) this module can load.
COSE_ES256, COSE_EDDSA, COSE_RS256, COSE_ES256K = -7, -8, -257, -47
COSE_ES384, COSE_ES512, COSE_PS256 = -35, -36, -37
_COSE_EC = {COSE_ES256: (1, ec.SECP256R1()), COSE_ES256K: (8, ec.SECP256K1()),
            COSE_ES384: (2, ec.SECP384R1()), COSE_ES512: (3, ec.SECP521R1())}

_PEM_RE = re.compile(
    r"-----BEGIN (RSA )?PUBLIC KEY-----(.*?)-----END (?:RSA )?PUBLIC KEY-----", re.DOTALL
)


@dataclass(frozen=True, kw_only=True)
class VerifyingKey:
    key: Any
    key_type: str  # "Ed25519" | "P-256" | "secp256k1" | "P-384" | "RSA" (| "EC-<curve>")
    spki_der: bytes
    fingerprint: str
    # size in bytes of r and s for EC keys (raw r||s leniency); 0 otherwise
    ec_size: int = field(default=0, repr=False, compare=False)

    @classmethod
    def from_key(cls, key: Any, *, policy: VerificationPolicy = DEFAULT_POLICY) -> VerifyingKey:
        """Wrap a cryptography public key; rejects weak/unsupported keys with 400."""
        ec_size = 0
        if isinstance(key, ed25519.Ed25519PublicKey):
            key_type = "Ed25519"
        elif isinstance(key, ec.EllipticCurvePublicKey):
            name = key.curve.name
            key_type = _CURVES.get(name, "")
            if not key_type:
                if policy.on("key.public_key.curve"):
                    fail(400, INVALID_PUBLIC_KEY, "key.public_key.curve")
                key_type = f"EC-{name}"
            ec_size = (key.curve.key_size + 7) // 8
        elif isinstance(key, rsa.RSAPublicKey):
            if key.key_size < 2048 and policy.on("key.public_key.rsa_size"):
                fail(400, INVALID_PUBLIC_KEY, "key.public_key.rsa_size")
            key_type = "RSA"
        else:
            fail(400, INVALID_PUBLIC_KEY)
        spki = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(key=key, key_type=key_type, spki_der=spki, fingerprint=fingerprint_of(spki),
                   ec_size=ec_size)

    def pem(self) -> str:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def to_json(self) -> dict[str, str]:
        return {"spki": base64.b64encode(self.spki_der).decode("ascii")}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VerifyingKey:
        try:
            der = base64.b64decode(data["spki"], validate=True)
            key = serialization.load_der_public_key(der)
        except Exception:  # noqa: BLE001 - persisted data that does not load is a bad key
            fail(400, INVALID_PUBLIC_KEY)
        # Persisted keys passed the policy when registered; do not re-judge them.
        return cls.from_key(key, policy=_LENIENT_LOAD)


_LENIENT_LOAD = VerificationPolicy(
    disabled_rules=frozenset({"key.public_key.rsa_size", "key.public_key.curve"})
)


def fingerprint_of(spki_der: bytes) -> str:
    """``SHA256:`` + unpadded standard base64 of SHA-256(SPKI DER) (credentials.md §2)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(spki_der).digest()).decode().rstrip("=")


def load_public_key_pem(pem: Any, *, policy: VerificationPolicy = DEFAULT_POLICY) -> VerifyingKey:
    """Parse a PEM public key the way real clients send it (credentials.md §1).

    Accepts SPKI and PKCS#1 RSA armour, literal ``\\n`` escape pairs, CRLF, a missing trailing
    newline and a single unwrapped base64 line.
    """
    key = _parse_pem(pem)
    if key is None:
        if policy.on("key.public_key.pem"):
            fail(400, INVALID_PUBLIC_KEY, "key.public_key.pem")
        # Mutant (rule off, TEST-ONLY): a throwaway key stands in, so no signature verifies.
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return VerifyingKey.from_key(key, policy=policy)


def _parse_pem(pem: Any) -> Any:
    """The public key of a PEM text, or None when it is not one."""
    if not isinstance(pem, str) or len(pem) > 20_000:
        return None
    text = pem.replace("\\r", "").replace("\\n", "\n")
    match = _PEM_RE.search(text)
    if match is None:
        return None
    body = "".join(match.group(2).split())
    try:
        der = base64.b64decode(body, validate=True)
        if match.group(1):  # PKCS#1 RSAPublicKey
            return serialization.load_der_public_key(_pkcs1_to_spki(der))
        return serialization.load_der_public_key(der)
    except Exception:  # noqa: BLE001 - any parse failure is the client's bad key
        return None


def _pkcs1_to_spki(der: bytes) -> bytes:
    # cryptography loads PKCS#1 only from PEM; re-armour it rather than hand-build ASN.1.
    b64 = base64.encodebytes(der).decode("ascii")
    pem = f"-----BEGIN RSA PUBLIC KEY-----\n{b64}-----END RSA PUBLIC KEY-----\n"
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_cose_key(
    cose: Mapping[int, Any], *, policy: VerificationPolicy = DEFAULT_POLICY
) -> tuple[VerifyingKey, int]:
    """COSE_Key -> (VerifyingKey, COSE alg). Unknown alg: 401; malformed key: 400."""
    if not isinstance(cose, Mapping):
        fail(400, INVALID_PUBLIC_KEY)
    alg = cose.get(3)
    if type(alg) is not int:
        fail(401, UNSUPPORTED_ALGORITHM)
    parsed = CoseKey.parse(cose)  # fido2 names the algorithm family; we build the key
    key: Any
    try:
        if alg in _COSE_EC:
            crv, curve = _COSE_EC[alg]
            size = (curve.key_size + 7) // 8
            x, y = parsed[-2], parsed[-3]
            if parsed[1] != 2 or parsed[-1] != crv or not _is_bytes(x, size) or not _is_bytes(
                y, size
            ):
                fail(400, INVALID_PUBLIC_KEY)
            key = ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + x + y)
        elif alg == COSE_EDDSA:
            x = parsed[-2]
            if parsed[1] != 1 or parsed[-1] != 6 or not _is_bytes(x, 32):
                fail(400, INVALID_PUBLIC_KEY)
            key = ed25519.Ed25519PublicKey.from_public_bytes(x)
        elif alg in (COSE_RS256, COSE_PS256):
            n, e = parsed[-1], parsed[-2]
            if parsed[1] != 3 or not isinstance(n, bytes) or not isinstance(e, bytes) or not n:
                fail(400, INVALID_PUBLIC_KEY)
            if len(n) > 2048 or len(e) > 16:
                fail(400, INVALID_PUBLIC_KEY)
            key = rsa.RSAPublicNumbers(int.from_bytes(e, "big"), int.from_bytes(n, "big")
                                       ).public_key()
        else:
            fail(401, UNSUPPORTED_ALGORITHM)
    except KeyError:
        fail(400, INVALID_PUBLIC_KEY)
    except ValueError:  # point not on curve, bad RSA numbers, ...
        fail(400, INVALID_PUBLIC_KEY)
    return VerifyingKey.from_key(key, policy=policy), alg


def _is_bytes(value: Any, size: int) -> bool:
    return isinstance(value, bytes) and len(value) == size


# -- signatures -----------------------------------------------------------------------------


def verify_signature(
    key: VerifyingKey,
    signature: bytes,
    data: bytes,
    *,
    algorithm: str | None = None,
    cose_alg: int | None = None,
    accept_raw: bool = True,
) -> bool:
    """True iff ``signature`` over ``data`` verifies; never raises.

    Ed25519 is pure EdDSA. EC: DER, then (``accept_raw``) a raw r||s of 2*size bytes; hash
    SHA-256 unless ``algorithm == "SHA512"`` or the COSE alg names another. RSA: PKCS#1 v1.5,
    then PSS (salt 32, then auto) unless the COSE alg pins one padding.
    """
    try:
        pub = key.key
        kt = key.key_type
        if kt == "Ed25519":
            pub.verify(signature, data)
            return True
        if kt == "RSA":
            return _verify_rsa(pub, signature, data, algorithm, cose_alg)
        if algorithm == "SHA512" or cose_alg == COSE_ES512:
            scheme = _ECDSA_SHA512
        elif cose_alg == COSE_ES384:
            scheme = _ECDSA_SHA384
        else:
            scheme = _ECDSA_SHA256
        try:
            pub.verify(signature, data, scheme)
            return True
        except InvalidSignature:
            size = key.ec_size
            if not accept_raw or len(signature) != 2 * size:
                return False
        der = encode_dss_signature(
            int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
        )
        pub.verify(der, data, scheme)
        return True
    except Exception:  # noqa: BLE001 - InvalidSignature, TypeError on non-bytes, ...
        return False


def _verify_rsa(
    pub: rsa.RSAPublicKey, signature: bytes, data: bytes, algorithm: str | None,
    cose_alg: int | None,
) -> bool:
    sha512 = algorithm == "SHA512"
    if cose_alg != COSE_PS256:
        # PKCS#1 v1.5 the way RFC 8017 §8.2.2 states it: RSAVP1 and the padding check
        # (00 01 FF..FF 00, by OpenSSL), then compare the rest with the expected encoding
        # T = DigestInfo || H(data). Same verdict as pub.verify(), ~1 µs cheaper per call
        # (no digest fetch and second context in OpenSSL), which matters on the hot path.
        try:
            recovered = pub.recover_data_from_signature(signature, _PKCS1, None)
        except InvalidSignature:
            recovered = None
        if recovered is not None:
            expected = (_DIGEST_INFO_SHA512 + hashlib.sha512(data).digest() if sha512
                        else _DIGEST_INFO_SHA256 + hashlib.sha256(data).digest())
            if recovered == expected:
                return True
        if cose_alg == COSE_RS256:
            return False
    digest = _SHA512 if sha512 else _SHA256
    # PSS: WebCrypto samples and AWS KMS sign with salt = hash length (32) or the maximum.
    for salt in (32, padding.PSS.AUTO):
        try:
            pub.verify(signature, data, padding.PSS(mgf=padding.MGF1(digest), salt_length=salt),
                       digest)
            return True
        except InvalidSignature:
            continue
    return False
