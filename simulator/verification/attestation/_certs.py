"""Loading x5c certificates without letting parser exceptions escape."""

from __future__ import annotations

from typing import Any

from cryptography import x509

from simulator.errors import INVALID_ATTESTATION

from .._codec import fail
from ..policy import VerificationPolicy
from ..public_keys import VerifyingKey

# Attestation certificate keys are judged by the format rules, not by the key-kind policy.
_ANY_KEY = VerificationPolicy(
    disabled_rules=frozenset({"key.public_key.rsa_size", "key.public_key.curve"})
)


def x5c_list(value: Any) -> list[bytes]:
    if not isinstance(value, list) or not value or not all(isinstance(c, bytes) for c in value):
        fail(400, INVALID_ATTESTATION)
    return value


def load_cert(der: bytes) -> tuple[x509.Certificate, VerifyingKey]:
    try:
        cert = x509.load_der_x509_certificate(der)
        key = VerifyingKey.from_key(cert.public_key(), policy=_ANY_KEY)
    except Exception:  # noqa: BLE001 - unparsable certificate or unsupported key type
        fail(400, INVALID_ATTESTATION)
    return cert, key
