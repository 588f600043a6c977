"""The strict decoders the verification modules share, and extra messages.

``simulator.encoding.b64url_decode`` is lenient about stray characters (the stdlib decoder
drops them silently); the verifier must not accept garbage as a signature, so it uses the
strict ``simulator.encoding.b64_decode`` (``binascii.a2b_base64(strict_mode=True)`` after
mapping the URL alphabet). Padding and the standard alphabet stay accepted (credentials.md §1).
"""

from __future__ import annotations

from typing import NoReturn

from simulator.encoding import DecodeError as CodecError
from simulator.encoding import b64_decode as b64_bytes
from simulator.encoding import hex_decode as hex_bytes
from simulator.errors import ApiError

__all__ = [
    "INVALID_ASSERTION",
    "INVALID_AUTHENTICATOR_DATA",
    "INVALID_CREDENTIAL_INFO",
    "USER_HANDLE_MISMATCH",
    "CodecError",
    "b64_bytes",
    "fail",
    "hex_bytes",
]

# Messages the shared constants do not cover (errors.md gives no text for these).
INVALID_AUTHENTICATOR_DATA = "invalid authenticatorData"
USER_HANDLE_MISMATCH = "user handle does not match the user"
INVALID_CREDENTIAL_INFO = "invalid credentialInfo"
INVALID_ASSERTION = "invalid credentialAssertion"


def fail(status: int, message: str, rule: str | None = None) -> NoReturn:
    details = {"rule": rule} if rule else None
    raise ApiError(status, message, details=details)
