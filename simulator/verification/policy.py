"""Verification policy and the registry of rule ids.

Every check in :mod:`simulator.verification` is guarded by one rule id from :data:`RULES`; the
service-level rules (user-action binding, single use, expiry, permissions, ...) have their own
registry, :data:`simulator.services.rules.SERVICE_RULES`, and the same switch.
Production code always uses :data:`DEFAULT_POLICY` (every rule on). The conformance suite and
the unit tests switch single rules off through ``disabled_rules`` to prove that each check is
the one that rejects a given bad input (a check that can never fail is not a check).
"""

from __future__ import annotations

from dataclasses import dataclass

RULES: dict[str, str] = {
    # -- key-based kinds (Key, PasswordProtectedKey, RecoveryKey) -------------------------
    "key.clientdata.type": "key clientData type must be key.create / key.get",
    "key.clientdata.challenge": "key clientData challenge must be C or base64url(C)",
    "key.clientdata.cross_origin": "key clientData crossOrigin, if present, must be false",
    "key.algorithm": "key algorithm field, if present, must be RSA-SHA256, SHA256 or SHA512",
    "key.public_key.rsa_size": "RSA public keys must be at least 2048 bits",
    "key.public_key.curve": "EC public keys must be on P-256, secp256k1 or P-384",
    "key.attestation.signature": "attestationData signature must verify over the fingerprint",
    "key.assertion.signature": "key assertion signature must verify over the clientData bytes",
    "recovery.challenge": "recovery assertion challenge must decode to the newCredentials",
    # -- Fido2 (WebAuthn passkeys) ----------------------------------------------------------
    "fido2.clientdata.type": "Fido2 clientData type must be webauthn.create / webauthn.get",
    "fido2.clientdata.challenge": "Fido2 clientData challenge must be C or base64url(C)",
    "fido2.clientdata.origin": "Fido2 clientData origin must be an origin of the relying parties",
    "fido2.clientdata.cross_origin": "Fido2 clientData crossOrigin must not be true",
    "fido2.authdata.rp_id_hash": "authData rpIdHash must be SHA-256 of the relying party id",
    "fido2.authdata.user_present": "authData UP flag must be set",
    "fido2.authdata.user_verified": "authData UV flag must be set when verification is required",
    "fido2.authdata.attested_data": "registration authData must carry attested credential data",
    "fido2.authdata.credential_id": "attested credential id must equal the decoded credId",
    "fido2.authdata.backup_state": "authData BS flag must not be set without BE",
    "fido2.authdata.trailing_bytes": "authData must not carry bytes after its structure",
    "fido2.algorithm": "credential COSE algorithm must be one of -7, -8, -257, -47",
    "fido2.attestation.format": "attestation fmt must be a known format",
    "fido2.attestation.none.empty": "none attestation statement must be empty",
    "fido2.attestation.packed.algorithm": "packed self attestation alg must equal the key alg",
    "fido2.attestation.packed.signature": "packed attestation sig must verify",
    "fido2.attestation.packed.validity": "packed x5c[0] validity period must contain now",
    "fido2.attestation.packed.certificate": "packed x5c[0] must meet WebAuthn §8.2.1",
    "fido2.attestation.packed.aaguid": "packed x5c[0] AAGUID extension must equal authData's",
    "fido2.attestation.fido_u2f.key": "fido-u2f attestation needs P-256 keys",
    "fido2.attestation.fido_u2f.signature": "fido-u2f attestation sig must verify",
    "fido2.assertion.signature": "Fido2 assertion signature must verify",
    "fido2.assertion.sign_count": "signCount must increase when stored and new are non-zero",
    "fido2.assertion.user_handle": "userHandle, if present, must be the user id's UTF-8 bytes",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class VerificationPolicy:
    # TEST-ONLY hook: rule ids to switch off. Never set in production wiring.
    disabled_rules: frozenset[str] = frozenset()
    allow_cross_origin: bool = False
    # Key kinds only (credentials.md §3.4): accept a 64-byte raw r||s instead of DER.
    accept_raw_ecdsa: bool = True
    # Dfns challenges ask for userVerification "required".
    require_user_verification: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.disabled_rules) - all_rule_ids()
        if unknown:
            raise ValueError(f"unknown rule ids: {sorted(unknown)}")

    def on(self, rule: str) -> bool:
        # The hot path: one frozenset membership test (empty in production).
        return rule not in self.disabled_rules


def all_rule_ids() -> frozenset[str]:
    """Every id ``disabled_rules`` accepts: the verification rules and the service rules."""
    from simulator.services.rules import SERVICE_RULES  # a plain dict module, no cycle

    return frozenset(RULES) | frozenset(SERVICE_RULES)


DEFAULT_POLICY = VerificationPolicy()
