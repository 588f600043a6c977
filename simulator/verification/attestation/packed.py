"""``packed`` attestation (WebAuthn §8.2): self attestation and full (x5c) attestation.

Full attestation checks x5c[0] only (signature, validity period, §8.2.1 requirements, AAGUID
extension); chains are not validated to a root, by design (credentials.md §8.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from simulator.errors import INVALID_ATTESTATION, INVALID_SIGNATURE

from .._codec import fail
from ..policy import VerificationPolicy
from ..public_keys import verify_signature
from ._certs import load_cert, x5c_list
from .base import StatementInput

# id-fido-gen-ce-aaguid
AAGUID_OID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")


def verify(att_stmt: Mapping[str, Any], inp: StatementInput, policy: VerificationPolicy) -> None:
    alg = att_stmt.get("alg")
    sig = att_stmt.get("sig")
    if type(alg) is not int or not isinstance(sig, bytes) or "ecdaaKeyId" in att_stmt:
        fail(400, INVALID_ATTESTATION)
    signed = inp.auth_data + inp.client_data_hash
    # Mutant (x5c rule off, TEST-ONLY): an empty x5c reads as self attestation.
    if "x5c" not in att_stmt or (att_stmt["x5c"] == [] and not policy.on(
            "fido2.attestation.packed.x5c")):
        _verify_self(alg, sig, signed, inp, policy)
    elif att_stmt["x5c"] == []:
        fail(400, INVALID_ATTESTATION, "fido2.attestation.packed.x5c")
    else:
        _verify_full(alg, sig, signed, x5c_list(att_stmt["x5c"]), inp, policy)


def _verify_self(alg: int, sig: bytes, signed: bytes, inp: StatementInput,
                 policy: VerificationPolicy) -> None:
    if alg != inp.cose_alg and policy.on("fido2.attestation.packed.algorithm"):
        fail(400, INVALID_ATTESTATION, "fido2.attestation.packed.algorithm")
    if not verify_signature(inp.public_key, sig, signed, cose_alg=inp.cose_alg,
                            accept_raw=False) and policy.on("fido2.attestation.packed.signature"):
        fail(401, INVALID_SIGNATURE, "fido2.attestation.packed.signature")


def _verify_full(alg: int, sig: bytes, signed: bytes, x5c: list[bytes], inp: StatementInput,
                 policy: VerificationPolicy) -> None:
    cert, cert_key = load_cert(x5c[0])
    if not verify_signature(cert_key, sig, signed, cose_alg=alg, accept_raw=False) and policy.on(
        "fido2.attestation.packed.signature"
    ):
        fail(401, INVALID_SIGNATURE, "fido2.attestation.packed.signature")
    try:
        in_validity = cert.not_valid_before_utc <= inp.now <= cert.not_valid_after_utc
    except Exception:  # noqa: BLE001 - naive `now` or odd dates count as outside
        in_validity = False
    if not in_validity and policy.on("fido2.attestation.packed.validity"):
        fail(400, INVALID_ATTESTATION, "fido2.attestation.packed.validity")
    if not _meets_requirements(cert) and policy.on("fido2.attestation.packed.certificate"):
        fail(400, INVALID_ATTESTATION, "fido2.attestation.packed.certificate")
    ext_aaguid = _aaguid_extension(cert)
    if ext_aaguid is not None and ext_aaguid != inp.aaguid and policy.on(
        "fido2.attestation.packed.aaguid"
    ):
        fail(400, INVALID_ATTESTATION, "fido2.attestation.packed.aaguid")


def _meets_requirements(cert: x509.Certificate) -> bool:
    """WebAuthn §8.2.1: version 3, OU "Authenticator Attestation", not a CA."""
    try:
        if cert.version is not x509.Version.v3:
            return False
        ous = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        if [a.value for a in ous] != ["Authenticator Attestation"]:
            return False
        try:
            bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            return True  # absent is tolerated: some shipped attestation certs omit it
        return not bc.ca
    except Exception:  # noqa: BLE001 - malformed extensions fail the requirements
        return False


def _aaguid_extension(cert: x509.Certificate) -> bytes | None:
    try:
        ext = cert.extensions.get_extension_for_oid(AAGUID_OID).value
    except x509.ExtensionNotFound:
        return None
    except Exception:  # noqa: BLE001 - malformed extensions: an AAGUID that matches nothing
        return b""
    raw = getattr(ext, "value", b"")
    # The extension value is a DER OCTET STRING wrapping the 16 AAGUID bytes.
    if len(raw) == 18 and raw[:2] == b"\x04\x10":
        return raw[2:]
    return b""
