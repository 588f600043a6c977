"""Lenient decoders and strict encoders for the encodings Dfns clients put on the wire.

Decoders accept what real clients send (credentials.md §1): base64url with or without
padding, standard-alphabet characters, surrounding whitespace. Everything the simulator emits
is unpadded base64url.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

_STD_TO_URL = str.maketrans("+/", "-_")


class DecodeError(ValueError):
    """Raised when a value cannot be decoded; callers turn it into a 400."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    if not isinstance(value, str):
        raise DecodeError("expected a base64url string")
    text = "".join(value.split()).translate(_STD_TO_URL).rstrip("=")
    if len(text) % 4 == 1:
        raise DecodeError("invalid base64url length")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DecodeError("invalid base64url") from exc


def hex_decode(value: str) -> bytes:
    if not isinstance(value, str):
        raise DecodeError("expected a hex string")
    text = value.strip()
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise DecodeError("invalid hex") from exc


def same_id(a: str, b: str) -> bool:
    """Credential ids are compared as strings, ignoring trailing ``=`` padding."""
    return a.rstrip("=") == b.rstrip("=")


def canonical_id(value: str) -> str:
    return value.rstrip("=")


def compact_json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
