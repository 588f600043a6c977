"""Builders of valid (and deliberately broken) credentials for the verification tests."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID
from fido2 import cbor
from fido2.cose import CoseKey
from fido2.webauthn import AttestationObject, AttestedCredentialData, AuthenticatorData

from simulator.verification import RelyingParty

CHALLENGE = "Y2gtM2txN2MtOGExZHQtOXIwbTVtMmg0ZTZsM3A3cQ"
RP = RelyingParty(rp_id="app.example.com", origin="https://app.example.com")
USER_ID = "us-2ba0h-lvp2q-8v1860pcj1bh5irf"
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)

_P256 = ec.derive_private_key(int.from_bytes(hashlib.sha256(b"t-p256").digest(), "big"),
                              ec.SECP256R1())
_ED = ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"t-ed").digest())
_K1 = ec.derive_private_key(int.from_bytes(hashlib.sha256(b"t-k1").digest(), "big"),
                            ec.SECP256K1())
_RSA: list[rsa.RSAPrivateKey] = []


def rsa_key() -> rsa.RSAPrivateKey:
    if not _RSA:
        _RSA.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _RSA[0]


def keys() -> dict[str, Any]:
    return {"P-256": _P256, "Ed25519": _ED, "secp256k1": _K1, "RSA": rsa_key()}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def pem_of(private: Any) -> str:
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def sign(private: Any, data: bytes) -> bytes:
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return private.sign(data)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return private.sign(data, ec.ECDSA(hashes.SHA256()))
    return private.sign(data, padding.PKCS1v15(), hashes.SHA256())


def client_data(type_: str, challenge: str = CHALLENGE, **extra: Any) -> bytes:
    fields = {"type": type_, "challenge": challenge, **extra}
    return json.dumps(fields, separators=(",", ":")).encode()


# -- key kinds ---------------------------------------------------------------------------------


def key_attestation(private: Any = _P256, *, cd: bytes | None = None, pem: str | None = None,
                    algorithm: str | None = None, tamper: bool = False,
                    hash_of: bytes | None = None) -> dict[str, Any]:
    cd = cd if cd is not None else client_data("key.create")
    pem = pem if pem is not None else pem_of(private)
    h = hashlib.sha256(hash_of if hash_of is not None else cd).hexdigest()
    fp = json.dumps({"clientDataHash": h, "publicKey": pem}, separators=(",", ":")).encode()
    sig = bytearray(sign(private, fp))
    if tamper:
        sig[-1] ^= 1
    att: dict[str, Any] = {"publicKey": pem, "signature": sig.hex()}
    if algorithm is not None:
        att["algorithm"] = algorithm
    return {"credId": "cred-1", "clientData": b64(cd),
            "attestationData": b64(json.dumps(att).encode())}


def key_assertion(private: Any = _P256, *, cd: bytes | None = None, tamper: bool = False,
                  algorithm: str | None = None) -> dict[str, Any]:
    cd = cd if cd is not None else client_data("key.get")
    sig = bytearray(sign(private, cd))
    if tamper:
        sig[len(sig) // 2] ^= 1
    out = {"credId": "cred-1", "clientData": b64(cd), "signature": b64(bytes(sig))}
    if algorithm is not None:
        out["algorithm"] = algorithm
    return out


# -- Fido2 ------------------------------------------------------------------------------------

CRED_ID = hashlib.sha256(b"cred").digest()[:16]
AAGUID = bytes(range(16))


def cose_of(private: Any, alg: int | None = None) -> CoseKey:
    pub = private.public_key()
    if alg is None:
        alg = {"P-256": -7, "Ed25519": -8, "secp256k1": -47, "RSA": -257}[_kind(private)]
    return CoseKey.for_alg(alg).from_cryptography_key(pub)


def _kind(private: Any) -> str:
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return "Ed25519"
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return "secp256k1" if private.curve.name == "secp256k1" else "P-256"
    return "RSA"


def auth_data(*, rp_id: str = RP.rp_id, flags: int = 0x45, count: int = 0,
              private: Any = _P256, cred_id: bytes = CRED_ID, aaguid: bytes = AAGUID,
              cose: CoseKey | None = None, attested: bool = True) -> bytes:
    acd = b""
    if attested:
        acd = bytes(AttestedCredentialData.create(aaguid, cred_id, cose or cose_of(private)))
    # concatenated by hand: AuthenticatorData.create refuses inconsistent flags, which the
    # negative tests need
    return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + count.to_bytes(4, "big") + acd


def passkey_registration(*, private: Any = _P256, challenge: str = CHALLENGE,
                         origin: str = RP.origin, ad: bytes | None = None, fmt: str = "none",
                         att_stmt: dict[str, Any] | None = None, cred_id: bytes = CRED_ID,
                         cd: bytes | None = None, stmt_builder: Any = None,
                         **cd_extra: Any) -> dict[str, Any]:
    cd = cd if cd is not None else client_data("webauthn.create", challenge, origin=origin,
                                                **cd_extra)
    ad = ad if ad is not None else auth_data(private=private, cred_id=cred_id)
    if stmt_builder is not None:
        att_stmt = stmt_builder(ad, hashlib.sha256(cd).digest())
    obj = cbor.encode({"fmt": fmt, "attStmt": att_stmt or {}, "authData": ad})
    return {"credId": b64(cred_id), "clientData": b64(cd), "attestationData": b64(obj)}


def attestation_object(fmt: str, ad: bytes, stmt: dict[str, Any]) -> bytes:
    return bytes(AttestationObject.create(fmt, AuthenticatorData(ad), stmt))


def passkey_assertion(*, private: Any = _P256, challenge: str = CHALLENGE,
                      origin: str = RP.origin, rp_id: str = RP.rp_id, flags: int = 0x05,
                      count: int = 1, user_handle: str | None = b64(USER_ID.encode()),
                      tamper: bool = False, ad: bytes | None = None,
                      type_: str = "webauthn.get", **cd_extra: Any) -> dict[str, Any]:
    cd = client_data(type_, challenge, origin=origin, **cd_extra)
    if ad is None:
        ad = hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + count.to_bytes(4, "big")
    sig = bytearray(sign(private, ad + hashlib.sha256(cd).digest()))
    if tamper:
        sig[len(sig) // 2] ^= 1
    out = {"credId": b64(CRED_ID), "clientData": b64(cd), "authenticatorData": b64(ad),
           "signature": b64(bytes(sig))}
    if user_handle is not None:
        out["userHandle"] = user_handle
    return out


# -- attestation certificates ---------------------------------------------------------------

ATT_KEY = ec.derive_private_key(int.from_bytes(hashlib.sha256(b"t-att").digest(), "big"),
                                ec.SECP256R1())


def att_cert(*, private: Any = ATT_KEY, ou: str = "Authenticator Attestation", ca: bool = False,
             aaguid: bytes | None = AAGUID, not_before: dt.datetime | None = None,
             not_after: dt.datetime | None = None) -> bytes:
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Vendor"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
        x509.NameAttribute(NameOID.COMMON_NAME, "Test Attestation"),
    ])
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(private.public_key()).serial_number(1234)
        .not_valid_before(not_before or dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(not_after or dt.datetime(2040, 1, 1, tzinfo=dt.UTC))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if aaguid is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4"),
                                       b"\x04\x10" + aaguid), critical=False)
    return builder.sign(private, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def packed_full(cert: bytes | None = None, signer: Any = ATT_KEY, alg: int = -7) -> Any:
    cert = cert if cert is not None else att_cert()

    def build(ad: bytes, cdh: bytes) -> dict[str, Any]:
        return {"alg": alg, "sig": sign(signer, ad + cdh), "x5c": [cert]}
    return build


def packed_self(private: Any = _P256, alg: int = -7) -> Any:
    def build(ad: bytes, cdh: bytes) -> dict[str, Any]:
        return {"alg": alg, "sig": sign(private, ad + cdh)}
    return build


def fido_u2f(private: Any = _P256, signer: Any = ATT_KEY, cert: bytes | None = None) -> Any:
    cert = cert if cert is not None else att_cert()

    def build(ad: bytes, cdh: bytes) -> dict[str, Any]:
        pub = private.public_key().public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint)
        data = b"\x00" + ad[:32] + cdh + CRED_ID + pub
        return {"sig": sign(signer, data), "x5c": [cert]}
    return build
