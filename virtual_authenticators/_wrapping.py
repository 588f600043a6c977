"""Private-key wrapping of credentials.md §5 (the TS recovery worker's scheme).

PBKDF2-HMAC-SHA-256(secret, SHA-256(lower(trim(username))), 100 000) → AES-256-GCM key;
plaintext = PKCS#8 DER; IV = 16 bytes; output = std-base64(JSON {"key", "iv"}).
PasswordProtectedKey reuses it with the password as the secret (§4).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._base import PrivateKey, b64_encode, compact_json

DEFAULT_ITERATIONS = 100_000
IV_LENGTH = 16


class WrongSecretError(ValueError):
    """The password / recovery code (or the username that salts it) does not open the blob.

    The message never contains the secret."""


def username_salt(username: str) -> bytes:
    return hashlib.sha256(username.strip().lower().encode("utf-8")).digest()


@functools.lru_cache(maxsize=256)
def _pbkdf2(secret: str, salt: bytes, iterations: int) -> bytes:
    # Cached because load profiles sign in a loop and 100 000 rounds cost ~50 ms each time.
    return hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations, dklen=32)


def derive_wrapping_key(secret: str, username: str, iterations: int = DEFAULT_ITERATIONS) -> bytes:
    return _pbkdf2(secret, username_salt(username), iterations)


def wrap_private_key(
    key: PrivateKey,
    *,
    secret: str,
    username: str,
    iv: bytes,
    iterations: int = DEFAULT_ITERATIONS,
) -> str:
    if len(iv) != IV_LENGTH:
        raise ValueError(f"IV must be {IV_LENGTH} bytes")
    plaintext = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    wrapped = AESGCM(derive_wrapping_key(secret, username, iterations)).encrypt(iv, plaintext, None)
    inner = compact_json({"key": b64_encode(wrapped), "iv": b64_encode(iv)})
    return b64_encode(inner.encode("utf-8"))


def unwrap_private_key(
    encrypted_private_key: str,
    *,
    secret: str,
    username: str,
    iterations: int = DEFAULT_ITERATIONS,
) -> PrivateKey:
    try:
        inner = json.loads(base64.b64decode(encrypted_private_key, validate=False))
        wrapped = base64.b64decode(inner["key"])
        iv = base64.b64decode(inner["iv"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"encryptedPrivateKey is not a wrapped-key blob: {exc}") from None
    try:
        plaintext = AESGCM(derive_wrapping_key(secret, username, iterations)).decrypt(
            iv, wrapped, None
        )
    except InvalidTag:
        raise WrongSecretError(
            "could not unwrap encryptedPrivateKey: wrong secret (password / recovery code) "
            f"or wrong username for this blob (salt is derived from the username {username!r})"
        ) from None
    key = serialization.load_der_private_key(plaintext, password=None)
    if not isinstance(key, (ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey,
                            rsa.RSAPrivateKey)):
        raise ValueError(f"unsupported wrapped key type {type(key).__name__}")
    return key
