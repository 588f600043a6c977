"""``Schema.accept`` (the compiled checker, handing anything but plainly valid input to
``validate``) answers exactly what ``Schema.validate`` answers: the same value, or the same
400, for every route's body and query schema, with every schema rule on or switched off."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.errors import ApiError
from simulator.http.routes import ALL_TABLES
from simulator.http.schema import (
    AnyJson,
    Array,
    Bool,
    Int,
    Obj,
    Schema,
    Str,
    StrOrNumber,
    StrOrObject,
    policy_in_effect,
)
from simulator.services.rules import SERVICE_RULES
from simulator.verification.policy import VerificationPolicy

SCHEMAS: list[tuple[str, Schema]] = [
    (f"{spec.method} {spec.path} {part}", schema)
    for table in ALL_TABLES
    for spec in table.routes
    for part, schema in (("body", spec.body), ("query", spec.query))
    if schema is not None
]
SCHEMA_RULES = sorted(rule for rule in SERVICE_RULES if rule.startswith("schema."))

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8,
)


def _valid(schema: Schema) -> st.SearchStrategy[Any]:
    """Values ``schema`` accepts, short ones (members sometimes swapped for anything, via
    _values); the bounds are walked one by one in test_every_bound_answers_alike."""
    if isinstance(schema, Str):
        if schema.enum is not None:
            return st.sampled_from(list(schema.enum))
        low = schema.min_length
        return st.text(min_size=low, max_size=max(low, min(schema.max_length, 12)))
    if isinstance(schema, Int):
        return st.integers(min_value=schema.minimum, max_value=schema.maximum)
    if isinstance(schema, Bool):
        return st.booleans()
    if isinstance(schema, StrOrNumber):
        return st.text(max_size=8) | st.integers() | st.floats(allow_nan=False)
    if isinstance(schema, StrOrObject):
        return st.text(max_size=8) | st.dictionaries(st.text(max_size=6), JSON, max_size=2)
    if isinstance(schema, AnyJson):
        return JSON
    if isinstance(schema, Array):
        return st.lists(_values(schema.items), min_size=schema.min_items,
                        max_size=max(schema.min_items, min(schema.max_items, 3)))
    if isinstance(schema, Obj):
        optional: dict[str, st.SearchStrategy[Any]] = {
            name: st.none() | _values(member) for name, member in schema.optional.items()}
        for alias, canonical in schema.aliases.items():  # renamed on input
            member = schema.required.get(canonical) or schema.optional[canonical]
            optional[alias] = _values(member)
        optional["unknownMember"] = JSON
        required = {name: st.none() | _values(member) for name, member in schema.required.items()}
        return st.fixed_dictionaries(required, optional=optional)
    raise AssertionError(f"no strategy for {schema!r}")


def _values(schema: Schema) -> st.SearchStrategy[Any]:
    """Mostly valid values, with any JSON at all in place of some of them."""
    return st.deferred(lambda: st.one_of(_valid(schema), _valid(schema), _valid(schema), JSON))


def _minimal(schema: Schema) -> Any:
    """The smallest value ``schema`` accepts."""
    if isinstance(schema, Str):
        return schema.enum[0] if schema.enum else "a" * max(schema.min_length, 1)
    if isinstance(schema, Int):
        return schema.minimum if schema.minimum is not None else 0
    if isinstance(schema, Array):
        return [_minimal(schema.items)] * schema.min_items
    if isinstance(schema, Obj):
        return {name: _minimal(member) for name, member in schema.required.items()}
    return {Bool: False, StrOrNumber: 0, StrOrObject: "", AnyJson: None}[type(schema)]


def _edges(schema: Schema) -> list[Any]:
    """Values on and just past each bound of ``schema``, and of the wrong type."""
    wrong = [None, True, 1, 1.5, "x", [], {}]
    if isinstance(schema, Str):
        low, high = schema.min_length, schema.max_length
        enum = [*schema.enum, schema.enum[0] + "?"] if schema.enum else []
        return [*wrong, *enum, "a" * low, "a" * max(low - 1, 0), "a" * high, "a" * (high + 1)]
    if isinstance(schema, Int):
        bounds = [b for b in (schema.minimum, schema.maximum) if b is not None] or [0]
        return [*wrong, *(b + step for b in bounds for step in (-1, 0, 1))]
    if isinstance(schema, StrOrObject):
        return [*wrong, "a" * schema.max_length, "a" * (schema.max_length + 1)]
    if isinstance(schema, Array):
        item = _minimal(schema.items)
        sizes = {max(schema.min_items - 1, 0), schema.min_items, schema.max_items,
                 schema.max_items + 1}
        return [*wrong, *([item] * size for size in sorted(sizes))]
    return wrong


def _placements(schema: Schema) -> list[Any]:
    """The minimal value with one position at a time (itself or any member, however deep)
    replaced by each of that position's edges."""
    out = list(_edges(schema))
    if isinstance(schema, Obj):
        base = _minimal(schema)
        for name, member in {**schema.required, **schema.optional}.items():
            out += [{**base, name: value} for value in _placements(member)]
        for alias, canonical in schema.aliases.items():
            out.append({**{k: v for k, v in base.items() if k != canonical},
                        alias: _minimal({**schema.required, **schema.optional}[canonical])})
        out.append({**base, "unknownMember": 1})
    elif isinstance(schema, Array):
        rest = [_minimal(schema.items)] * max(schema.min_items - 1, 0)
        out += [[value, *rest] for value in _placements(schema.items)]
    return out


