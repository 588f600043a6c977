"""Hand-built credentials for the F-checks the virtual authenticators' fault flags cannot express
(structure the authenticators refuse to produce: wrong COSE algorithms, bad attestation
statements, certificates that break WebAuthn §8.2.1, key attestations with bad keys)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding
from cryptography.x509.oid import NameOID
from fido2 import cbor
from fido2.cose import CoseKey
from fido2.webauthn import AttestedCredentialData

from virtual_authenticators import b64url_encode

AAGUID = bytes(range(16))
StmtBuilder = Callable[[bytes, bytes, Any], dict[str, Any]]


def sign(private: Any, data: bytes) -> bytes:
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return private.sign(data)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return private.sign(data, ec.ECDSA(hashes.SHA256()))
    return private.sign(data, padding.PKCS1v15(), hashes.SHA256())


def pem_of(private: Any) -> str:
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


_ATT_KEY: list[Any] = []


def att_key() -> Any:
    if not _ATT_KEY:
        _ATT_KEY.append(ec.generate_private_key(ec.SECP256R1()))
    return _ATT_KEY[0]


def att_cert(*, private: Any = None, ou: str = "Authenticator Attestation", ca: bool = False,
             aaguid: bytes | None = AAGUID, not_after: dt.datetime | None = None) -> bytes:
    private = private or att_key()
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Conformance Vendor"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
        x509.NameAttribute(NameOID.COMMON_NAME, "Conformance Attestation"),
    ])
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(private.public_key()).serial_number(4321)
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(not_after or dt.datetime(2045, 1, 1, tzinfo=dt.UTC))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if aaguid is not None:
        builder = builder.add_extension(x509.UnrecognizedExtension(
            x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4"), b"\x04\x10" + aaguid),
            critical=False)
    return builder.sign(private, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def packed_full(cert: bytes | None = None, signer: Any = None, alg: int = -7) -> StmtBuilder:
    def build(ad: bytes, cdh: bytes, key: Any) -> dict[str, Any]:
        return {"alg": alg, "sig": sign(signer or att_key(), ad + cdh),
                "x5c": [cert if cert is not None else att_cert()]}
    return build


def packed_self(alg: int = -7) -> StmtBuilder:
    def build(ad: bytes, cdh: bytes, key: Any) -> dict[str, Any]:
        return {"alg": alg, "sig": sign(key, ad + cdh)}
    return build


def fido_u2f(signer: Any = None) -> StmtBuilder:
    def build(ad: bytes, cdh: bytes, key: Any) -> dict[str, Any]:
        cred_len = int.from_bytes(ad[53:55], "big")
        cred_id = ad[55:55 + cred_len]
        pub = key.public_key().public_bytes(serialization.Encoding.X962,
                                            serialization.PublicFormat.UncompressedPoint)
        data = b"\x00" + ad[:32] + cdh + cred_id + pub
        return {"sig": sign(signer or att_key(), data), "x5c": [att_cert()]}
    return build


def fixed_stmt(stmt: dict[str, Any]) -> StmtBuilder:
    return lambda ad, cdh, key: stmt


class CraftedPasskey:
    """Answers a registration / credential challenge with a hand-built WebAuthn attestation."""

    kind = "Fido2"

    def __init__(self, origin: str, *, key: Any = None, cose_alg: int = -7, fmt: str = "none",
                 stmt: StmtBuilder | None = None, flags: int = 0x45, trailing: bytes = b"",
                 cred_id_in_body: bytes | None = None, attested: bool = True,
                 cd_type: str = "webauthn.create") -> None:
        self.origin = origin
        self.key = key or ec.generate_private_key(ec.SECP256R1())
        self.cose_alg = cose_alg
        self.fmt = fmt
        self.stmt = stmt
        self.flags = flags
        self.trailing = trailing
        self.cred_id = hashlib.sha256(pem_of(self.key).encode()).digest()[:16]
        self.cred_id_in_body = cred_id_in_body
        self.attested = attested
        self.cd_type = cd_type

    def register(self, challenge: Mapping[str, Any]) -> dict[str, Any]:
        rp_id = (challenge.get("rp") or {}).get("id", "localhost")
        cd = compact({"type": self.cd_type,
                      "challenge": b64url_encode(challenge["challenge"].encode()),
                      "origin": self.origin, "crossOrigin": False})
        acd = b""
        if self.attested:
            cose = CoseKey.for_alg(self.cose_alg).from_cryptography_key(self.key.public_key())
            acd = bytes(AttestedCredentialData.create(AAGUID, self.cred_id, cose))
        ad = (hashlib.sha256(rp_id.encode()).digest() + bytes([self.flags])
              + (0).to_bytes(4, "big") + acd + self.trailing)
        stmt = self.stmt(ad, hashlib.sha256(cd).digest(), self.key) if self.stmt else {}
        obj = cbor.encode({"fmt": self.fmt, "attStmt": stmt, "authData": ad})
        return {"credentialKind": "Fido2", "credentialInfo": {
            "credId": b64url_encode(self.cred_id_in_body or self.cred_id),
            "clientData": b64url_encode(cd), "attestationData": b64url_encode(obj)}}


class CraftedKey:
    """Answers a challenge with a hand-built ``Key`` attestation (credentials.md §3.2)."""

    def __init__(self, origin: str, *, key: Any = None, kind: str = "Key",
                 cd_type: str = "key.create", challenge: str | None = None,
                 cross_origin: bool | None = False, algorithm: str | None = None,
                 tamper: bool = False, pem: str | None = None, hash_of: bytes | None = None,
                 extra: Mapping[str, Any] | None = None) -> None:
        self.origin = origin
        self.key = key or ec.generate_private_key(ec.SECP256R1())
        self.kind = kind
        self.cd_type = cd_type
        self.challenge = challenge
        self.cross_origin = cross_origin
        self.algorithm = algorithm
        self.tamper = tamper
        self.pem = pem
        self.hash_of = hash_of
        self.extra = dict(extra or {})

    def register(self, challenge: Mapping[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {"type": self.cd_type,
                                  "challenge": self.challenge or challenge["challenge"],
                                  "origin": self.origin}
        if self.cross_origin is not None:
            fields["crossOrigin"] = self.cross_origin
        cd = compact(fields)
        pem = self.pem or pem_of(self.key)
        digest = hashlib.sha256(self.hash_of if self.hash_of is not None else cd).hexdigest()
        signature = bytearray(sign(self.key, compact({"clientDataHash": digest, "publicKey": pem})))
        if self.tamper:
            signature[len(signature) // 2] ^= 1
        att: dict[str, Any] = {"publicKey": pem, "signature": signature.hex()}
        if self.algorithm:
            att["algorithm"] = self.algorithm
        out = {"credentialKind": self.kind, "credentialInfo": {
            "credId": b64url_encode(hashlib.sha256(pem.encode()).digest()[:16]),
            "clientData": b64url_encode(cd), "attestationData": b64url_encode(compact(att))}}
        out.update(self.extra)
        return out


def key_assertion(device: Any, challenge: str, *, cd_type: str = "key.get",
                  challenge_override: str | None = None, cross_origin: bool | None = False,
                  tamper: bool = False, key: Any = None,
                  origin: str | None = None) -> dict[str, Any]:
    """A ``Key``-style assertion by ``device`` (or ``key``) with chosen defects."""
    fields: dict[str, Any] = {"type": cd_type, "challenge": challenge_override or challenge,
                              "origin": origin or device.origin}
    if cross_origin is not None:
        fields["crossOrigin"] = cross_origin
    cd = compact(fields)
    signature = bytearray(sign(key or device.private_key, cd))
    if tamper:
        signature[len(signature) // 2] ^= 1
    return {"kind": device.kind, "credentialAssertion": {
        "credId": device.credential_id, "clientData": b64url_encode(cd),
        "signature": b64url_encode(bytes(signature))}}
