"""``fido-u2f`` attestation (WebAuthn §8.6): P-256 keys, signature over the U2F layout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization

from simulator.errors import INVALID_ATTESTATION, INVALID_SIGNATURE

from .._codec import fail
from ..policy import VerificationPolicy
from ..public_keys import COSE_ES256, verify_signature
from ._certs import load_cert, x5c_list
from .base import StatementInput


def verify(att_stmt: Mapping[str, Any], inp: StatementInput, policy: VerificationPolicy) -> None:
    sig = att_stmt.get("sig")
    x5c = x5c_list(att_stmt.get("x5c"))
    if not isinstance(sig, bytes) or len(x5c) != 1:
        fail(400, INVALID_ATTESTATION)
    _cert, cert_key = load_cert(x5c[0])
    p256 = cert_key.key_type == "P-256" and inp.public_key.key_type == "P-256"
    if not p256 and policy.on("fido2.attestation.fido_u2f.key"):
        fail(400, INVALID_ATTESTATION, "fido2.attestation.fido_u2f.key")
    try:  # publicKeyU2F = 0x04 || x || y
        public_u2f = inp.public_key.key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    except Exception:  # noqa: BLE001 - only reachable with the key rule switched off
        public_u2f = inp.public_key.spki_der
    data = b"\x00" + inp.rp_id_hash + inp.client_data_hash + inp.credential_id + public_u2f
    if not verify_signature(cert_key, sig, data, cose_alg=COSE_ES256, accept_raw=False) and (
        policy.on("fido2.attestation.fido_u2f.signature")
    ):
        fail(401, INVALID_SIGNATURE, "fido2.attestation.fido_u2f.signature")
