"""The second round of hot-path speed-ups keeps the results of the code it replaced (issue 7).

evolve() for dataclasses.replace, one reused C JSON encoder, a JSON loader that skips
json.loads' wrapper, pooled OS randomness, HMAC from precomputed pads, table-versioned caches.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import ids
from simulator.config import SimulatorConfig
from simulator.encoding import compact_json, loads_json
from simulator.models import Challenge, User, evolve
from simulator.persistence.sqlite_store import SqliteStore
from simulator.services.core import Core
from simulator.store import InMemoryStore
from simulator.tokens import TokenSigner

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _challenge() -> Challenge:
    return Challenge(id="ch-1", kind="action", org_id="or-1", user_id="us-1", challenge="c",
                     expires_at=10.0, allowed_credentials=("a", "b"))


# -- evolve ----------------------------------------------------------------------------------
def test_evolve_equals_dataclasses_replace_and_leaves_the_original_alone() -> None:
    original = _challenge()
    changed = evolve(original, used=True, path="/x")
    assert changed == dataclasses.replace(original, used=True, path="/x")
    assert type(changed) is Challenge and changed is not original
    assert original.used is False and original.path != "/x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.used = False  # type: ignore[misc]


def test_evolve_refuses_an_unknown_field_like_replace() -> None:
    with pytest.raises(TypeError, match="no field"):
        evolve(_challenge(), usd=True)


def test_evolve_runs_post_init_classes_through_replace() -> None:
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    with pytest.raises(ValueError, match="negative"):
        evolve(Checked(value=1), value=-1)


def test_evolve_keeps_user_entities_equal_to_replace() -> None:
    user = User(id="us-1", org_id="or-1", username="a@example.com", kind="EndUser")
    assert evolve(user, is_active=False) == dataclasses.replace(user, is_active=False)


# -- JSON ------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_compact_json_is_json_dumps_compact(value: object) -> None:
    assert compact_json(value) == json.dumps(value, separators=(",", ":"))


def test_compact_json_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        compact_json({"a": object()})


def _outcome(loader: object, data: bytes | str) -> tuple[str, object]:
    try:
        return "ok", loader(data)  # type: ignore[operator]
    except Exception as exc:  # noqa: BLE001 - the exception type is the outcome
        return "error", type(exc).__name__


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.sampled_from(["", " ", "\n", "\ufeff"]), st.booleans())
def test_loads_json_matches_json_loads_on_documents(value: object, around: str,
                                                    as_bytes: bool) -> None:
    text = around + json.dumps(value) + around.strip("\ufeff")
    data: bytes | str = text.encode("utf-8") if as_bytes else text
    assert _outcome(loads_json, data) == _outcome(json.loads, data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_loads_json_matches_json_loads_on_any_bytes(data: bytes) -> None:
    assert _outcome(loads_json, data) == _outcome(json.loads, data)


# -- randomness ------------------------------------------------------------------------------
def test_urandom_pool_never_hands_out_the_same_bytes_twice() -> None:
    pool = ids._UrandomPool()
    chunks = [pool.take(26) for _ in range(2000)]  # crosses several 4 KiB refills
    assert all(len(c) == 26 for c in chunks)
    assert len(set(chunks)) == len(chunks)
    assert len(pool.take(5000)) == 5000  # larger than a block: straight from the OS


def test_urandom_pool_drops_its_buffer_in_a_forked_child() -> None:
    pool = ids._UrandomPool()
    pool.take(8)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must not continue the parent's buffer
        os.write(write, pool.take(16))
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 16)
    assert child != pool.take(16)


# -- HMAC --------------------------------------------------------------------------------------
@pytest.mark.parametrize("secret", [b"", b"k" * 32, b"x" * 64, b"y" * 65, bytes(range(100))])
def test_token_mac_is_hmac_sha256(secret: bytes) -> None:
    signer = TokenSigner(secret)
    for message in (b"", b"a.b", os.urandom(300)):
        assert signer._mac(message) == hmac.digest(secret, message, "sha256")


def test_tokens_from_one_signer_verify_on_a_fresh_one() -> None:
    now = time.time()
    token = TokenSigner(b"s" * 32).issue({"exp": int(now) + 60, "jti": "t"}, plain=True)
    assert TokenSigner(b"s" * 32).decode(token, now=now) == {"exp": int(now) + 60, "jti": "t"}


# -- table-versioned caches -------------------------------------------------------------------
def test_in_memory_versions_move_on_every_write_and_clear() -> None:
    store = InMemoryStore({})
    first = store.versions(("a", "b"))
    store.put("a", "k", 1)
    second = store.versions(("a", "b"))
    assert second[0] != first[0] and second[1] == first[1]
    store.delete("a", "k")
    third = store.versions(("a", "b"))
    store.clear()
    assert len({first, second, third, store.versions(("a", "b"))}) == 4


def test_core_cached_recomputes_after_a_write_to_a_listed_table() -> None:
    core = Core(SimulatorConfig())
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert core.cached("n", "key", ("t1",), compute) == 1
    assert core.cached("n", "key", ("t1",), compute) == 1  # reused
    core.store.put("t2", "u", 1)  # not listed: still reused
    assert core.cached("n", "key", ("t1",), compute) == 1
    core.store.put("t1", "a", 1)
    assert core.cached("n", "key", ("t1",), compute) == 2


def test_core_cached_never_caches_on_a_shared_store(tmp_path: Path) -> None:
    core = Core(SimulatorConfig(), store=SqliteStore(tmp_path / "s.sqlite"))
    values = iter(range(10))
    assert [core.cached("n", "k", ("users",), lambda: next(values)) for _ in range(3)] == [0, 1, 2]


# -- SQLite write lock ---------------------------------------------------------------------------
def test_sqlite_transaction_waits_for_another_process_lock(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    holder, waiter = SqliteStore(path, {}), SqliteStore(path, {})
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.transaction():
            holder.put("t", "k", 1)
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    threading.Timer(0.05, release.set).start()
    started = time.monotonic()
    with waiter.transaction():  # blocks until the holder commits, then sees its write
        assert waiter.get("t", "k") == 1
        waiter.put("t", "k", 2)
    thread.join()
    assert time.monotonic() - started >= 0.04
    assert holder.get("t", "k") == 2


def test_sqlite_transaction_gives_up_after_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    holder, waiter = SqliteStore(path, {}), SqliteStore(path, {}, busy_timeout=0.05)
    with holder.transaction():
        holder.put("t", "k", 1)
        result: list[str] = []

        def attempt() -> None:  # another thread: its own connection, like another process
            try:
                with waiter.transaction():
                    result.append("entered")
            except Exception as exc:  # noqa: BLE001
                result.append(str(exc))

        thread = threading.Thread(target=attempt)
        thread.start()
        thread.join(5)
    assert result and "locked" in result[0]
