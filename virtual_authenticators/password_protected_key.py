"""``PasswordProtectedKey``: a Key whose private key Dfns stores wrapped under the user's
password (credentials.md §4, using the §5 routine with the password as the secret)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import PrivateKey, strip_padding
from ._wrapped_key import WrappedKeyAuthenticator
from ._wrapping import DEFAULT_ITERATIONS, unwrap_private_key


class PasswordProtectedKeyAuthenticator(WrappedKeyAuthenticator):
    """Registers with ``encryptedPrivateKey``; signs by unwrapping the blob the challenge
    carries in ``allowCredentials.passwordProtectedKey[]`` — as a real client would, the key
    used to sign comes out of the server's blob, not out of local memory."""

    kind = "PasswordProtectedKey"
    _allow_list = "passwordProtectedKey"

    def __init__(
        self,
        password: str,
        username: str,
        algorithm: str = "P-256",
        client_data_layout: str = "docs-sorted",
        origin: str = "http://localhost:3000",
        challenge_encoding: str = "raw",
        seed: int | None = None,
        cred_id: str | None = None,
        *,
        private_key: PrivateKey | str | None = None,
        iterations: int = DEFAULT_ITERATIONS,
        iv: bytes | None = None,
        deterministic: bool | None = None,
    ) -> None:
        super().__init__(
            algorithm, client_data_layout, origin, challenge_encoding, seed, cred_id,
            private_key=private_key, deterministic=deterministic,
        )
        self._password = password
        self._wrap_own_key(secret=password, username=username, iterations=iterations, iv=iv)
        # unwrapped keys by blob: load tests sign in a loop over the same blob
        self._unwrapped: dict[str, PrivateKey] = {}

    def unwrap(self, encrypted_private_key: str, password: str | None = None) -> PrivateKey:
        if password is not None and password != self._password:
            return unwrap_private_key(encrypted_private_key, secret=password,
                                      username=self.username, iterations=self.iterations)
        key = self._unwrapped.get(encrypted_private_key)
        if key is None:
            key = unwrap_private_key(encrypted_private_key, secret=self._password,
                                     username=self.username, iterations=self.iterations)
            if len(self._unwrapped) > 64:
                self._unwrapped.clear()
            self._unwrapped[encrypted_private_key] = key
        return key

    def sign(self, challenge: Mapping[str, Any]) -> dict[str, Any]:
        ours = strip_padding(self.credential_id)
        for item in self._allowed_ids(challenge, self._allow_list):
            if strip_padding(str(item.get("id", ""))) != ours:
                continue
            blob = item.get("encryptedPrivateKey")
            if not blob:
                raise ValueError(
                    "allowCredentials.passwordProtectedKey entry for this credential carries no "
                    "encryptedPrivateKey (a login needs a valid loginCode for Dfns to send it)"
                )
            key = self.unwrap(blob)
            return {
                "kind": self.kind,
                "credentialAssertion": self.assertion(challenge["challenge"], key=key),
            }
        raise self._no_allowed_credential(self._allow_list, [self.credential_id])
