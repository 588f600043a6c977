"""The request journal: the last N Dfns requests and responses, secrets masked.

Entries are masked whenever they are read (``/_sim/journal``, ``sim.journal()``), so no
reader ever sees a secret, while the request path only pays for an append.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
import time
from collections import deque
from typing import Any, NamedTuple, TypeVar

from simulator.clock import iso8601

MASK = "***"
SECRET_HEADERS = frozenset({"authorization", "x-dfns-useraction", "x-dfns-appsecret", "cookie",
                            "set-cookie", "x-dfns-sim-admin-token"})
# Field names whose values are secrets wherever they appear in a JSON body (any depth).
SECRET_FIELDS = frozenset(name.lower() for name in (
    "token", "accessToken", "temporaryAuthenticationToken", "challengeIdentifier",
    "encryptedPrivateKey", "password", "newPassword", "recoveryCode", "code", "registrationCode",
    "loginCode", "verificationCode", "otp", "userAction", "privateKey", "privateKeyPem",
    "secret", "appSecret", "clientSecret",
))
# A quoted secret-looking member in text that is not valid JSON (truncated or malformed bodies):
# "name": "value (closing quote optional).
_TEXT_MEMBER = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"(\s*:\s*)"((?:[^"\\]|\\.)*)("?)')
_FORM_PAIR = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_]*)=([^&\s]*)")
# Bearer-like strings left in free text (a JWT, or "Bearer x"), e.g. echoed in a message.
# A JWT starts where no base64url character precedes it: without that, a run of "eyJeyJ…"
# with no dot was tried from every "eyJ" to its end, quadratic in the run (300 KB: 36 s).
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)bearer\s+\S+")
MAX_BODY_CHARS = 16_384


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    if lowered in SECRET_FIELDS or lowered.endswith(("secret", "password", "code")):
        return True
    return lowered.endswith("token") and lowered != "paginationtoken"


def _mask_raw_text(text: str) -> str:
    """Mask secret members of a body that is not valid JSON (and form-style pairs)."""
    text = _TEXT_MEMBER.sub(
        lambda m: f'"{m[1]}"{m[2]}"{MASK}{m[4]}' if is_secret_field(m[1]) else m[0], text)
    text = _FORM_PAIR.sub(lambda m: f"{m[1]}={MASK}" if is_secret_field(m[1]) else m[0], text)
    return mask_text(text)


def mask_text(text: str) -> str:
    # Fast path: most strings hold neither a JWT nor a bearer credential (the journal sits on
    # every request, so it must stay cheap).
    if "eyJ" not in text and "earer" not in text and "EARER" not in text:
        return text
    return _BEARER.sub("Bearer " + MASK, _JWT.sub(MASK, text))


def _is_error_object(value: dict[str, Any]) -> bool:
    # The error envelope's inner object ({id, status, message, code?}): its ``code`` names the
    # error (``invalid_json``), it is not a credential code, so the journal shows it.
    return (type(value.get("status")) is int and isinstance(value.get("message"), str)
            and isinstance(value.get("code"), str))


def mask_value(value: Any) -> Any:
    """A copy of a decoded JSON value with every secret field replaced by ``***``."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        shown = "code" if _is_error_object(value) else None
        return {k: (MASK if k != shown and v not in (None, "") and is_secret_field(str(k))
                    else mask_value(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(item) for item in value]
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
    except (ValueError, UnicodeDecodeError, RecursionError):  # nesting too deep to walk
        text = raw[:MAX_BODY_CHARS].decode("utf-8", errors="replace")
        return _mask_raw_text(text)


def mask_query(query: bytes) -> str:
    from urllib.parse import parse_qsl, urlencode

    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    return urlencode([(k, MASK if is_secret_field(k) else mask_text(v)) for k, v in pairs])


class Exchange(NamedTuple):
    """One request/response as captured; rendered (and masked) only when read.

    A named tuple rather than a frozen dataclass: one is built per request, and a frozen
    dataclass pays an ``object.__setattr__`` per field.
    """

    seq: int
    # Wall-clock epoch at which the request arrived: orders the journals of several workers by
    # arrival, even when the simulated clock is frozen (``at`` then ties). Not shown.
    wall: float
    at: float  # epoch seconds on the simulator's clock; formatted when read
    method: str
    path: str
    query: bytes
    request_headers: list[tuple[bytes, bytes]]
    request_body: bytes
    status: int | None  # None: the connection was dropped
    response_headers: list[tuple[bytes, bytes]]
    response_body: bytes
    duration_ms: float
    fault: dict[str, str] | None

    def view(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "time": iso8601(self.at), "method": self.method, "path": self.path,
            "query": mask_query(self.query),
            "requestHeaders": mask_headers(self.request_headers),
            "requestBody": mask_body(self.request_body),
            "status": self.status,
            "responseHeaders": mask_headers(self.response_headers),
            "responseBody": mask_body(self.response_body),
            "durationMs": self.duration_ms,
            "fault": self.fault,
        }


_Row = TypeVar("_Row")


def newest(rows: list[_Row], limit: int | None) -> list[_Row]:
    """The last ``limit`` of ``rows`` (oldest first); all of them when ``limit`` is None."""
    if limit is None:
        return rows
    return rows[-limit:] if limit > 0 else []


class Journal:
    """A bounded ring buffer of exchanges. ``journal()`` reads, ``.clear()`` empties.

    Recording only appends what was captured (the journal sits on every request, so it must
    cost next to nothing); masking happens on every read, so neither ``/_sim/journal`` nor
    ``sim.journal()`` ever returns a secret. ``size=0`` turns the journal off.
    """

    def __init__(self, size: int = 500) -> None:
        self._lock = threading.Lock()
        self._size = max(int(size), 0)
        self._entries: deque[Exchange] = deque(maxlen=self._size or 1)
        self._counter = 0

    @property
    def size(self) -> int:
        return self._size

    @property
    def enabled(self) -> bool:
        return self._size > 0

    def record(self, *fields: Any, arrived: float | None = None) -> None:
        """Append one exchange: the :class:`Exchange` fields after ``seq`` and ``wall``, in
        order; ``arrived`` is the wall-clock time the request came in (default: now)."""
        if not self._size:
            return
        wall = time.time() if arrived is None else arrived
        with self._lock:
            self._counter += 1
            self._entries.append(Exchange(self._counter, wall, *fields))

    def entries(self, limit: int | None = None, *, method: str | None = None,
                path: str | None = None, status: int | None = None) -> list[dict[str, Any]]:
        """Oldest first; ``limit`` keeps the newest N after filtering."""
        return [r.view() for r in self._select(limit, method, path, status)]

    def stamped(self, limit: int | None = None, *, method: str | None = None,
                path: str | None = None, status: int | None = None
                ) -> list[tuple[float, dict[str, Any]]]:
        """:meth:`entries`, each with the wall-clock time its request arrived (for merging the
        journals of several workers, simulator/admin/journal_peers.py)."""
        return [(r.wall, r.view()) for r in self._select(limit, method, path, status)]

    def _select(self, limit: int | None, method: str | None, path: str | None,
                status: int | None) -> list[Exchange]:
        with self._lock:
            rows = list(self._entries)
        if method:
            rows = [r for r in rows if r.method == method.upper()]
        if path:
            rows = [r for r in rows if fnmatch.fnmatchcase(r.path, path)]
        if status is not None:
            rows = [r for r in rows if r.status == status]
        return newest(rows, limit)

    def __call__(self, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        return self.entries(limit, **filters)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
