"""Key, PasswordProtectedKey and RecoveryKey: attestation (§3.2), assertion (§3.3),
recovery challenge binding (§6) of credentials.md."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulator.errors import (
    INVALID_ATTESTATION,
    INVALID_SIGNATURE,
    UNSUPPORTED_ALGORITHM,
)

from ._codec import (
    INVALID_ASSERTION,
    CodecError,
    b64_bytes,
    fail,
    hex_bytes,
)
from .client_data import (
    ClientData,
    check_client_data,
    decode_client_data,
    open_credential_info,
)
from .policy import DEFAULT_POLICY, VerificationPolicy
from .public_keys import VerifyingKey, load_public_key_pem, verify_signature

KEY_ALGORITHMS = frozenset({"RSA-SHA256", "SHA256", "SHA512"})
_loads = json.JSONDecoder().decode


@dataclass(frozen=True, kw_only=True)
class KeyRegistration:
    cred_id: str  # as received; compare with simulator.encoding.same_id
    public_key: VerifyingKey
    algorithm: str | None
    client_data: ClientData


def _algorithm(value: Any, policy: VerificationPolicy) -> str | None:
    if value is None or (type(value) is str and value in KEY_ALGORITHMS):
        return value
    if policy.on("key.algorithm"):
        fail(400, UNSUPPORTED_ALGORITHM, "key.algorithm")
    return None  # rule off: behave as if absent (determined by the key)


def fingerprint_message(client_data_hash_hex: str, pem: str) -> bytes:
    """The Credential Info Fingerprint: compact JSON, exactly these two keys in this order."""
    return json.dumps(
        {"clientDataHash": client_data_hash_hex, "publicKey": pem}, separators=(",", ":")
    ).encode("utf-8")


def _client_data_hashes(cd: ClientData) -> list[str]:
    # Raw bytes first (the TS browser signer hashes its unsorted bytes), then the docs'
    # canonical sorted-compact re-serialisation (Python json.dumps, ASCII-escaped or not).
    hashes = [hashlib.sha256(cd.raw).hexdigest()]
    for ascii_only in (True, False):
        try:
            text = json.dumps(cd.fields, separators=(",", ":"), sort_keys=True,
                              ensure_ascii=ascii_only)
            h = hashlib.sha256(text.encode("utf-8")).hexdigest()
        except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
            continue  # unsortable keys cannot occur; nesting past the stack can: raw hash only
        if h not in hashes:
            hashes.append(h)
    return hashes


def verify_key_attestation(
    credential_info: Mapping[str, Any], *, challenge: str,
    policy: VerificationPolicy = DEFAULT_POLICY,
) -> KeyRegistration:
    """Verify a ``key.create`` credentialInfo ``{credId, clientData, attestationData}``."""
    cred_id, cd = open_credential_info(credential_info, expected_type="key.create",
                                       challenge=challenge, policy=policy, prefix="key")
    # origin is deliberately not checked for key kinds: SDK-era clients omit it (§3.1).
    try:
        att = _loads(b64_bytes(credential_info.get("attestationData")).decode("utf-8"))
    except (CodecError, UnicodeDecodeError, ValueError, RecursionError):
        fail(400, INVALID_ATTESTATION)
    if type(att) is not dict:
        fail(400, INVALID_ATTESTATION)
    # Any JSON value: load_public_key_pem rejects a non-PEM (unless that rule is switched off).
    pem: Any = att.get("publicKey")
    public_key = load_public_key_pem(pem, policy=policy)
    algorithm = _algorithm(att.get("algorithm"), policy)
    try:
        signature = hex_bytes(att.get("signature"))
    except CodecError:
        signature = b""
    accept_raw = policy.accept_raw_ecdsa
    ok = any(
        verify_signature(public_key, signature, fingerprint_message(h, pem),
                         algorithm=algorithm, accept_raw=accept_raw)
        for h in _client_data_hashes(cd)
    )
    if not ok and policy.on("key.attestation.signature"):
        fail(401, INVALID_SIGNATURE, "key.attestation.signature")
    return KeyRegistration(cred_id=cred_id, public_key=public_key, algorithm=algorithm,
                           client_data=cd)


def verify_key_assertion(
    assertion: Mapping[str, Any], *, challenge: str, public_key: VerifyingKey,
    policy: VerificationPolicy = DEFAULT_POLICY, expected_type: str = "key.get",
) -> ClientData:
    """Verify a credentialAssertion ``{credId, clientData, signature, algorithm?}``.

    Hot path of the load tests: one base64 + JSON decode of clientData, one base64 decode of
    the signature, one verify with the already-loaded key.
    """
    if type(assertion) is not dict and not isinstance(assertion, Mapping):
        fail(400, INVALID_ASSERTION)
    cd_b64 = assertion.get("clientData")
    sig_b64 = assertion.get("signature")
    algorithm = assertion.get("algorithm")
    cd = decode_client_data(cd_b64, policy)
    check_client_data(cd, expected_type=expected_type, challenge=challenge, policy=policy,
                      prefix="key")
    if algorithm is not None:
        algorithm = _algorithm(algorithm, policy)
    try:
        signature = b64_bytes(sig_b64)
    except CodecError:
        signature = b""
    if not verify_signature(public_key, signature, cd.raw, algorithm=algorithm,
                            accept_raw=policy.accept_raw_ecdsa) and policy.on(
        "key.assertion.signature"
    ):
        fail(401, INVALID_SIGNATURE, "key.assertion.signature")
    return cd


def recovery_challenge_matches(
    client_data: ClientData, new_credentials: Mapping[str, Any], *,
    policy: VerificationPolicy = DEFAULT_POLICY,
) -> bool:
    """§6: the assertion's challenge is base64url(JSON of newCredentials); compare as JSON."""
    if not policy.on("recovery.challenge"):
        return True
    try:
        decoded = _loads(b64_bytes(client_data.fields.get("challenge")).decode("utf-8"))
    except (CodecError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    try:
        return _json_equal(decoded, new_credentials)
    except RecursionError:
        return False


def _json_equal(a: Any, b: Any) -> bool:
    # Python's == says True == 1 == 1.0; JSON does not, so compare types for scalars.
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b
