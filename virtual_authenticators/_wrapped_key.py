"""What PasswordProtectedKey and RecoveryKey share: a Key whose private key also travels
wrapped under a secret (password or recovery code) as ``encryptedPrivateKey``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._wrapping import wrap_private_key
from .key import KeyAuthenticator


class WrappedKeyAuthenticator(KeyAuthenticator):
    username: str
    iterations: int
    encrypted_private_key: str

    def _wrap_own_key(self, *, secret: str, username: str, iterations: int,
                      iv: bytes | None) -> None:
        """Wrap this authenticator's key; the IV comes from the seeded RNG unless given."""
        self.username = username
        self.iterations = iterations
        self.encrypted_private_key = wrap_private_key(
            self._key,
            secret=secret,
            username=username,
            iv=iv if iv is not None else self.rng.bytes(16, "iv"),
            iterations=iterations,
        )

    def __repr__(self) -> str:  # never show the password / recovery code
        return (f"{type(self).__name__}(username={self.username!r}, "
                f"credential_id={self.credential_id!r})")

    def register(self, challenge: Mapping[str, Any]) -> dict[str, Any]:
        attestation = super().register(challenge)
        attestation["encryptedPrivateKey"] = self.encrypted_private_key
        return attestation
