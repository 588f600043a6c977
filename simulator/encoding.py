"""Lenient decoders and strict encoders for the encodings Dfns clients put on the wire.

Decoders accept what real clients send (credentials.md §1): base64url with or without
padding, standard-alphabet characters, surrounding whitespace. Everything the simulator emits
is unpadded base64url. ``b64_decode`` (strict) is the verifier's decoder and the one
implementation; ``b64url_decode`` is its lenient form for everything else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

# '-' -> '+', '_' -> '/' (the decoder works in the standard alphabet); whitespace is deleted.
_URL_TO_STD = bytes.maketrans(b"-_", b"+/")
_WHITESPACE = b" \t\r\n"


class DecodeError(ValueError):
    """Raised when a value cannot be decoded; callers turn it into a 400."""


def _unencodable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


try:
    # typeshed's json.encoder stub omits the C accelerator (CPython defines it there).
    from json.encoder import (  # type: ignore[attr-defined]
        c_make_encoder,
        encode_basestring_ascii,
    )
except ImportError:  # pragma: no cover - CPython always has the C accelerator
    c_make_encoder = None

if c_make_encoder is not None:
    # One C encoder built once and reused: ``json.dumps`` / ``JSONEncoder.encode`` build a new
    # one per call, which costs more than encoding the small documents of the hot path.
    # No circular-reference markers (the simulator never encodes cyclic data).
    _COMPACT = c_make_encoder(None, _unencodable, encode_basestring_ascii, None, ":", ",",
                              False, False, True)

    def compact_json(value: Any) -> str:
        """``json.dumps(value, separators=(",", ":"))``, faster."""
        return "".join(_COMPACT(value, 0))
else:  # pragma: no cover
    _ENCODER = json.JSONEncoder(separators=(",", ":"))

    def compact_json(value: Any) -> str:
        return _ENCODER.encode(value)


# typeshed's JSONDecoder stub omits scan_once (set in JSONDecoder.__init__).
_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def loads_json(data: str | bytes) -> Any:
    """``json.loads(data)``, faster for the usual document (UTF-8, nothing around the value).

    ``json.loads`` spends as long on its wrapper (encoding detection, two whitespace regex
    matches) as the C scanner spends on a small body. Anything unusual (a BOM, UTF-16,
    surrounding whitespace, an error) is handed to ``json.loads`` itself, so results and
    errors are exactly its own.
    """
    try:
        text = data if type(data) is str else data.decode("utf-8")  # type: ignore[union-attr]
        value, end = _SCAN(text, 0)
        if end == len(text):
            return value
    except (StopIteration, ValueError, RecursionError, AttributeError):
        pass
    return json.loads(data)


def nested_deeper_than(raw: bytes, value: Any, limit: int) -> bool:
    """Whether ``value`` (the JSON decoded from ``raw``) nests objects and arrays more than
    ``limit`` levels deep.

    The code that walks request bodies (payload comparison, the stores' codecs, the journal)
    recurses, so a body nested a few hundred levels would exhaust the stack deep inside a
    handler. A body with no more than ``limit`` opening brackets cannot be that deep, which
    settles nearly every request with two C-level counts; the rest are walked with an
    explicit stack, in time linear in the body.
    """
    if type(value) is not dict and type(value) is not list:
        return False
    if raw.count(b"{") + raw.count(b"[") <= limit:
        return False
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        for child in item.values() if type(item) is dict else item:
            if type(child) is dict or type(child) is list:
                pending.append((child, depth + 1))
    return False


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64_decode(value: Any, strict: bool = True) -> bytes:
    """base64url or standard alphabet, padding optional -> bytes; DecodeError otherwise.

    ``strict`` (the verifier's default: it must not accept garbage as a signature) rejects
    any character outside the alphabet; otherwise the stdlib drops such characters silently.
    Spaces, tabs and line breaks are always deleted (clients wrap long values). Working on
    bytes keeps this a single C-level pass: the verification hot path calls it per field.
    """
    try:
        data = value.encode("ascii").translate(_URL_TO_STD, _WHITESPACE).rstrip(b"=")
    except (AttributeError, UnicodeEncodeError):
        raise DecodeError("not an ASCII string") from None
    if type(value) is not str and not isinstance(value, str):
        raise DecodeError("not a string")
    pad = -len(data) % 4
    if pad:
        if pad == 3:
            raise DecodeError("invalid base64url length")
        data += b"=" * pad
    try:
        return binascii.a2b_base64(data, strict_mode=strict)
    except binascii.Error as exc:
        raise DecodeError(str(exc)) from None


def b64url_decode(value: str) -> bytes:
    """The lenient decoder: any Unicode whitespace removed, stray characters dropped."""
    if not isinstance(value, str):
        raise DecodeError("expected a base64url string")
    return b64_decode("".join(value.split()), strict=False)


def hex_decode(value: Any, *, strip: bool = True) -> bytes:
    """Hex with an optional ``0x`` prefix and surrounding whitespace -> bytes.

    ``strip=False`` (the wallet endpoints, as strict as the real ones): no whitespace before
    the ``0x``.
    """
    if not isinstance(value, str):
        raise DecodeError("expected a hex string")
    text = value.strip() if strip else value
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise DecodeError("invalid hex") from exc


def same_id(a: str, b: str) -> bool:
    """Credential ids are compared as strings, ignoring trailing ``=`` padding."""
    return a.rstrip("=") == b.rstrip("=")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