def _outcome(method: Any, value: Any, path: str) -> tuple[str, Any]:
    try:
        return "value", method(value, path)
    except ApiError as exc:
        return "error", (exc.status, exc.message, exc.details, exc.code)


def test_every_route_schema_is_covered() -> None:
    assert len(SCHEMAS) > 40  # the strategies above know every kind of schema these use
    for _, schema in SCHEMAS:
        assert callable(schema.checker)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), rule=st.sampled_from([None, *SCHEMA_RULES]))
def test_accept_answers_what_validate_answers(data: st.DataObject, rule: str | None) -> None:
    name, schema = data.draw(st.sampled_from(SCHEMAS), label="schema")
    value = data.draw(_values(schema) | JSON, label="value")
    policy = VerificationPolicy(disabled_rules=frozenset({rule} if rule else ()))
    path = "query" if name.endswith("query") else ""
    with policy_in_effect(policy):
        expected = _outcome(schema.validate, value, path)
        got = _outcome(schema.accept, value, path)
    assert got == expected
    if expected[0] == "value":  # insertion order too: the answer is serialised as it is
        assert list(_keys(got[1])) == list(_keys(expected[1]))


@pytest.mark.parametrize(("name", "schema"), SCHEMAS, ids=[name for name, _ in SCHEMAS])
def test_every_bound_answers_alike(name: str, schema: Schema) -> None:
    path = "query" if name.endswith("query") else ""
    values = _placements(schema)
    for rule in [None, *SCHEMA_RULES]:
        with policy_in_effect(VerificationPolicy(disabled_rules=frozenset({rule} if rule else ()))):
            for value in values:
                expected = _outcome(schema.validate, value, path)
                assert _outcome(schema.accept, value, path) == expected, (rule, value)


def _keys(value: Any) -> Any:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


@pytest.mark.parametrize(("value", "taken"), [
    ({"name": "x", "extra": 1}, True),  # unknown member, extra allowed
    ({"name": "x", "count": None}, True),  # a null optional member is dropped
    ({"name": ""}, False),  # too short
    ({"name": None}, False),  # null required member
    ({"alias": "x"}, False),  # an alias is renamed by validate()
    ({"name": "x", "n": 2}, False),  # ... also one of an optional member
    ({"name": "x", "count": True}, False),  # a boolean is not an integer
])
def test_the_checker_only_decides_plainly_valid_input(value: dict[str, Any], taken: bool) -> None:
    schema = Obj(required={"name": Str(min_length=1)}, optional={"count": Int()},
                 aliases={"alias": "name", "n": "count"})
    try:
        schema.checker(value)
        decided = True
    except Exception:  # noqa: BLE001 - _Unsure is private on purpose
        decided = False
    assert decided is taken
    assert schema.accept(value) == schema.validate(value, "") if taken else True
