"""Checks a decoded state document must pass before it replaces the simulator's state.

A document that decodes is not yet one the simulator can run on: a date held as a string, an
org id held as a number or a key held as text would each turn later requests into 500s, and a
default org that does not exist would leave the bootstrap identity unable to sign anything,
even after a reset (the restored document becomes the reset baseline). So ``/_sim/restore``
checks, before touching anything:

- every entity's fields against its dataclass annotations (the outer type: ``str``, ``float``,
  ``X | None``, ``tuple[...]``...; contents of containers are not walked);
- every row of a table the simulator already holds is of the class it holds there;
- the core part: the default org exists, the JWT secret is base64, the bootstrap identity (if
  any) names that org and a user and token present in the tables.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any

from simulator.persistence.codec import StateFormatError


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - an annotation we cannot resolve is not checked
        return {}


def _accepts(hint: Any, value: Any) -> bool:
    if hint is Any or isinstance(hint, typing.TypeVar):
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(member, value) for member in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if origin is not None:  # tuple[str, ...], dict[str, Any], ...: the container type only
        return not isinstance(origin, type) or isinstance(value, origin)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # a string annotation we could not resolve, a Protocol, ...


def check_entity(entity: Any, where: str) -> None:
    if not dataclasses.is_dataclass(entity) or isinstance(entity, type):
        return
    hints = _hints(type(entity))
    for field in dataclasses.fields(entity):
        hint = hints.get(field.name)
        value = getattr(entity, field.name)
        if hint is not None and not _accepts(hint, value):
            raise StateFormatError(
                f"{where}: field {field.name!r} of {type(entity).__name__} is "
                f"{type(value).__name__}, expected {getattr(hint, '__name__', hint)}")


def _classes(rows: Mapping[str, Any]) -> set[type]:
    return {type(row) for row in rows.values()}


def check_tables(tables: Mapping[str, Mapping[str, Any]],
                 current: Mapping[str, Mapping[str, Any]]) -> None:
    """Field types of every entity; the class of every row of a table already in use."""
    for name, rows in tables.items():
        held = _classes(current.get(name, {}))
        expected = next(iter(held)) if len(held) == 1 else None
        for key, row in rows.items():
            where = f"tables.{name}.{key}"
            if expected is not None and dataclasses.is_dataclass(expected) \
                    and type(row) is not expected:
                raise StateFormatError(f"{where}: a {type(row).__name__} where the table holds "
                                       f"{expected.__name__}")
            check_entity(row, where)


def _present(tables: Mapping[str, Mapping[str, Any]], table: str, key: Any) -> bool:
    return isinstance(key, str) and key in tables.get(table, {})


def check_core(meta: Any, tables: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The ``core`` part, checked against the document's own tables."""
    if not isinstance(meta, Mapping):
        raise StateFormatError("core must be an object with default_org_id, jwt_secret and "
                               "bootstrap")
    org_id = meta.get("default_org_id")
    if not isinstance(org_id, str) or org_id not in tables.get("orgs", {}):
        raise StateFormatError("core.default_org_id must name an org of tables.orgs")
    secret = meta.get("jwt_secret")
    if secret is not None:
        try:
            if not isinstance(secret, str) or not base64.b64decode(secret, validate=True):
                raise ValueError
        except (ValueError, binascii.Error):
            raise StateFormatError("core.jwt_secret must be non-empty base64") from None
    bootstrap = meta.get("bootstrap")
    if bootstrap is not None:
        account = bootstrap.get("serviceAccount") if isinstance(bootstrap, Mapping) else None
        if not isinstance(account, Mapping) or bootstrap.get("orgId") != org_id \
                or not _present(tables, "users", account.get("userId")) \
                or not _present(tables, "tokens", account.get("tokenId")):
            raise StateFormatError("core.bootstrap must name the default org and a service "
                                   "account user and token present in the tables")
    return dict(meta)
