"""Independent verifiers used by the authenticator tests.

Three referees, none of them our code under test:
* python-fido2's ``Fido2Server`` (with a small attestation verifier trusting our root CA),
* py_webauthn's ``verify_registration_response`` / ``verify_authentication_response``,
* ``reference_*`` checks written here from credentials.md, for the rules (Dfns / WebAuthn L3)
  that neither library enforces.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any

import webauthn
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from fido2 import cbor
from fido2.attestation import Attestation, AttestationVerifier
from fido2.attestation.base import verify_x509_chain
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestedCredentialData,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    UserVerificationRequirement,
)
from webauthn.helpers.structs import AttestationFormat

RP_ID = "app.example.com"
ORIGIN = "https://app.example.com"
USER_ID = b"us-2ba0h-lvp2q-8v1860pcj1bh5irf"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    text = text.replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ----------------------------------------------------------------------------- fido2


class TrustRoot(AttestationVerifier):
    """Verifies the statement with fido2's format classes and chains x5c to ``root_der``;
    self attestation (no trust path) needs no chain."""

    def __init__(self, root_der: bytes | None) -> None:
        super().__init__()
        self.root_der = root_der

    def ca_lookup(self, attestation_result, auth_data):  # noqa: ANN001, ANN201
        return self.root_der

    def verify_attestation(self, attestation_object, client_data_hash) -> None:  # noqa: ANN001
        result = Attestation.for_type(attestation_object.fmt)().verify(
            attestation_object.att_stmt, attestation_object.auth_data, client_data_hash
        )
        if result.trust_path:
            if not self.root_der:
                raise ValueError("no trust root")
            verify_x509_chain(result.trust_path + [self.root_der])


@dataclass
class Fido2Rp:
    """A relying party on fido2.server.Fido2Server (stateless server + our credential list)."""

    root_der: bytes | None = None
    verify_attestation: bool = True
    credentials: list[AttestedCredentialData] = field(default_factory=list)

    def server(self) -> Fido2Server:
        rp = PublicKeyCredentialRpEntity(name="Example", id=RP_ID)
        if not self.verify_attestation:
            return Fido2Server(rp)
        return Fido2Server(rp, attestation="direct", verify_attestation=TrustRoot(self.root_der))

    def register(self, response: dict[str, Any], challenge: bytes, uv: str = "preferred") -> None:
        server = self.server()
        _, state = server.register_begin(
            PublicKeyCredentialUserEntity(name="jane", id=USER_ID, display_name="Jane"),
            challenge=challenge,
            user_verification=UserVerificationRequirement(uv),
        )
        auth_data = server.register_complete(state, response)
        self.credentials.append(auth_data.credential_data)

    def authenticate(self, response: dict[str, Any], challenge: bytes,
                     uv: str = "preferred") -> None:
        server = self.server()
        _, state = server.authenticate_begin(
            self.credentials, challenge=challenge, user_verification=UserVerificationRequirement(uv)
        )
        server.authenticate_complete(state, self.credentials, response)


# ----------------------------------------------------------------------------- py_webauthn


@dataclass
class PyWebauthnRp:
    root_pem: bytes | None = None
    public_key: bytes = b""
    sign_count: int = 0

    def register(self, response: dict[str, Any], challenge: bytes, uv: bool = False) -> None:
        roots = None
        if self.root_pem:
            roots = {AttestationFormat.PACKED: [self.root_pem],
                     AttestationFormat.FIDO_U2F: [self.root_pem]}
        verified = webauthn.verify_registration_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=RP_ID,
            expected_origin=ORIGIN,
            require_user_verification=uv,
            pem_root_certs_bytes_by_fmt=roots,
        )
        self.public_key = verified.credential_public_key
        self.sign_count = verified.sign_count

    def authenticate(self, response: dict[str, Any], challenge: bytes, uv: bool = False) -> None:
        verified = webauthn.verify_authentication_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=RP_ID,
            expected_origin=ORIGIN,
            credential_public_key=self.public_key,
            credential_current_sign_count=self.sign_count,
            require_user_verification=uv,
        )
        self.sign_count = verified.new_sign_count


# ----------------------------------------------------------------------------- reference checks


def auth_data_of(response: dict[str, Any]) -> bytes:
    inner = response["response"]
    if "attestationObject" in inner:
        return cbor.decode(unb64u(inner["attestationObject"]))["authData"]
    return unb64u(inner["authenticatorData"])


def reference_passkey_rules(response: dict[str, Any], *, stored_count: int = 0) -> None:
    """The rules the libraries leave to the RP (credentials.md §8, WebAuthn L3 §6.1)."""
    client_data = json.loads(unb64u(response["response"]["clientDataJSON"]))
    if client_data.get("crossOrigin") is True:
        raise ValueError("crossOrigin must not be true")
    auth_data = auth_data_of(response)
    flags = auth_data[32]
    if flags & 0x10 and not flags & 0x08:
        raise ValueError("BS set without BE")
    count = struct.unpack(">I", auth_data[33:37])[0]
    if "authenticatorData" in response["response"] and "attestationObject" not in response[
        "response"
    ]:
        if (count or stored_count) and count <= stored_count:
            raise ValueError("signCount did not increase")
        if len(auth_data) != 37 and not flags & 0xC0:
            raise ValueError("trailing bytes after authenticator data")
    else:
        att = cbor.decode(unb64u(response["response"]["attestationObject"]))
        now = dt.datetime.now(dt.UTC)
        for der in att["attStmt"].get("x5c", []):
            cert = x509.load_der_x509_certificate(der)
            if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                raise ValueError("attestation certificate outside its validity period")


# ----------------------------------------------------------------------------- key kinds


def verify_signature(public_key: Any, signature: bytes, data: bytes) -> None:
    """credentials.md §3.4: Ed25519 raw; ECDSA DER SHA-256; RSA PKCS#1 v1.5 SHA-256."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        public_key.verify(signature, data)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise TypeError(type(public_key))


