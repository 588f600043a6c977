"""Pure cryptographic verification of Dfns credentials (no HTTP, no store, no globals).

Every failure is an :class:`simulator.errors.ApiError` with the status and message of
errors.md §3.3; every check is guarded by a rule id of :data:`RULES`.
"""

from __future__ import annotations

from .client_data import ClientData, challenge_matches, decode_client_data
from .key_kinds import (
    KeyRegistration,
    recovery_challenge_matches,
    verify_key_assertion,
    verify_key_attestation,
)
from .passkeys import (
    PasskeyRegistration,
    RelyingParty,
    verify_passkey_assertion,
    verify_passkey_attestation,
)
from .policy import DEFAULT_POLICY, RULES, VerificationPolicy
from .public_keys import VerifyingKey, load_cose_key, load_public_key_pem, verify_signature

__all__ = [
    "DEFAULT_POLICY",
    "RULES",
    "ClientData",
    "KeyRegistration",
    "PasskeyRegistration",
    "RelyingParty",
    "VerificationPolicy",
    "VerifyingKey",
    "challenge_matches",
    "decode_client_data",
    "load_cose_key",
    "load_public_key_pem",
    "recovery_challenge_matches",
    "verify_key_assertion",
    "verify_key_attestation",
    "verify_passkey_assertion",
    "verify_passkey_attestation",
    "verify_signature",
]
