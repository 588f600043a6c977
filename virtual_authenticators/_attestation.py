"""A generated attestation PKI for ``packed`` (full) and ``fido-u2f`` statements.

Root CA → attestation certificate carrying the fields FIDO requires of a packed attestation
certificate (WebAuthn §8.2.1): version 3; subject C, O, OU = "Authenticator Attestation", CN;
basic constraints CA:false; the AAGUID extension 1.3.6.1.4.1.45724.1.1.4 (non-critical).
Also the deliberately wrong variants the X5C_* faults need (expired, other key).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ._base import Rng, generate_private_key

OID_FIDO_AAGUID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")
_VALID = (_dt.datetime(2020, 1, 1, tzinfo=_dt.UTC),
          _dt.datetime(2099, 12, 31, tzinfo=_dt.UTC))
_EXPIRED = (_dt.datetime(2000, 1, 1, tzinfo=_dt.UTC),
            _dt.datetime(2001, 1, 1, tzinfo=_dt.UTC))


@dataclass(frozen=True, kw_only=True)
class AttestationPki:
    root_key: ec.EllipticCurvePrivateKey
    root_cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    expired_cert: x509.Certificate  # same key, validity in the past
    wrong_key_cert: x509.Certificate  # valid chain, but for a key that did not sign

    @property
    def root_pem(self) -> bytes:
        return self.root_cert.public_bytes(serialization.Encoding.PEM)

    @property
    def root_der(self) -> bytes:
        return self.root_cert.public_bytes(serialization.Encoding.DER)


def _serial(rng: Rng, label: str) -> int:
    return int.from_bytes(rng.bytes(16, label), "big") >> 1 or 1


def _leaf(
    *,
    pki_root: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
    public_key: ec.EllipticCurvePublicKey,
    aaguid: bytes,
    validity: tuple[_dt.datetime, _dt.datetime],
    serial: int,
    deterministic: bool,
) -> x509.Certificate:
    root_key, root_cert = pki_root
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dfns-sim"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Authenticator Attestation"),
        x509.NameAttribute(NameOID.COMMON_NAME, "dfns-sim virtual authenticator"),
    ])
    # extension value is the DER OCTET STRING wrapping the 16 AAGUID bytes
    aaguid_ext = x509.UnrecognizedExtension(OID_FIDO_AAGUID, b"\x04\x10" + aaguid)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root_cert.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(aaguid_ext, critical=False)
        .sign(root_key, hashes.SHA256(), ecdsa_deterministic=deterministic)
    )


def build_attestation_pki(aaguid: bytes, rng: Rng) -> AttestationPki:
    root_key = generate_private_key("P-256", rng, "att-root-key")
    key = generate_private_key("P-256", rng, "att-key")
    other = generate_private_key("P-256", rng, "att-other-key")
    assert isinstance(root_key, ec.EllipticCurvePrivateKey)  # noqa: S101
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # noqa: S101
    assert isinstance(other, ec.EllipticCurvePrivateKey)  # noqa: S101
    root_name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dfns-sim"),
        x509.NameAttribute(NameOID.COMMON_NAME, "dfns-sim virtual authenticator root CA"),
    ])
    root_cert = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(_serial(rng, "att-root-serial"))
        .not_valid_before(_EXPIRED[0])  # covers the expired leaf too, so only the leaf is at fault
        .not_valid_after(_VALID[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        # RFC 6979 nonces when seeded: a seeded authenticator replays its certificates too
        .sign(root_key, hashes.SHA256(), ecdsa_deterministic=rng.seeded)
    )
    root = (root_key, root_cert)
    return AttestationPki(
        root_key=root_key,
        root_cert=root_cert,
        key=key,
        cert=_leaf(pki_root=root, public_key=key.public_key(), aaguid=aaguid, validity=_VALID,
                   serial=_serial(rng, "att-serial"), deterministic=rng.seeded),
        expired_cert=_leaf(pki_root=root, public_key=key.public_key(), aaguid=aaguid,
                           validity=_EXPIRED, serial=_serial(rng, "att-serial-expired"),
                           deterministic=rng.seeded),
        wrong_key_cert=_leaf(pki_root=root, public_key=other.public_key(), aaguid=aaguid,
                             validity=_VALID, serial=_serial(rng, "att-serial-wrong"),
                             deterministic=rng.seeded),
    )
