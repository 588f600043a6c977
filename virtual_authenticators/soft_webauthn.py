"""A ``SoftWebauthnDevice``-compatible facade over :class:`PasskeyAuthenticator`.

soft-webauthn (0.1.4) pins fido2 < 2, so it never becomes a dependency; users who know its
API get the same call shape here: ``create(options, origin)`` / ``get(options, origin)`` where
``options = {"publicKey": {...}}`` carries *bytes* (challenge, user.id) and the result carries
bytes (``rawId``, ``clientDataJSON``, ``attestationObject``, …) with ``id`` as padded
urlsafe-base64 bytes.  Like the original, the device holds one credential at a time.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from fido2.webauthn import AttestedCredentialData

from ._base import PrivateKey, b64url_decode, b64url_encode
from .passkey import PasskeyAuthenticator, PasskeyCredential


class SoftWebauthnDevice:
    """Same attributes and methods as ``soft_webauthn.SoftWebauthnDevice``."""

    def __init__(self, *, seed: int | None = None, **knobs: Any) -> None:
        knobs.setdefault("algorithms", (-7,))
        knobs.setdefault("aaguid", b"\x00" * 16)
        knobs.setdefault("has_user_verification", False)
        self._seed = seed
        self._knobs = knobs
        self._authenticator: PasskeyAuthenticator | None = None
        self._credential: PasskeyCredential | None = None
        self.aaguid: bytes = knobs["aaguid"]

    # soft-webauthn exposes these as plain attributes
    @property
    def credential_id(self) -> bytes | None:
        return self._credential.credential_id if self._credential else None

    @property
    def private_key(self) -> PrivateKey | None:
        return self._credential.private_key if self._credential else None

    @property
    def rp_id(self) -> str | None:
        return self._credential.rp_id if self._credential else None

    @property
    def user_handle(self) -> bytes | None:
        return self._credential.user_handle if self._credential else None

    @property
    def sign_count(self) -> int:
        return self._credential.last_reported if self._credential else 0

    def _fresh(self, origin: str) -> PasskeyAuthenticator:
        self._authenticator = PasskeyAuthenticator(origin=origin, seed=self._seed, **self._knobs)
        return self._authenticator

    def cred_init(self, rp_id: str, user_handle: bytes) -> None:
        """Initialise a credential for ``rp_id`` under ``user_handle`` (no attestation)."""
        self.create({"publicKey": {
            "rp": {"id": rp_id, "name": rp_id},
            "user": {"id": user_handle, "name": "", "displayName": ""},
            "challenge": b"\x00" * 32,
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        }}, f"https://{rp_id}")

    def cred_as_attested(self) -> AttestedCredentialData:
        assert self._credential is not None, "no credential; call create() first"  # noqa: S101
        return AttestedCredentialData.create(
            self.aaguid, self._credential.credential_id, self._credential.cose_key
        )

    def create(self, options: Mapping[str, Any], origin: str) -> dict[str, Any]:
        """Create the device's (single) credential; returns the byte-oriented attestation."""
        public_key = options["publicKey"]
        if {"alg": -7, "type": "public-key"} not in public_key["pubKeyCredParams"]:
            raise ValueError("Requested pubKeyCredParams does not contain supported type")
        if public_key.get("attestation") not in (None, "none"):
            raise ValueError("Only none attestation supported")
        authenticator = self._fresh(origin)
        user = public_key["user"]
        json_options = {
            "rp": dict(public_key["rp"]),
            "user": {**user, "id": b64url_encode(bytes(user["id"]))},
            "challenge": b64url_encode(bytes(public_key["challenge"])),
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
            "authenticatorSelection": {"residentKey": "discouraged",
                                       "userVerification": "discouraged"},
        }
        response = authenticator.create(json_options)
        self._credential = next(iter(authenticator.credentials.values()))
        raw_id = b64url_decode(response["rawId"])
        return {
            "id": base64.urlsafe_b64encode(raw_id),
            "rawId": raw_id,
            "response": {
                "clientDataJSON": b64url_decode(response["response"]["clientDataJSON"]),
                "attestationObject": b64url_decode(response["response"]["attestationObject"]),
            },
            "type": "public-key",
        }

    def get(self, options: Mapping[str, Any], origin: str) -> dict[str, Any]:
        """Assert with the device's credential; returns the byte-oriented assertion."""
        public_key = options["publicKey"]
        if self._authenticator is None or self._credential is None:
            raise ValueError("Requested rpID does not match current credential")
        if self.rp_id != public_key["rpId"]:
            raise ValueError("Requested rpID does not match current credential")
        self._authenticator.origin = origin
        response = self._authenticator.get({
            "rpId": public_key["rpId"],
            "challenge": b64url_encode(bytes(public_key["challenge"])),
            "allowCredentials": [{"type": "public-key",
                                  "id": b64url_encode(self._credential.credential_id)}],
            "userVerification": "discouraged",
        })
        inner = response["response"]
        raw_id = b64url_decode(response["rawId"])
        return {
            "id": base64.urlsafe_b64encode(raw_id),
            "rawId": raw_id,
            "response": {
                "authenticatorData": b64url_decode(inner["authenticatorData"]),
                "clientDataJSON": b64url_decode(inner["clientDataJSON"]),
                "signature": b64url_decode(inner["signature"]),
                "userHandle": self._credential.user_handle,
            },
            "type": "public-key",
        }
