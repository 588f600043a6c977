"""InMemoryStore secondary indexes: after any sequence of puts and deletes they hold exactly
what an index rebuilt from the rows would, and nothing for values no row has any more (a
unique-per-record index must not grow with every record ever dropped)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.store import InMemoryStore

INDEXES: dict[str, dict[str, Any]] = {
    "rows": {
        "colour": lambda r: r[0],  # shared values, None means "not indexed"
        "unique": lambda r: f"u{r[1]}",  # one value per record, like an audit position
    }
}

ops = st.lists(st.tuples(st.sampled_from(["put", "delete"]), st.sampled_from("abcdef"),
                         st.sampled_from(["red", "blue", None]), st.integers(0, 5)),
               max_size=60)


def _rebuilt(store: InMemoryStore) -> dict[tuple[str, str], dict[Hashable, set[str]]]:
    expected: dict[tuple[str, str], dict[Hashable, set[str]]] = {}
    for name, fn in INDEXES["rows"].items():
        bucket = expected.setdefault(("rows", name), {})
        for key, row in store.dump().get("rows", {}).items():
            value = fn(row)
            if value is not None:
                bucket.setdefault(value, set()).add(key)
    return expected


@settings(max_examples=300, deadline=None)
@given(ops)
def test_indexes_match_a_rebuild_after_any_puts_and_deletes(
        sequence: list[tuple[str, str, str | None, int]]) -> None:
    store = InMemoryStore(INDEXES)
    for op, key, colour, number in sequence:
        if op == "put":
            store.put("rows", key, (colour, number))
        else:
            store.delete("rows", key)
        actual = {index: {value: set(keys) for value, keys in bucket.items()}
                  for index, bucket in store._index_data.items()}
        expected = _rebuilt(store)
        for index in INDEXES["rows"]:
            assert actual.get(("rows", index), {}) == expected[("rows", index)]
    for colour in ("red", "blue"):
        assert sorted(r[1] for r in store.find("rows", "colour", colour)) == sorted(
            r[1] for r in store.dump().get("rows", {}).values() if r[0] == colour)


def test_a_unique_index_keeps_nothing_for_deleted_records() -> None:
    store = InMemoryStore(INDEXES)
    for number in range(1000):
        store.put("rows", f"k{number}", ("red", number))
        if number >= 10:
            store.delete("rows", f"k{number - 10}")
    assert len(store._index_data[("rows", "unique")]) == 10
    assert store.find("rows", "unique", "u5") == []
    assert store.find("rows", "unique", "u995") == [("red", 995)]
