"""The whole simulator state as one JSON document, and entity values as tagged JSON.

Generic over frozen dataclasses so tables other engineers add (wallets, signatures, audit…)
need no change here: an entity is written as ``{"$entity": "ClassName", "fields": {...}}`` and
read back through a registry of entity classes by name (every dataclass in
:mod:`simulator.models`, plus anything registered with :func:`register_entity` or met while
encoding). Values that plain JSON would blur carry a one-key type tag, so tuples, dicts with
non-string keys, bytes, sets and non-finite floats come back exactly as they went in:

    {"$tuple": [...]}  {"$map": {...}}  {"$dict": [[k, v], ...]}  {"$bytes": "<base64>"}
    {"$set": [...]}    {"$float": "inf"}  {"$VerifyingKey": {"spki": ...}}

Lists, strings, ints, finite floats, booleans and ``null`` are themselves (Python's ``json``
writes floats with ``repr``, which round-trips every finite float bit for bit).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import importlib
import json
import math
import sys
from collections.abc import Mapping
from typing import Any

from simulator.encoding import compact_json
from simulator.verification.public_keys import VerifyingKey

FORMAT = "dfns-sim-state"
VERSION = 1
META_TABLE = "_meta"  # persistent stores keep core-level state here; not part of "tables"

_REGISTRY: dict[str, type] = {}


class StateFormatError(ValueError):
    """A state document or encoded value this codec cannot read."""


def register_entity(cls: type) -> type:
    """Make a dataclass decodable by its class name (usable as a decorator)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    _REGISTRY[cls.__name__] = cls
    return cls


def _refresh_registry() -> None:
    # Entities appended to simulator.models by other engineers are picked up at run time.
    models = sys.modules.get("simulator.models") or importlib.import_module("simulator.models")
    for value in vars(models).values():
        if isinstance(value, type) and dataclasses.is_dataclass(value):
            _REGISTRY.setdefault(value.__name__, value)


def entity_class(name: str, module: str | None = None) -> type:
    cls = _REGISTRY.get(name)
    if cls is None:
        _refresh_registry()
        cls = _REGISTRY.get(name)
    # Only the simulator's own modules are imported to find a class: a document must not
    # make the server import (and so run) any module it names.
    if cls is None and module and module.startswith("simulator."):
        try:
            candidate = getattr(importlib.import_module(module), name, None)
        except ImportError:
            candidate = None
        if isinstance(candidate, type) and dataclasses.is_dataclass(candidate):
            cls = register_entity(candidate)
    if cls is None:
        raise StateFormatError(f"unknown entity type {name!r}")
    return cls


# -- values -------------------------------------------------------------------------------
def _init_fields(cls: type) -> tuple[str, ...]:
    """The names a dataclass takes in ``__init__``: what is written, and what is read back."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    return names


_FIELDS: dict[type, tuple[str, ...]] = {}
_SELF = (str, bool, type(None))  # written as they are


def encode_value(value: Any) -> Any:
    """A JSON-compatible rendering of ``value`` that :func:`decode_value` inverts exactly."""
    # Exact-type checks first: a persistent store encodes every entity it writes (and every
    # index value it looks up), and the isinstance chain below was most of that cost.
    kind = type(value)
    if kind in _SELF:
        return value
    if kind is int:
        return value
    if kind is tuple:
        return {"$tuple": [encode_value(v) for v in value]}
    if kind is dict and all(type(k) is str for k in value):
        return {"$map": {k: encode_value(v) for k, v in value.items()}}
    if kind in _FIELDS:  # a dataclass met before
        return _encode_entity(value, kind)
    return _encode_other(value)


def _encode_entity(value: Any, cls: type) -> dict[str, Any]:
    fields = {name: encode_value(getattr(value, name)) for name in _init_fields(cls)}
    return {"$entity": cls.__name__, "$module": cls.__module__, "fields": fields}


def _encode_other(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode_value(v) for v in value]}
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value):
            return {"$map": {k: encode_value(v) for k, v in value.items()}}
        return {"$dict": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (set, frozenset)):
        tag = "$frozenset" if isinstance(value, frozenset) else "$set"
        return {tag: [encode_value(v) for v in value]}
    if isinstance(value, VerifyingKey):
        return {"$VerifyingKey": value.to_json()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        _REGISTRY.setdefault(type(value).__name__, type(value))
        return _encode_entity(value, type(value))
    raise TypeError(f"cannot encode a value of type {type(value).__name__} in the state document")


def decode_value(data: Any) -> Any:
    if data is None or isinstance(data, (bool, str, int, float)):
        return data
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if not isinstance(data, dict):
        raise StateFormatError(f"unexpected JSON value {type(data).__name__}")
    if "$entity" in data:
        cls = entity_class(data["$entity"], data.get("$module"))
        fields = {k: decode_value(v) for k, v in data.get("fields", {}).items()}
        known = _init_fields(cls)
        # Fields dropped from a class since the document was written are ignored; fields
        # added since take their defaults.
        return cls(**{k: v for k, v in fields.items() if k in known})
    if len(data) != 1:
        raise StateFormatError(f"untagged JSON object with keys {sorted(data)[:5]}")
    tag, inner = next(iter(data.items()))
    if tag == "$map":
        return {k: decode_value(v) for k, v in inner.items()}
    if tag == "$tuple":
        return tuple(decode_value(v) for v in inner)
    if tag == "$dict":
        return {_hashable(decode_value(k)): decode_value(v) for k, v in inner}
    if tag == "$bytes":
        try:
            return base64.b64decode(inner, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise StateFormatError("$bytes must hold base64") from None
    if tag == "$set":
        return {_hashable(decode_value(v)) for v in inner}
    if tag == "$frozenset":
        return frozenset(_hashable(decode_value(v)) for v in inner)
    if tag == "$float":
        return float(inner)
    if tag == "$VerifyingKey":
        return VerifyingKey.from_json(inner)
    raise StateFormatError(f"unknown type tag {tag!r}")


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def dumps_value(value: Any) -> str:
    # == json.dumps(..., separators=(",", ":")); encode_value leaves no non-finite float.
    return compact_json(encode_value(value))


def loads_value(text: str | bytes) -> Any:
    return decode_value(json.loads(text))


# -- core-level state (not in the store) ---------------------------------------------------
def _split(target: Any) -> tuple[Any, Any | None]:
    """(core, simulator or None): callers may pass a Core or a Simulator."""
    core = getattr(target, "core", None)
    return (core, target) if core is not None else (target, None)


def core_meta(target: Any, bootstrap: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Core state that lives outside the store: default org, JWT secret, bootstrap identity."""
    core, sim = _split(target)
    if bootstrap is None and sim is not None:
        bootstrap = getattr(sim, "_bootstrap", None)
    secret: bytes = core.tokens._secret
    return {
        "default_org_id": core.default_org_id,
        "jwt_secret": base64.b64encode(secret).decode("ascii"),
        "bootstrap": dict(bootstrap) if bootstrap is not None else None,
    }