def check_challenge(received: str, issued: str) -> None:
    """credentials.md §7: C itself or base64url(UTF-8(C)), padded or not."""
    if received.rstrip("=") not in (issued, b64u(issued.encode())):
        raise ValueError("challenge mismatch")


def _key_client_data(encoded: str, expected_type: str, challenge: str) -> tuple[bytes, dict]:
    """credentials.md §3.1 checks shared by §3.2 and §3.3: (raw bytes, parsed JSON)."""
    client_data = unb64u(encoded)
    parsed = json.loads(client_data)
    if parsed.get("type") != expected_type:
        raise ValueError("type")
    check_challenge(parsed["challenge"], challenge)
    if parsed.get("crossOrigin", False) is not False:
        raise ValueError("crossOrigin")
    return client_data, parsed


def reference_key_registration(credential_info: dict[str, str], challenge: str) -> str:
    """credentials.md §3.2 verifier procedure, verbatim. Returns the PEM on success."""
    client_data, parsed = _key_client_data(credential_info["clientData"], "key.create", challenge)
    attestation = json.loads(unb64u(credential_info["attestationData"]))
    pem = attestation["publicKey"]
    public_key = serialization.load_pem_public_key(pem.replace("\\n", "\n").encode())
    signature = bytes.fromhex(attestation["signature"])
    for digest in (
        hashlib.sha256(client_data).hexdigest(),
        hashlib.sha256(
            json.dumps(parsed, separators=(",", ":"), sort_keys=True).encode()
        ).hexdigest(),
    ):
        fingerprint = json.dumps(
            {"clientDataHash": digest, "publicKey": pem}, separators=(",", ":")
        ).encode()
        try:
            verify_signature(public_key, signature, fingerprint)
            return pem
        except InvalidSignature:
            continue
    raise InvalidSignature("attestation signature")


def reference_key_assertion(assertion: dict[str, str], challenge: str, pem: str) -> None:
    """credentials.md §3.3."""
    client_data, _ = _key_client_data(assertion["clientData"], "key.get", challenge)
    public_key = serialization.load_pem_public_key(pem.replace("\\n", "\n").encode())
    verify_signature(public_key, unb64u(assertion["signature"]), client_data)
