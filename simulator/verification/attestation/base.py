"""What every attestation-format verifier receives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..public_keys import VerifyingKey


@dataclass(frozen=True, kw_only=True)
class StatementInput:
    auth_data: bytes  # the raw authData bytes, exactly as in the attestation object
    client_data_hash: bytes  # SHA-256 of the clientDataJSON bytes
    rp_id_hash: bytes
    credential_id: bytes
    aaguid: bytes  # 16 bytes
    public_key: VerifyingKey  # the credential public key
    cose_alg: int
    now: datetime  # timezone-aware; certificate validity is judged at this instant