def apply_core_meta(target: Any, meta: Mapping[str, Any]) -> None:
    core, sim = _split(target)
    core.default_org_id = str(meta.get("default_org_id") or "")
    secret = meta.get("jwt_secret")
    if secret:
        # Replace the secret in place: the HTTP skin holds ``core`` and reads core.tokens.
        core.tokens._secret = base64.b64decode(secret)
    if sim is not None and "bootstrap" in meta:
        sim._bootstrap = dict(meta["bootstrap"]) if meta["bootstrap"] else None


# -- whole documents -------------------------------------------------------------------------
def _store_tables(store: Any) -> dict[str, dict[str, Any]]:
    dump = getattr(store, "dump", None)
    if dump is None:
        raise TypeError(f"{type(store).__name__} cannot enumerate its tables (needs dump())")
    return {name: rows for name, rows in dump().items() if name != META_TABLE}


def dump_state(target: Any, *, bootstrap: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The whole state of a Core (or Simulator) as one JSON-compatible document."""
    core, _ = _split(target)
    tables = {
        name: {key: encode_value(value) for key, value in rows.items()}
        for name, rows in _store_tables(core.store).items()
    }
    return {"format": FORMAT, "version": VERSION, "core": core_meta(target, bootstrap),
            "tables": tables}


def load_state(target: Any, doc: Mapping[str, Any]) -> None:
    """Replace the whole state of a Core (or Simulator) with ``doc`` from :func:`dump_state`.

    The document is decoded completely before anything is replaced, so a bad document leaves
    the current state untouched.
    """
    core, _ = _split(target)
    if not isinstance(doc, Mapping) or doc.get("format") != FORMAT:
        raise StateFormatError("not a dfns-sim state document")
    if doc.get("version") != VERSION:
        raise StateFormatError(f"unsupported state document version {doc.get('version')!r}")
    raw_tables = doc.get("tables")
    if not isinstance(raw_tables, Mapping):
        raise StateFormatError("state document has no tables")
    if not all(isinstance(rows, Mapping) for rows in raw_tables.values()):
        raise StateFormatError("every table must be an object of rows")
    tables = {
        str(name): {str(key): decode_value(value) for key, value in rows.items()}
        for name, rows in raw_tables.items()
    }
    load = getattr(core.store, "load", None)
    if load is None:
        raise TypeError(f"{type(core.store).__name__} cannot load a whole state (needs load())")
    from simulator.persistence.validation import check_core, check_tables

    previous = _store_tables(core.store)
    check_tables(tables, previous)
    meta = check_core(doc.get("core"), tables)
    previous_meta = core_meta(target)
    try:
        _replace(target, tables, meta)
    except BaseException:
        # Nothing half-done: a failure while replacing puts the previous state back.
        _replace(target, previous, previous_meta)
        raise


def _replace(target: Any, tables: dict[str, dict[str, Any]], meta: Mapping[str, Any]) -> None:
    core, _ = _split(target)
    # One transaction: a crash between the tables and the core meta (org, secret, bootstrap)
    # must not leave a persistent store with the new tables and the old meta.
    with core.store.transaction():
        core.store.load(tables)
        apply_core_meta(target, meta)
        save = getattr(core.store, "save_core_meta", None)
        if save is not None:  # persistent stores remember the restored org and secret too
            save(core_meta(target))
