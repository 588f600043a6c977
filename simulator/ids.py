"""Identifiers and randomness, seedable so a failing run can be replayed.

Server ids follow the observed Dfns form ``<prefix>-<5>-<5>-<16>`` in lowercase base-36.
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import threading

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _byte_table(alphabet: str) -> tuple[bytes, bytes]:
    """A ``bytes.translate`` table mapping a random byte to a character, and the bytes to drop.

    Bytes at or above the largest multiple of the alphabet size are dropped (rejection
    sampling), so every character stays exactly equally likely; the mapping itself runs in C
    (profiling showed the per-character generator expression in every id).
    """
    size = len(alphabet)
    usable = 256 - 256 % size
    table = bytes(ord(alphabet[b % size]) if b < usable else 0 for b in range(256))
    return table, bytes(range(usable, 256))


_TABLES = {alphabet: _byte_table(alphabet) for alphabet in (_ALPHABET, _CODE_ALPHABET)}


class _UrandomPool:
    """Operating-system randomness read in 4 KiB blocks and handed out in slices.

    Every hot-path request mints ids and challenges; one ``getrandom`` call per ~100 of them
    instead of one each. The bytes are the same CSPRNG output, never handed out twice; a forked
    child drops its parent's buffer (``os.register_at_fork``: asking ``getpid`` on every take
    was a system call per id) so two processes never share bytes.
    """

    _BLOCK = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._offset = 0
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()  # the parent may have held it while forking
        self._buffer, self._offset = b"", 0

    def take(self, n: int) -> bytes:
        if n > self._BLOCK // 4:
            return os.urandom(n)
        with self._lock:
            end = self._offset + n
            if end > len(self._buffer):
                self._buffer, self._offset, end = os.urandom(self._BLOCK), 0, n
            out = self._buffer[self._offset:end]
            self._offset = end
            return out


_POOL = _UrandomPool()


class Randomness:
    """Source of ids, challenges and codes. Cryptographically random unless seeded."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        with self._lock:
            self.seed = seed
            self._rng: random.Random | None = None if seed is None else random.Random(seed)

    def token_bytes(self, n: int) -> bytes:
        if self._rng is None:
            return _POOL.take(n)
        with self._lock:
            return self._rng.randbytes(n)

    def _choices(self, alphabet: str, n: int) -> str:
        table, dropped = _TABLES.get(alphabet) or _byte_table(alphabet)
        out = b""
        while len(out) < n:  # a few spare bytes cover the (rare) dropped ones
            out += self.token_bytes(n - len(out) + 8).translate(table, dropped)
        return out[:n].decode("ascii")

    def new_id(self, prefix: str) -> str:
        body = self._choices(_ALPHABET, 26)
        return f"{prefix}-{body[:5]}-{body[5:10]}-{body[10:]}"

    def code(self, groups: int, size: int) -> str:
        """Human-typed codes such as ``A7U-KY6-9PT`` (credential) or ``1234-...`` forms."""
        text = self._choices(_CODE_ALPHABET, groups * size)
        return "-".join(text[i : i + size] for i in range(0, groups * size, size))

    def hex(self, n_bytes: int) -> str:
        return self.token_bytes(n_bytes).hex()

    def derive_secret(self, label: str) -> bytes:
        """A 32-byte secret: random, or derived from the seed so tokens are replayable too."""
        if self.seed is None:
            return secrets.token_bytes(32)
        return hashlib.sha256(f"dfns-sim:{self.seed}:{label}".encode()).digest()
