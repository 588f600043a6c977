"""Small, fast, strict decoders shared by the verification modules, and extra messages.

``simulator.encoding.b64url_decode`` is lenient about stray characters (the stdlib decoder
drops them silently); the verifier must not accept garbage as a signature, so it uses
``binascii.a2b_base64(strict_mode=True)`` after mapping the URL alphabet. Padding and the
standard alphabet stay accepted (credentials.md §1).
"""

from __future__ import annotations

import binascii
from typing import Any, NoReturn

from simulator.errors import ApiError

# Messages the shared constants do not cover (errors.md gives no text for these).
INVALID_AUTHENTICATOR_DATA = "invalid authenticatorData"
USER_HANDLE_MISMATCH = "user handle does not match the user"
INVALID_CREDENTIAL_INFO = "invalid credentialInfo"
INVALID_ASSERTION = "invalid credentialAssertion"

# '-' -> '+', '_' -> '/'; whitespace is deleted (clients wrap long values). Working on bytes
# keeps this a single C-level pass: str.translate with a dict costs microseconds per value.
_TO_STD = bytes.maketrans(b"-_", b"+/")
_WHITESPACE = b" \t\r\n"


class CodecError(ValueError):
    pass


def b64_bytes(value: Any) -> bytes:
    """base64url (or standard) with or without padding -> bytes; CodecError otherwise."""
    try:
        data = value.encode("ascii").translate(_TO_STD, _WHITESPACE).rstrip(b"=")
    except (AttributeError, UnicodeEncodeError):
        raise CodecError("not an ASCII string") from None
    if type(value) is not str and not isinstance(value, str):
        raise CodecError("not a string")
    pad = -len(data) % 4
    if pad:
        if pad == 3:
            raise CodecError("bad length")
        data += b"=" * pad
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except binascii.Error as exc:
        raise CodecError(str(exc)) from None


def hex_bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise CodecError("not a string")
    text = value.strip()
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise CodecError(str(exc)) from None


def fail(status: int, message: str, rule: str | None = None) -> NoReturn:
    details = {"rule": rule} if rule else None
    raise ApiError(status, message, details=details)
