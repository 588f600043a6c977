"""``RecoveryKey``: the TS ``nextjs-delegated-recovery`` scheme end to end (credentials.md
§5–§6): recovery code, P-256 key wrapped under it, recovery credential, recovery assertion."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ._base import PrivateKey, Rng, b64url_encode, compact_json, sign_bytes, strip_padding
from ._wrapped_key import WrappedKeyAuthenticator
from ._wrapping import DEFAULT_ITERATIONS, unwrap_private_key
from .key import client_data_bytes

RECOVERY_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_GROUPS = (6, 5, 5, 5, 5, 6)


def recovery_code_from_uuids(uuid1: str, uuid2: str) -> str:
    """The worker's derivation: char i = alphabet[h1[i] + (d2[i] >= 8 ? 16 : 0)].

    ``h1`` are the hex digits of the first UUID; ``d2`` the characters of the second read as
    decimal, where hex letters count as >= 8 (that reproduces example E)."""
    h1 = uuid1.replace("-", "").lower()
    d2 = uuid2.replace("-", "").lower()
    if len(h1) != 32 or len(d2) != 32:
        raise ValueError("expected two UUIDs (32 hex digits each)")
    chars = [
        RECOVERY_CODE_ALPHABET[int(h, 16) + (16 if (not d.isdigit() or int(d) >= 8) else 0)]
        for h, d in zip(h1, d2, strict=True)
    ]
    groups, pos = [], 0
    for size in _GROUPS:
        groups.append("".join(chars[pos:pos + size]))
        pos += size
    return "D1-" + "-".join(groups)


def generate_recovery_code(rng: Rng) -> str:
    return recovery_code_from_uuids(rng.bytes(16, "code-1").hex(), rng.bytes(16, "code-2").hex())


def pem_single_line(pem: str) -> str:
    """The worker's PEM: one unwrapped base64 line, no trailing newline."""
    body = "".join(line for line in pem.strip().splitlines() if "-----" not in line)
    return f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----"


class RecoveryKeyAuthenticator(WrappedKeyAuthenticator):
    kind = "RecoveryKey"
    _allow_list = "recoveryKey"

    def __init__(
        self,
        username: str,
        recovery_code: str | None = None,
        seed: int | None = None,
        *,
        origin: str = "http://localhost:3000",
        private_key: PrivateKey | str | None = None,
        iterations: int = DEFAULT_ITERATIONS,
        iv: bytes | None = None,
        deterministic: bool | None = None,
    ) -> None:
        # the worker's clientData order is type, challenge, origin, crossOrigin (= python-sdk)
        # and it base64url-encodes the challenge for key.create
        super().__init__(
            "P-256", "python-sdk", origin, "base64url", seed, "pending",
            private_key=private_key, attestation_algorithm="SHA256", deterministic=deterministic,
        )
        self.recovery_code = recovery_code or generate_recovery_code(self.rng)
        self._wrap_own_key(secret=self.recovery_code, username=username, iterations=iterations,
                           iv=iv)
        self.credential_id = b64url_encode(
            hashlib.sha256(self.encrypted_private_key.encode("utf-8")).digest()
        )

    def _attestation_pem(self) -> str:
        return pem_single_line(self.public_key_pem)

    def recovery_assertion(
        self, new_credentials: Mapping[str, Any], encrypted_recovery_key: str | None = None
    ) -> dict[str, Any]:
        """The ``recovery`` member of ``POST /auth/recover/user`` (§6).

        The key is unwrapped from ``encrypted_recovery_key`` (the challenge's
        ``allowedRecoveryCredentials[].encryptedRecoveryKey``) with the code, as a real client
        does; without it, from this authenticator's own blob."""
        key = unwrap_private_key(
            encrypted_recovery_key or self.encrypted_private_key,
            secret=self.recovery_code,
            username=self.username,
            iterations=self.iterations,
        )
        challenge = b64url_encode(compact_json(new_credentials).encode("utf-8"))
        client_data = client_data_bytes(
            type_="key.get", challenge=challenge, origin=self.origin, layout="python-sdk"
        )
        return {
            "kind": self.kind,
            "credentialAssertion": {
                "credId": self.credential_id,
                "clientData": b64url_encode(client_data),
                "signature": b64url_encode(
                    sign_bytes(key, client_data, deterministic=self.deterministic)
                ),
            },
        }

    def encrypted_key_from_challenge(self, challenge: Mapping[str, Any]) -> str | None:
        """This credential's blob from a recovery challenge's ``allowedRecoveryCredentials``."""
        ours = strip_padding(self.credential_id)
        for item in challenge.get("allowedRecoveryCredentials") or []:
            if strip_padding(str(item.get("id", ""))) == ours:
                return item.get("encryptedRecoveryKey")
        return None

    def sign(self, challenge: Mapping[str, Any]) -> dict[str, Any]:
        raise ValueError(
            "RecoveryKey credentials are never offered in allowCredentials for login or user "
            "actions; use recovery_assertion(new_credentials) for POST /auth/recover/user"
        )
