"""Fido2 (WebAuthn passkeys): registration (credentials.md §8.1) and assertion (§8.2).

Registration parses the attestation object with fido2's CBOR and AttestedCredentialData; the
assertion (load-test hot path) slices the 37-byte authenticator data by hand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fido2 import cbor
from fido2.webauthn import AttestedCredentialData

from simulator.errors import (
    ATTESTED_DATA_MISSING,
    CREDENTIAL_ID_MISMATCH,
    INVALID_ATTESTATION,
    INVALID_SIGNATURE,
    ORIGIN_MISMATCH,
    RPID_MISMATCH,
    SIGN_COUNT,
    UNSUPPORTED_ALGORITHM,
    USER_NOT_PRESENT,
    USER_NOT_VERIFIED,
)

from ._codec import (
    INVALID_ASSERTION,
    INVALID_AUTHENTICATOR_DATA,
    USER_HANDLE_MISMATCH,
    CodecError,
    b64_bytes,
    fail,
)
from .attestation import StatementInput, verify_statement
from .client_data import (
    ClientData,
    check_client_data,
    decode_client_data,
    open_credential_info,
)
from .policy import DEFAULT_POLICY, VerificationPolicy
from .public_keys import VerifyingKey, load_cose_key, verify_signature

BACKUP_STATE_INVALID = "backup state set without backup eligibility"

FLAG_UP, FLAG_UV, FLAG_BE, FLAG_BS, FLAG_AT, FLAG_ED = 0x01, 0x04, 0x08, 0x10, 0x40, 0x80
# ES256, EdDSA, RS256 (credentials.md §8.1) and ES256K (fido2 supports it, costs nothing).
ALLOWED_COSE_ALGS = frozenset({-7, -8, -257, -47})


@dataclass(frozen=True, kw_only=True)
class RelyingParty:
    rp_id: str
    origin: str
    rp_id_hash: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # computed once: the assertion hot path compares against it on every call
        object.__setattr__(self, "rp_id_hash", hashlib.sha256(self.rp_id.encode()).digest())


@dataclass(frozen=True, kw_only=True)
class PasskeyRegistration:
    cred_id: str  # as received
    public_key: VerifyingKey
    cose_alg: int
    sign_count: int
    aaguid: str  # 8-4-4-4-12 lowercase hex
    fmt: str
    rp: RelyingParty
    backup_eligible: bool
    backup_state: bool
    user_verified: bool


# -- shared checks ----------------------------------------------------------------------------


def _rps_for_origin(
    cd: ClientData, relying_parties: Sequence[RelyingParty], policy: VerificationPolicy
) -> Sequence[RelyingParty]:
    origin = cd.fields.get("origin")
    matching = [rp for rp in relying_parties if rp.origin == origin]
    if not matching:
        if policy.on("fido2.clientdata.origin"):
            fail(401, ORIGIN_MISMATCH, "fido2.clientdata.origin")
        matching = list(relying_parties)
        if not matching:
            fail(401, ORIGIN_MISMATCH)
    return matching


def _rp_for_hash(
    rp_id_hash: bytes, candidates: Sequence[RelyingParty], policy: VerificationPolicy
) -> RelyingParty:
    for rp in candidates:
        if rp.rp_id_hash == rp_id_hash:
            return rp
    if policy.on("fido2.authdata.rp_id_hash"):
        fail(401, RPID_MISMATCH, "fido2.authdata.rp_id_hash")
    return candidates[0]


def _check_flags(flags: int, policy: VerificationPolicy) -> None:
    if not flags & FLAG_UP and policy.on("fido2.authdata.user_present"):
        fail(401, USER_NOT_PRESENT, "fido2.authdata.user_present")
    if (not flags & FLAG_UV and policy.require_user_verification
            and policy.on("fido2.authdata.user_verified")):
        fail(401, USER_NOT_VERIFIED, "fido2.authdata.user_verified")
    if flags & FLAG_BS and not flags & FLAG_BE and policy.on("fido2.authdata.backup_state"):
        fail(401, BACKUP_STATE_INVALID, "fido2.authdata.backup_state")


# -- registration -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RegAuthData:
    flags: int
    sign_count: int
    acd: AttestedCredentialData | None


def _parse_registration_auth_data(ad: bytes, policy: VerificationPolicy) -> _RegAuthData:
    if len(ad) < 37:
        if policy.on("fido2.authdata.encoding"):
            fail(400, INVALID_ATTESTATION, "fido2.authdata.encoding")
        ad = ad.ljust(37, b"\0")  # mutant: zero-padded (no flags: the AT rule rejects next)
    flags = ad[32]
    # AT is judged before parsing: with AT clear, attested data would read as trailing bytes.
    if not flags & FLAG_AT and policy.on("fido2.authdata.attested_data"):
        fail(401, ATTESTED_DATA_MISSING, "fido2.authdata.attested_data")
    rest = ad[37:]
    acd = None
    # With the AT rule off, still parse attested data that is present, so the test can show
    # that this rule alone rejects a cleared AT flag.
    if flags & FLAG_AT or (rest and not policy.on("fido2.authdata.attested_data")):
        try:
            acd, rest = AttestedCredentialData.unpack_from(rest)
        except Exception:  # noqa: BLE001 - fido2 raises ValueError/KeyError/IndexError/...
            fail(400, INVALID_ATTESTATION)
    if flags & FLAG_ED:
        rest = _skip_extensions(rest, INVALID_ATTESTATION)
    # fido2's AuthenticatorData raises "Wrong length" on trailing bytes; we parse the parts
    # ourselves and check it explicitly so the rule is visible and can be switched off.
    if rest and policy.on("fido2.authdata.trailing_bytes"):
        fail(400, INVALID_ATTESTATION, "fido2.authdata.trailing_bytes")
    return _RegAuthData(flags, int.from_bytes(ad[33:37], "big"), acd)


def verify_passkey_attestation(
    credential_info: Mapping[str, Any], *, challenge: str,
    relying_parties: Sequence[RelyingParty], policy: VerificationPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> PasskeyRegistration:
    cred_id, cd = open_credential_info(credential_info, expected_type="webauthn.create",
                                       challenge=challenge, policy=policy, prefix="fido2")
    candidates = _rps_for_origin(cd, relying_parties, policy)
    try:
        obj = cbor.decode(b64_bytes(credential_info.get("attestationData")))
    except Exception:  # noqa: BLE001 - CodecError, or anything fido2's CBOR decoder raises
        obj = None
    if not isinstance(obj, dict):
        obj = {}
    fmt, att_stmt, ad = obj.get("fmt"), obj.get("attStmt"), obj.get("authData")
    if not isinstance(fmt, str) or not isinstance(att_stmt, dict) or not isinstance(ad, bytes):
        if policy.on("fido2.attestation.encoding"):
            fail(400, INVALID_ATTESTATION, "fido2.attestation.encoding")
        # Mutant (rule off, TEST-ONLY): the unreadable parts read as empty (no flags set).
        fmt = fmt if isinstance(fmt, str) else "none"
        att_stmt = att_stmt if isinstance(att_stmt, dict) else {}
        ad = ad if isinstance(ad, bytes) and len(ad) >= 37 else bytes(37)
    parsed = _parse_registration_auth_data(ad, policy)
    rp = _rp_for_hash(ad[:32], candidates, policy)
    flags = parsed.flags
    _check_flags(flags, policy)
    acd = parsed.acd
    if acd is None:  # only with the AT rule off: no credential can be read from it
        fail(400, INVALID_ATTESTATION)
    try:
        id_ok = b64_bytes(cred_id) == acd.credential_id
    except CodecError:
        id_ok = False
    if not id_ok and policy.on("fido2.authdata.credential_id"):
        fail(401, CREDENTIAL_ID_MISMATCH, "fido2.authdata.credential_id")
    public_key, cose_alg = load_cose_key(acd.public_key, policy=policy)
    if cose_alg not in ALLOWED_COSE_ALGS and policy.on("fido2.algorithm"):
        fail(401, UNSUPPORTED_ALGORITHM, "fido2.algorithm")
    inp = StatementInput(
        auth_data=ad, client_data_hash=hashlib.sha256(cd.raw).digest(), rp_id_hash=ad[:32],
        credential_id=bytes(acd.credential_id), aaguid=bytes(acd.aaguid), public_key=public_key,
        cose_alg=cose_alg, now=now or datetime.now(UTC),
    )
    verify_statement(fmt, att_stmt, inp, policy)
    return PasskeyRegistration(
        cred_id=cred_id, public_key=public_key, cose_alg=cose_alg, sign_count=parsed.sign_count,
        aaguid=str(acd.aaguid), fmt=fmt, rp=rp, backup_eligible=bool(flags & FLAG_BE),
        backup_state=bool(flags & FLAG_BS), user_verified=bool(flags & FLAG_UV),
    )


# -- assertion (hot path) ---------------------------------------------------------------------

_sha256 = hashlib.sha256


def verify_passkey_assertion(
    assertion: Mapping[str, Any], *, challenge: str, relying_parties: Sequence[RelyingParty],
    public_key: VerifyingKey, cose_alg: int, stored_sign_count: int, user_id: str | None = None,
    policy: VerificationPolicy = DEFAULT_POLICY,
) -> int:
    """Verify a Fido2 credentialAssertion; returns the new signature counter."""
    if type(assertion) is not dict and not isinstance(assertion, Mapping):
        fail(400, INVALID_ASSERTION)
    cd = decode_client_data(assertion.get("clientData"), policy)
    check_client_data(cd, expected_type="webauthn.get", challenge=challenge, policy=policy,
                      prefix="fido2")
    candidates = _rps_for_origin(cd, relying_parties, policy)
    try:
        ad = b64_bytes(assertion.get("authenticatorData"))
    except CodecError:
        ad = b""
        if policy.on("fido2.authdata.encoding"):
            fail(400, INVALID_AUTHENTICATOR_DATA, "fido2.authdata.encoding")
    if len(ad) != 37:
        if len(ad) < 37 and not policy.on("fido2.authdata.encoding"):
            ad = ad.ljust(37, b"\0")  # mutant: zero-padded (the rpIdHash rule rejects next)
        _check_assertion_tail(ad, policy)
    _rp_for_hash(ad[:32], candidates, policy)
    flags = ad[32]
    _check_flags(flags, policy)
    try:
        signature = b64_bytes(assertion.get("signature"))
    except CodecError:
        signature = b""
    # WebAuthn signatures are DER for EC: no raw r||s leniency here.
    if not verify_signature(public_key, signature, ad + _sha256(cd.raw).digest(),
                            cose_alg=cose_alg, accept_raw=False) and policy.on(
        "fido2.assertion.signature"
    ):
        fail(401, INVALID_SIGNATURE, "fido2.assertion.signature")
    count = int.from_bytes(ad[33:37], "big")
    if count and stored_sign_count and count <= stored_sign_count and policy.on(
        "fido2.assertion.sign_count"
    ):
        fail(401, SIGN_COUNT, "fido2.assertion.sign_count")
    handle = assertion.get("userHandle")
    if handle and user_id is not None:  # absent, null or "" means "not sent"
        try:
            handle_ok = b64_bytes(handle) == user_id.encode("utf-8")
        except CodecError:
            handle_ok = False
        if not handle_ok and policy.on("fido2.assertion.user_handle"):
            fail(401, USER_HANDLE_MISMATCH, "fido2.assertion.user_handle")
    return count


def _check_assertion_tail(ad: bytes, policy: VerificationPolicy) -> None:
    """Authenticator data longer than 37 bytes: only an extensions map (ED) may follow."""
    if len(ad) < 37:
        fail(400, INVALID_AUTHENTICATOR_DATA, "fido2.authdata.encoding")
    rest = ad[37:]
    if ad[32] & FLAG_ED:
        rest = _skip_extensions(rest, INVALID_AUTHENTICATOR_DATA)
    if rest and policy.on("fido2.authdata.trailing_bytes"):
        fail(400, INVALID_AUTHENTICATOR_DATA, "fido2.authdata.trailing_bytes")


def _skip_extensions(rest: bytes, message: str) -> bytes:
    """The ED flag's extensions: one CBOR map; returns what follows it (400 ``message``)."""
    try:
        ext, rest = cbor.decode_from(rest)
    except Exception:  # noqa: BLE001 - fido2's CBOR decoder raises many types
        fail(400, message)
    if not isinstance(ext, dict):
        fail(400, message)
    return rest
