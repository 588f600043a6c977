"""Compact JWS tokens (HS256) signed with a per-simulator secret.

Dfns tokens are JWTs that clients decode (the org id under ``https://custom/app_metadata``,
challenges.md §9). Signing proves a token came from this simulator; revocation (logout,
deactivation, recovery) is still checked against the store on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import OrderedDict
from typing import Any

from simulator.encoding import DecodeError, b64url_decode, b64url_encode, compact_json

APP_METADATA = "https://custom/app_metadata"
USERNAME_CLAIM = "https://custom/username"
_HEADER = b64url_encode(b'{"typ":"JWT","alg":"HS256"}')


_CACHE_SIZE = 4096


_SCALARS = (str, int, bool, type(None))  # floats excluded: JSON may not give them back equal


def _plain(claims: dict[str, Any]) -> bool:
    """True when ``json.loads(json.dumps(claims))`` would equal ``_fresh(claims)``."""
    for key, value in claims.items():
        if type(key) is not str:
            return False
        if type(value) is dict:
            if not all(type(k) is str and type(v) in _SCALARS for k, v in value.items()):
                return False
        elif type(value) not in _SCALARS:
            return False
    return True


def _fresh(claims: dict[str, Any]) -> dict[str, Any]:
    """A copy callers may keep or change without touching the cache (claims nest one level)."""
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in claims.items()}


class TokenSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    # Bearer tokens come back on every request: remember the claims of tokens whose signature
    # already verified, and of tokens this signer just issued (a challenge identifier or a
    # user-action token is presented once, right after issue). Profiling showed JWT decodes
    # (HMAC, base64, JSON) on every hot-path request. Expiry is still checked on every call;
    # a new secret (restore from a store) empties the cache.
    @property
    def _secret(self) -> bytes:
        return self._key

    @_secret.setter
    def _secret(self, value: bytes) -> None:
        self._key = value
        # HMAC-SHA256 with the key's inner and outer pads hashed once: each token then costs
        # two hash-state copies instead of a one-shot HMAC that sets the key up every time.
        key = value if len(value) <= 64 else hashlib.sha256(value).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
        # OrderedDict, not dict: dropping the oldest entry of a plain dict that keeps losing its
        # head makes ``next(iter(d))`` walk every deleted slot (py-spy showed it per request).
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def _mac(self, signing_input: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(signing_input)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def _remember(self, token: str, claims: dict[str, Any]) -> None:
        verified = self._verified
        if len(verified) >= _CACHE_SIZE:
            try:  # drop the oldest entry
                verified.popitem(last=False)
            except KeyError:  # another thread emptied it first
                pass
        verified[token] = claims

    def issue(self, claims: dict[str, Any], *, plain: bool = False) -> str:
        """The signed token; the signer keeps ``claims`` (callers hand over a dict they built
        for this call and do not change it afterwards; decode() hands out copies).

        ``plain=True``: the caller guarantees every value is a str, int, bool or None, or a
        dict of those (so JSON gives the claims back as they are) and the check is skipped.
        """
        text = compact_json(claims)
        payload = b64url_encode(text.encode())
        signing_input = f"{_HEADER}.{payload}".encode("ascii")
        mac = self._mac(signing_input)
        token = f"{_HEADER}.{payload}.{b64url_encode(mac)}"
        if isinstance(claims.get("exp"), (int, float)):
            # What decode() would read back: the claims themselves when every value survives
            # JSON as is (the usual claims), otherwise the JSON round trip itself.
            self._remember(token, claims if plain or _plain(claims) else json.loads(text))
        return token

    def decode(self, token: str, *, now: float) -> dict[str, Any] | None:
        """Claims of a valid, unexpired token issued by this signer; ``None`` otherwise."""
        if not isinstance(token, str):
            return None
        cached = self._verified.get(token)
        if cached is not None:
            exp = cached.get("exp")
            return _fresh(cached) if isinstance(exp, (int, float)) and exp > now else None
        if token.count(".") != 2:
            return None
        header, payload, signature = token.split(".")
        if header != _HEADER:
            return None
        expected = self._mac(f"{header}.{payload}".encode("ascii"))
        try:
            if not hmac.compare_digest(expected, b64url_decode(signature)):
                return None
            claims = json.loads(b64url_decode(payload))
        except (DecodeError, ValueError, UnicodeDecodeError):
            return None
        if not isinstance(claims, dict):
            return None
        self._remember(token, claims)
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp <= now:
            return None
        return _fresh(claims)
