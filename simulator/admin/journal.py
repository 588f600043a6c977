"""The request journal: the last N Dfns requests and responses, secrets masked.

Masking happens when an entry is recorded, so no secret is ever held by the journal, let
alone served by ``/_sim/journal``.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from typing import Any

MASK = "***"
SECRET_HEADERS = frozenset({"authorization", "x-dfns-useraction", "x-dfns-appsecret", "cookie",
                            "set-cookie", "x-dfns-sim-admin-token"})
# Field names whose values are secrets wherever they appear in a JSON body (any depth).
SECRET_FIELDS = frozenset(name.lower() for name in (
    "token", "accessToken", "temporaryAuthenticationToken", "challengeIdentifier",
    "encryptedPrivateKey", "password", "newPassword", "recoveryCode", "code", "registrationCode",
    "loginCode", "userAction", "privateKey", "privateKeyPem", "secret", "appSecret",
))
# Bearer-like strings left in free text (a JWT, or "Bearer x"), e.g. echoed in a message.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)bearer\s+\S+")
MAX_BODY_CHARS = 16_384


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_FIELDS or lowered.endswith("token") and lowered != "paginationtoken"


def mask_text(text: str) -> str:
    return _BEARER.sub("Bearer " + MASK, _JWT.sub(MASK, text))


def mask_value(value: Any) -> Any:
    """A copy of a decoded JSON value with every secret field replaced by ``***``."""
    if isinstance(value, dict):
        return {k: (MASK if is_secret_field(str(k)) and v not in (None, "") else mask_value(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(item) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def mask_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        out[name] = MASK if name in SECRET_HEADERS else mask_text(value)
    return out


def mask_body(raw: bytes) -> Any:
    """Decoded and masked JSON; non-JSON bodies are kept as (masked, truncated) text."""
    if not raw:
        return None
    try:
        return mask_value(json.loads(raw))
    except (ValueError, UnicodeDecodeError):
        text = raw[:MAX_BODY_CHARS].decode("utf-8", errors="replace")
        return mask_text(text)


def mask_query(query: bytes) -> str:
    from urllib.parse import parse_qsl, urlencode

    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    return urlencode([(k, MASK if is_secret_field(k) else mask_text(v)) for k, v in pairs])


class Journal:
    """A bounded ring buffer of masked exchanges. ``journal()`` reads, ``.clear()`` empties."""

    def __init__(self, size: int = 500) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=max(int(size), 1))
        self._counter = 0

    @property
    def size(self) -> int:
        return self._entries.maxlen or 0

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._counter += 1
            entry["seq"] = self._counter
            self._entries.append(entry)

    def entries(self, limit: int | None = None, *, method: str | None = None,
                path: str | None = None, status: int | None = None) -> list[dict[str, Any]]:
        """Oldest first; ``limit`` keeps the newest N after filtering."""
        with self._lock:
            rows = list(self._entries)
        if method:
            rows = [r for r in rows if r["method"] == method.upper()]
        if path:
            import fnmatch

            rows = [r for r in rows if fnmatch.fnmatchcase(r["path"], path)]
        if status is not None:
            rows = [r for r in rows if r["status"] == status]
        if limit is not None:
            rows = rows[-limit:] if limit > 0 else []
        return rows

    def __call__(self, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        return self.entries(limit, **filters)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
