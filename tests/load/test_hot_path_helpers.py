"""The hot-path speed-ups keep the results of the code they replaced (issue 7, Speed).

ids: translate-table sampling instead of a per-character generator; iso8601: per-second
cache instead of strftime per call; tokens: claims cache primed at issue, copies on read,
one-shot HMAC; journal: raw epoch recorded, formatted on read; store: class-based
transaction context manager.
"""

from __future__ import annotations

import collections
import json
import random
import threading
import time
from datetime import UTC, datetime

import pytest

from simulator.admin.journal import Journal
from simulator.clock import iso8601
from simulator.ids import _ALPHABET, _CODE_ALPHABET, Randomness
from simulator.store import InMemoryStore
from simulator.tokens import TokenSigner


def _reference_iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def test_iso8601_matches_datetime_formatting() -> None:
    rng = random.Random(7)
    edges = [0.0, -0.5, -1.0000004, 1.9999995, 1.9999996, 1e9 + 0.9999999, 1790000000.0005,
             1790000000.9995, 1790000000.99999949, 1790000000.9999995, 1790000000]
    samples = [rng.uniform(0, 4e9) for _ in range(5000)]
    samples += [int(rng.uniform(0, 4e9)) + rng.choice([0.0005, 0.9995, 0.9999995, 5e-7, 0.1234565])
                for _ in range(5000)]
    samples += [rng.uniform(-1e8, 0) for _ in range(500)]
    for epoch in edges + samples:
        assert iso8601(epoch) == _reference_iso(epoch), epoch


def test_ids_keep_their_form_alphabet_and_seed_replay() -> None:
    randomness = Randomness()
    ident = randomness.new_id("us")
    prefix, a, b, c = ident.split("-")
    assert (prefix, len(a), len(b), len(c)) == ("us", 5, 5, 16)
    assert set(a + b + c) <= set(_ALPHABET)
    code = randomness.code(3, 3)
    assert len(code) == 11 and set(code.replace("-", "")) <= set(_CODE_ALPHABET)
    seeded = Randomness(42)
    first = [seeded.new_id("x") for _ in range(5)] + [seeded.code(3, 3)]
    seeded.reseed(42)
    assert [seeded.new_id("x") for _ in range(5)] + [seeded.code(3, 3)] == first


def test_id_characters_are_uniform() -> None:
    randomness = Randomness(3)
    counts = collections.Counter("".join(randomness.new_id("a")[2:].replace("-", "")
                                         for _ in range(4000)))
    assert set(counts) == set(_ALPHABET)
    expected = 4000 * 26 / 36
    assert all(abs(n - expected) < expected * 0.12 for n in counts.values()), counts


def _claims(exp: float) -> dict:
    return {"iss": "i", "aud": "a", "sub": "o", "iat": 1, "exp": exp, "jti": "t",
            "https://custom/app_metadata": {"orgId": "o", "tokenKind": "Challenge"},
            "https://custom/username": "é@example.com"}


def test_token_claims_from_issue_cache_equal_a_fresh_decode() -> None:
    now = time.time()
    for exp in (int(now) + 60, now + 60.25):  # int claims are copied, float ones round-trip
        issuer = TokenSigner(b"k" * 32)
        token = issuer.issue(_claims(exp))
        cached = issuer.decode(token, now=now)
        fresh = TokenSigner(b"k" * 32).decode(token, now=now)
        assert cached == fresh and json.dumps(cached) == json.dumps(fresh)
    assert issuer.decode(token, now=now + 120) is None  # expiry still checked on a cache hit
    assert TokenSigner(b"x" * 32).decode(token, now=now) is None  # another secret


def test_token_decode_returns_copies_callers_may_change() -> None:
    signer = TokenSigner(b"k" * 32)
    token = signer.issue(_claims(int(time.time()) + 60))
    first = signer.decode(token, now=time.time())
    first["jti"] = "changed"
    first["https://custom/app_metadata"]["orgId"] = "changed"
    again = signer.decode(token, now=time.time())
    assert again["jti"] == "t" and again["https://custom/app_metadata"]["orgId"] == "o"


def test_journal_records_epoch_and_shows_iso_time() -> None:
    journal = Journal(size=2)
    for index in range(3):
        journal.record(1790000000.5 + index, "POST", "/auth/action", b"", [], b"{}", 200, [],
                       b'{"userAction":"secret"}', 1.25, None)
    rows = journal.entries()
    assert [r["seq"] for r in rows] == [2, 3]
    assert rows[-1]["time"] == "2026-09-21T14:13:22.500Z" == iso8601(1790000002.5)
    assert rows[-1]["responseBody"] == {"userAction": "***"}


def test_store_transaction_is_exclusive_and_released_on_error() -> None:
    store = InMemoryStore({})
    with pytest.raises(KeyError):
        with store.transaction() as tx:
            tx.put("t", "k", 1)
            raise KeyError("boom")
    entered = threading.Event()

    def other() -> None:
        with store.transaction():
            entered.set()

    with store.transaction() as tx:
        assert tx.get("t", "k") == 1
        thread = threading.Thread(target=other)
        thread.start()
        assert not entered.wait(0.05)  # held while inside
    thread.join(2)
    assert entered.is_set()
