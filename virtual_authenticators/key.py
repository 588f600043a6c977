"""``Key`` credentials: a raw key pair held by the client (credentials.md §3).

Registration = clientData ``key.create`` + Credential Info Fingerprint attestation (§3.2);
assertion = clientData ``key.get`` signed, base64url (§3.3).  The clientData serialisations
that real clients send are selectable so tests exercise the verifier's leniency.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Literal

from ._base import (
    Authenticator,
    PrivateKey,
    Rng,
    b64url_encode,
    compact_json,
    generate_private_key,
    key_algorithm_name,
    load_private_key,
    private_key_pem,
    public_key_pem,
    sign_bytes,
    strip_padding,
)

ClientDataLayout = Literal["docs-sorted", "python-sdk", "ts-two-field"]
ChallengeEncoding = Literal["raw", "base64url"]
CLIENT_DATA_LAYOUTS: tuple[str, ...] = ("docs-sorted", "python-sdk", "ts-two-field")


def client_data_bytes(
    *,
    type_: str,
    challenge: str,
    origin: str,
    layout: str,
    challenge_encoding: str = "raw",
) -> bytes:
    """The exact clientData bytes one real client would produce (§3.1 table)."""
    if challenge_encoding == "base64url":
        # the recovery worker's form; verifiers accept it per the §7 rule
        challenge = b64url_encode(challenge.encode("utf-8"))
    elif challenge_encoding != "raw":
        raise ValueError(f"unknown challenge_encoding {challenge_encoding!r}")
    if layout == "docs-sorted":
        obj: dict[str, Any] = {
            "challenge": challenge, "crossOrigin": False, "origin": origin, "type": type_
        }
    elif layout == "python-sdk":
        obj = {"type": type_, "challenge": challenge, "origin": origin, "crossOrigin": False}
    elif layout == "ts-two-field":
        obj = {"type": type_, "challenge": challenge}
    else:
        raise ValueError(f"unknown client_data_layout {layout!r}; expected {CLIENT_DATA_LAYOUTS}")
    return compact_json(obj).encode("utf-8")


def credential_info_fingerprint(client_data: bytes, pem: str) -> bytes:
    """§3.2 step 2: exactly these two keys, this order, compact; PEM newlines JSON-escaped."""
    digest = hashlib.sha256(client_data).hexdigest()
    return compact_json({"clientDataHash": digest, "publicKey": pem}).encode("utf-8")


class KeyAuthenticator(Authenticator):
    """A client holding a raw key pair (P-256, secp256k1, Ed25519 or RSA-2048)."""

    kind = "Key"
    _allow_list = "key"

    def __init__(
        self,
        algorithm: str = "P-256",
        client_data_layout: str = "docs-sorted",
        origin: str = "http://localhost:3000",
        challenge_encoding: str = "raw",
        seed: int | None = None,
        cred_id: str | None = None,
        *,
        private_key: PrivateKey | str | None = None,
        attestation_algorithm: str | None = None,
        deterministic: bool | None = None,
    ) -> None:
        if client_data_layout not in CLIENT_DATA_LAYOUTS:
            raise ValueError(f"unknown client_data_layout {client_data_layout!r}")
        self.rng = Rng(seed)
        self._key: PrivateKey = (
            load_private_key(private_key)
            if private_key is not None
            else generate_private_key(algorithm, self.rng, "key")
        )
        self.algorithm = key_algorithm_name(self._key)
        self.client_data_layout = client_data_layout
        self.origin = origin
        self.challenge_encoding = challenge_encoding
        # optional "algorithm" member of attestationData (§3.2): RSA-SHA256 / SHA256 / SHA512;
        # "SHA512" also signs the attestation with SHA-512 (assertions stay SHA-256)
        self.attestation_algorithm = attestation_algorithm
        # RFC 6979 nonces by default when seeded, so a seeded run replays byte for byte
        self.deterministic = self.rng.seeded if deterministic is None else deterministic
        self.credential_id = cred_id or b64url_encode(self.rng.bytes(32, "cred-id"))

    # ------------------------------------------------------------------ key material

    @property
    def public_key_pem(self) -> str:
        return public_key_pem(self._key)

    @property
    def private_key_pem(self) -> str:
        return private_key_pem(self._key)

    @property
    def private_key(self) -> PrivateKey:
        return self._key

    def _attestation_pem(self) -> str:
        return self.public_key_pem

    # ------------------------------------------------------------------ building blocks

    def client_data(self, type_: str, challenge: str) -> bytes:
        return client_data_bytes(
            type_=type_,
            challenge=challenge,
            origin=self.origin,
            layout=self.client_data_layout,
            challenge_encoding=self.challenge_encoding,
        )

    def credential_info(self, challenge: str) -> dict[str, str]:
        """``credentialInfo`` for a ``key.create`` over the API challenge string (§3.2)."""
        client_data = self.client_data("key.create", challenge)
        pem = self._attestation_pem()
        signature = sign_bytes(
            self._key, credential_info_fingerprint(client_data, pem),
            deterministic=self.deterministic, sha512=self.attestation_algorithm == "SHA512",
        )
        attestation: dict[str, str] = {"publicKey": pem, "signature": signature.hex()}
        if self.attestation_algorithm:
            attestation["algorithm"] = self.attestation_algorithm
        return {
            "credId": self.credential_id,
            "clientData": b64url_encode(client_data),
            "attestationData": b64url_encode(compact_json(attestation).encode("utf-8")),
        }

    def assertion(self, challenge: str, *, key: PrivateKey | None = None,
                  cred_id: str | None = None) -> dict[str, str]:
        """``credentialAssertion`` for a ``key.get`` over the API challenge string (§3.3)."""
        client_data = self.client_data("key.get", challenge)
        signature = sign_bytes(key or self._key, client_data, deterministic=self.deterministic)
        return {
            "credId": cred_id or self.credential_id,
            "clientData": b64url_encode(client_data),
            "signature": b64url_encode(signature),
        }

    # ------------------------------------------------------------------ Signer protocol

    def register(self, challenge: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "credentialKind": self.kind,
            "credentialInfo": self.credential_info(challenge["challenge"]),
        }

    def sign(self, challenge: Mapping[str, Any]) -> dict[str, Any]:
        allowed = self._allowed_ids(challenge, self._allow_list)
        ours = strip_padding(self.credential_id)
        if not any(strip_padding(str(item.get("id", ""))) == ours for item in allowed):
            raise self._no_allowed_credential(self._allow_list, [self.credential_id])
        return {"kind": self.kind, "credentialAssertion": self.assertion(challenge["challenge"])}
