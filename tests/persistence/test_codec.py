"""The state codec: every entity value round-trips exactly, documents restore whole states."""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.client import DfnsApi, delegated_login, ok, register_delegated, service_account_api
from simulator import Simulator, models
from simulator.persistence import codec
from simulator.persistence.codec import (
    StateFormatError,
    decode_value,
    dump_state,
    encode_value,
    load_state,
)
from simulator.verification.public_keys import VerifyingKey
from virtual_authenticators import KeyAuthenticator

KEYS = [
    VerifyingKey.from_key(ec.generate_private_key(ec.SECP256R1()).public_key()),
    VerifyingKey.from_key(ec.generate_private_key(ec.SECP256K1()).public_key()),
    VerifyingKey.from_key(ed25519.Ed25519PrivateKey.generate().public_key()),
    VerifyingKey.from_key(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()),
]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(),
    st.floats(allow_nan=False), st.binary(max_size=32),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
        st.dictionaries(st.one_of(st.integers(), st.tuples(st.text(max_size=3))), inner,
                        max_size=3),
    ),
    max_leaves=12,
)


def _strategy(hint: Any) -> st.SearchStrategy:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is str:
        return st.text(max_size=20)
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers()
    if hint is float:
        return st.floats(allow_nan=False)  # includes ±inf and -0.0
    if hint is bytes:
        return st.binary(max_size=40)
    if hint is VerifyingKey:
        return st.sampled_from(KEYS)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[_strategy(a) for a in args])
    if hint is type(None):
        return st.none()
    if origin is tuple:
        inner = _strategy(args[0]) if args else values
        return st.lists(inner, max_size=4).map(tuple)
    if origin is list:
        return st.lists(_strategy(args[0]) if args else values, max_size=4)
    if origin is dict:
        return st.dictionaries(st.text(max_size=8), values, max_size=4)
    return values  # Any and anything new


def entity_classes() -> list[type]:
    return [v for v in vars(models).values()
            if isinstance(v, type) and dataclasses.is_dataclass(v)
            and v.__module__ == models.__name__]


def entity_strategy(cls: type) -> st.SearchStrategy:
    hints = typing.get_type_hints(cls)
    return st.builds(cls, **{f.name: _strategy(hints[f.name])
                             for f in dataclasses.fields(cls) if f.init})


entities = st.one_of(*[entity_strategy(cls) for cls in entity_classes()])


def same(a: Any, b: Any) -> bool:
    """Equality that also tells 0.0 from -0.0, 1 from 1.0 and True from 1, tuple from list."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return math.copysign(1, a) == math.copysign(1, b) and a == b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, VerifyingKey):
        return (a.spki_der == b.spki_der and a.key_type == b.key_type
                and a.fingerprint == b.fingerprint)
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    return bool(a == b)


def through_json(value: Any) -> Any:
    return decode_value(json.loads(json.dumps(encode_value(value), allow_nan=False)))


@settings(max_examples=300, deadline=None)
@given(entities)
def test_every_entity_round_trips_exactly(entity: Any) -> None:
    assert same(through_json(entity), entity)


@settings(max_examples=300, deadline=None)
@given(values)
def test_values_round_trip_exactly(value: Any) -> None:
    assert same(through_json(value), value)


def test_every_model_is_covered() -> None:
    names = {cls.__name__ for cls in entity_classes()}
    assert {"Org", "User", "Credential", "AccessToken", "Challenge", "Code", "Permission"} <= names


def test_new_dataclass_registered_on_encode_decodes_by_name() -> None:
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Wallet:  # stands in for entities other engineers add later
        id: str
        tags: tuple[str, ...] = ()

    encoded = json.loads(json.dumps(encode_value(Wallet(id="wa-1", tags=("a", "b")))))
    assert encoded["$entity"] == "Wallet"
    assert decode_value(encoded) == Wallet(id="wa-1", tags=("a", "b"))


def test_nan_and_infinity_survive_strict_json() -> None:
    text = json.dumps(encode_value([float("inf"), float("-inf"), float("nan")]), allow_nan=False)
    back = decode_value(json.loads(text))
    assert back[0] == float("inf") and back[1] == float("-inf") and math.isnan(back[2])


@pytest.mark.parametrize("bad", [
    {"$nope": 1}, {"a": 1, "b": 2}, {"$entity": "NoSuchEntity", "fields": {}},
])
def test_unknown_tags_are_rejected(bad: dict) -> None:
    with pytest.raises(StateFormatError):
        decode_value(bad)


def test_unencodable_value_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        encode_value(object())


def test_document_rejects_foreign_input() -> None:
    sim = Simulator()
    before = sim.core.store.dump()
    for doc in [{}, {"format": "other"}, {"format": codec.FORMAT, "version": 99, "tables": {}},
                {"format": codec.FORMAT, "version": codec.VERSION}]:
        with pytest.raises(StateFormatError):
            load_state(sim, doc)
    assert sim.core.store.dump() == before


def test_snapshot_restores_a_working_simulator_with_valid_tokens() -> None:
    source = Simulator()
    boot = source.bootstrap()
    with source.client() as http:
        sa = service_account_api(http, boot)
        device = KeyAuthenticator()
        register_delegated(sa, "codec@example.com", device)
        token = delegated_login(sa, "codec@example.com")
    doc = json.loads(json.dumps(dump_state(source)))  # a real JSON round trip

    target = Simulator()
    load_state(target, doc)
    assert dump_state(target)["tables"] == doc["tables"]
    assert target.org_id == source.org_id
    assert target.bootstrap() == boot
    with target.client() as http:
        user = DfnsApi(http).as_(token, device)
        assert [c["kind"] for c in ok(user.request("GET", "/auth/credentials"))["items"]] == ["Key"]
        # a user action signed on the restored simulator with the old session
        assert ok(user.signed("POST", "/auth/credentials/code",
                              {"expiration": target.clock.now() + 30}))["code"]
