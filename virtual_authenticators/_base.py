"""Shared plumbing for the virtual authenticators.

Encodings, a seedable deterministic byte source, key generation and signing, the named fault
flags, and the small abstract base that gives every authenticator the dfns-sdk ``Signer``
protocol (``sign(challenge) -> {"kind", "credentialAssertion"}``) plus ``register``.

Everything here is pure logic: no I/O, no globals besides caches of pure functions.
"""

from __future__ import annotations

import abc
import base64
import binascii
import enum
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey

__all__ = [
    "Authenticator",
    "Fault",
    "NotAllowedError",
    "PrivateKey",
    "PublicKey",
    "Rng",
    "b64_encode",
    "b64url_decode",
    "b64url_encode",
    "compact_json",
    "generate_private_key",
    "public_key_pem",
    "sign_bytes",
    "strip_padding",
]


# --------------------------------------------------------------------------- encodings


def b64url_encode(data: bytes) -> str:
    """base64url without padding: what every Dfns SDK emits."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(data: str | bytes) -> bytes:
    """Lenient decoder (credentials.md §1): padding optional, ``+``/``/`` accepted."""
    text = data.decode("ascii") if isinstance(data, bytes) else data
    text = "".join(text.split()).replace("+", "-").replace("/", "_").rstrip("=")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"invalid base64url: {exc}") from None


def b64_encode(data: bytes) -> str:
    """Standard alphabet with padding (the recovery worker's ``btoa`` output)."""
    return base64.b64encode(data).decode("ascii")


def strip_padding(identifier: str) -> str:
    """Ids are compared as strings after dropping trailing ``=`` (credentials.md §1)."""
    return identifier.rstrip("=")


def compact_json(obj: Any) -> str:
    """``JSON.stringify`` equivalent: insertion order, no spaces, UTF-8 kept as-is."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- randomness


class Rng:
    """Deterministic byte source (HMAC-SHA256 in counter mode) when seeded, else os.urandom.

    Each *label* gets its own counter, so drawing e.g. an extra credential id does not shift
    the bytes later drawn for an unrelated purpose: replays stay stable as code evolves.
    """

    def __init__(self, seed: int | bytes | None = None) -> None:
        self.seeded = seed is not None
        if seed is None:
            self._key = b""
        elif isinstance(seed, int):
            self._key = hashlib.sha256(b"dfns-sim/seed/" + str(seed).encode()).digest()
        else:
            self._key = hashlib.sha256(b"dfns-sim/seed/" + bytes(seed)).digest()
        self._counters: dict[str, int] = {}

    def bytes(self, n: int, label: str = "") -> bytes:
        if not self.seeded:
            return os.urandom(n)
        counter = self._counters.get(label, 0)
        self._counters[label] = counter + 1
        out = b""
        block = 0
        while len(out) < n:
            msg = f"{label}/{counter}/{block}".encode()
            out += hmac.new(self._key, msg, hashlib.sha256).digest()
            block += 1
        return out[:n]

    def int_below(self, bound: int, label: str = "") -> int:
        """Uniform integer in [1, bound) by rejection sampling."""
        nbytes = (bound.bit_length() + 7) // 8 + 8
        while True:
            value = int.from_bytes(self.bytes(nbytes, label), "big") % bound
            if value:
                return value


# --------------------------------------------------------------------------- keys

_CURVES: dict[str, ec.EllipticCurve] = {"P-256": ec.SECP256R1(), "secp256k1": ec.SECP256K1()}
_CURVE_ORDERS = {
    "P-256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp256k1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
}
KEY_ALGORITHMS = ("P-256", "secp256k1", "Ed25519", "RSA-2048")
_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p**0.5) + 1))]


def _is_probable_prime(n: int, rng: Rng, label: str) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(24):
        a = 2 + rng.int_below(n - 3, label)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _deterministic_prime(bits: int, rng: Rng, label: str, e: int) -> int:
    while True:
        candidate = int.from_bytes(rng.bytes(bits // 8, label), "big")
        candidate |= (3 << (bits - 2)) | 1  # top two bits set so p*q has the full size
        if (candidate - 1) % e and _is_probable_prime(candidate, rng, label + "/mr"):
            return candidate


def _deterministic_rsa(bits: int, rng: Rng, label: str) -> rsa.RSAPrivateKey:
    # cryptography cannot generate RSA from a seed, so we search primes ourselves; only used
    # when the caller asked for replayable keys.
    e = 65537
    p = _deterministic_prime(bits // 2, rng, label + "/p", e)
    q = _deterministic_prime(bits // 2, rng, label + "/q", e)
    while q == p:
        q = _deterministic_prime(bits // 2, rng, label + "/q", e)
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


def generate_private_key(algorithm: str, rng: Rng, label: str = "key") -> PrivateKey:
    """A new key for ``algorithm`` (one of KEY_ALGORITHMS), reproducible when ``rng`` is seeded."""
    if algorithm in _CURVES:
        if not rng.seeded:
            return ec.generate_private_key(_CURVES[algorithm])
        scalar = rng.int_below(_CURVE_ORDERS[algorithm], label)
        return ec.derive_private_key(scalar, _CURVES[algorithm])
    if algorithm == "Ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(rng.bytes(32, label))
    if algorithm == "RSA-2048":
        if not rng.seeded:
            return rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _deterministic_rsa(2048, rng, label)
    raise ValueError(f"unsupported key algorithm {algorithm!r}; expected one of {KEY_ALGORITHMS}")


def key_algorithm_name(key: PrivateKey | PublicKey) -> str:
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "Ed25519"
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return f"RSA-{key.key_size}"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return {"secp256r1": "P-256", "secp256k1": "secp256k1"}.get(key.curve.name, key.curve.name)
    raise TypeError(f"unsupported key type {type(key).__name__}")


def sign_bytes(key: PrivateKey, data: bytes, *, deterministic: bool = False,
               sha512: bool = False) -> bytes:
    """ECDSA SHA-256 DER / Ed25519 raw 64 bytes / RSA PKCS#1 v1.5 SHA-256 (credentials.md §3.4);
    ``sha512``: SHA-512 instead, as the ``"algorithm": "SHA512"`` member announces (Ed25519
    hashes internally and ignores it).

    ``deterministic`` selects RFC 6979 nonces for ECDSA so seeded runs replay byte for byte.
    """
    digest = hashes.SHA512() if sha512 else hashes.SHA256()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(digest, deterministic_signing=deterministic))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), digest)
    raise TypeError(f"unsupported private key type {type(key).__name__}")


def public_key_pem(key: PrivateKey | PublicKey) -> str:
    public = key.public_key() if isinstance(key, PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def private_key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def load_private_key(key: PrivateKey | str | bytes) -> PrivateKey:
    if isinstance(key, (str, bytes)):
        data = key.encode() if isinstance(key, str) else key
        loaded = serialization.load_pem_private_key(data, password=None)
        if not isinstance(loaded, (ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey,
                                   rsa.RSAPrivateKey)):
            raise TypeError(f"unsupported private key type {type(loaded).__name__}")
        return loaded
    return key


def flip_bit(data: bytes, index: int = -1, bit: int = 0) -> bytes:
    buf = bytearray(data)
    buf[index] ^= 1 << bit
    return bytes(buf)


# --------------------------------------------------------------------------- faults


class Fault(str, enum.Enum):  # noqa: UP042 - StrEnum would change str(Fault.X)
    """Named ways to make a response wrong, after the FIDO conformance tool and CDP overrides.

    Passkey faults apply per call (``create(options, faults={...})``) or as authenticator
    defaults.  Each fault lists the ceremonies it can affect in CREATE_FAULTS / GET_FAULTS.
    """

    BOGUS_SIGNATURE = "bogus-signature"
    UP_CLEARED = "up-cleared"
    UV_CLEARED = "uv-cleared"
    WRONG_RP_ID_HASH = "wrong-rp-id-hash"
    WRONG_TYPE = "wrong-type"
    WRONG_CHALLENGE = "wrong-challenge"
    WRONG_ORIGIN = "wrong-origin"
    CROSS_ORIGIN_TRUE = "cross-origin-true"
    COUNTER_NOT_INCREASED = "counter-not-increased"
    TRAILING_BYTES = "trailing-bytes"
    MALFORMED_CBOR = "malformed-cbor"
    UNKNOWN_ATTESTATION_FORMAT = "unknown-attestation-format"
    X5C_MISSING = "x5c-missing"
    X5C_EMPTY = "x5c-empty"
    X5C_EXPIRED = "x5c-expired"
    X5C_WRONG_KEY = "x5c-wrong-key"
    BS_WITHOUT_BE = "bs-without-be"


_COMMON_FAULTS = frozenset(
    {
        Fault.BOGUS_SIGNATURE, Fault.UP_CLEARED, Fault.UV_CLEARED, Fault.WRONG_RP_ID_HASH,
        Fault.WRONG_TYPE, Fault.WRONG_CHALLENGE, Fault.WRONG_ORIGIN, Fault.CROSS_ORIGIN_TRUE,
        Fault.TRAILING_BYTES, Fault.BS_WITHOUT_BE,
    }
)
CREATE_FAULTS = _COMMON_FAULTS | {
    Fault.MALFORMED_CBOR, Fault.UNKNOWN_ATTESTATION_FORMAT, Fault.X5C_MISSING, Fault.X5C_EMPTY,
    Fault.X5C_EXPIRED, Fault.X5C_WRONG_KEY,
}
GET_FAULTS = _COMMON_FAULTS | {Fault.COUNTER_NOT_INCREASED}


def as_faults(faults: Iterable[Fault | str] | None) -> frozenset[Fault]:
    return frozenset(Fault(f) for f in (faults or ()))


class NotAllowedError(Exception):
    """The WebAuthn ``NotAllowedError``/``InvalidStateError``/``NotSupportedError`` family:
    the authenticator declined the request (no matching credential, excluded credential,
    capability missing, user presence not given)."""


# --------------------------------------------------------------------------- signer protocol


class Authenticator(abc.ABC):
    """What every virtual authenticator offers: the dfns-sdk ``Signer`` protocol and an answer
    to a Dfns registration / credential challenge."""

    kind: str

    @abc.abstractmethod
    def sign(self, challenge: Mapping[str, Any]) -> dict[str, Any]:
        """Answer a login / user-action challenge: ``{"kind", "credentialAssertion"}``."""

    @abc.abstractmethod
    def register(self, challenge: Mapping[str, Any]) -> dict[str, Any]:
        """Answer a registration / credential challenge with a Dfns credential attestation."""

    @staticmethod
    def _allowed_ids(challenge: Mapping[str, Any], list_name: str) -> list[Mapping[str, Any]]:
        allow = challenge.get("allowCredentials") or {}
        return list(allow.get(list_name) or [])

    def _no_allowed_credential(self, list_name: str, ours: Iterable[str]) -> ValueError:
        return ValueError(
            f"{type(self).__name__}: none of this authenticator's credentials "
            f"({', '.join(sorted(ours)) or 'none'}) is in allowCredentials.{list_name}"
        )


# --------------------------------------------------------------------------- Dfns ↔ WebAuthn


def encode_api_challenge(challenge: str, challenge_encoding: str = "browser") -> str:
    """The WebAuthn ``challenge`` (base64url of the bytes the authenticator reports) for an API
    challenge string ``C`` (credentials.md §7): the TS browser SDK passes ``Buffer.from(C)``
    (clientData carries base64url(UTF-8(C))); Android hands ``C`` over as base64url already
    (clientData carries ``C``)."""
    if challenge_encoding == "browser":
        return b64url_encode(challenge.encode("utf-8"))
    if challenge_encoding == "android":
        return challenge
    raise ValueError(f"unknown challenge_encoding {challenge_encoding!r}; 'browser' or 'android'")


def _descriptor(item: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": item.get("type", "public-key"), "id": item["id"]}
    transports = item.get("transports")
    if transports:
        # docs show a single string, WebAuthn wants an array (challenges.md §4)
        out["transports"] = [transports] if isinstance(transports, str) else list(transports)
    return out


def dfns_challenge_to_webauthn_options(
    challenge: Mapping[str, Any], *, challenge_encoding: str = "browser"
) -> dict[str, Any]:
    """WebAuthn JSON ``publicKey`` options for a Dfns challenge: creation options when the
    challenge names a ``user`` (registration / credential challenge), request options otherwise
    (login / user-action challenge)."""
    encoded = encode_api_challenge(challenge["challenge"], challenge_encoding)
    rp = dict(challenge.get("rp") or {})
    if "user" in challenge:
        user = challenge["user"]
        params = challenge.get("pubKeyCredParams") or challenge.get("pubKeyCredParam") or [
            {"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -257}
        ]
        options: dict[str, Any] = {
            "challenge": encoded,
            "user": {
                # clients pass Buffer.from(userId): user.id is the UTF-8 of the us-… id
                "id": b64url_encode(str(user["id"]).encode("utf-8")),
                "name": user.get("name", ""),
                "displayName": user.get("displayName", user.get("name", "")),
            },
            "pubKeyCredParams": list(params),
            "excludeCredentials": [
                _descriptor(c) for c in challenge.get("excludeCredentials") or []
            ],
            "attestation": challenge.get("attestation", "none"),
        }
        if rp:
            options["rp"] = rp
        if challenge.get("authenticatorSelection"):
            options["authenticatorSelection"] = dict(challenge["authenticatorSelection"])
        return options
    allow = challenge.get("allowCredentials") or {}
    options = {
        "challenge": encoded,
        "allowCredentials": [_descriptor(c) for c in allow.get("webauthn") or []],
        "userVerification": challenge.get("userVerification", "required"),
    }
    if rp.get("id"):
        options["rpId"] = rp["id"]
    return options


def webauthn_registration_to_credential_info(response: Mapping[str, Any]) -> dict[str, str]:
    """RegistrationResponseJSON → Dfns Fido2 ``credentialInfo`` (credentials.md §8.1)."""
    return {
        "credId": response["rawId"],
        "clientData": response["response"]["clientDataJSON"],
        "attestationData": response["response"]["attestationObject"],
    }


def webauthn_assertion_to_credential_assertion(response: Mapping[str, Any]) -> dict[str, str]:
    """AuthenticationResponseJSON → Dfns Fido2 ``credentialAssertion`` (credentials.md §8.2)."""
    inner = response["response"]
    out = {
        "credId": response["rawId"],
        "clientData": inner["clientDataJSON"],
        "authenticatorData": inner["authenticatorData"],
        "signature": inner["signature"],
    }
    if inner.get("userHandle"):
        out["userHandle"] = inner["userHandle"]
    return out
