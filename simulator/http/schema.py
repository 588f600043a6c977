"""A tiny declarative schema for request bodies and queries.

Each route declares what it accepts; the skin validates before the service runs (malformed
input is a 400 naming the field, never a 500), and the same declarations render the OpenAPI
document served at ``/_sim/openapi.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from simulator.errors import ApiError

# The policy of the request being validated (rule ids ``schema.*`` of SERVICE_RULES). Only a
# failing validation reads it, so the valid path costs nothing; None means every rule on.
_POLICY: ContextVar[Any] = ContextVar("dfns_sim_schema_policy", default=None)


class policy_in_effect:  # noqa: N801 - used as a function: ``with policy_in_effect(p):``
    """Validate under ``policy`` (the generic endpoint wraps body and query validation).

    A plain class rather than ``@contextmanager``: it runs on every request, and the
    generator-based form costs several times more."""

    __slots__ = ("_policy", "_token")

    def __init__(self, policy: Any) -> None:
        self._policy = policy

    def __enter__(self) -> None:
        self._token = _POLICY.set(self._policy)

    def __exit__(self, *exc: Any) -> None:
        _POLICY.reset(self._token)


def _off(rule: str) -> bool:
    """True when the TEST-ONLY hook switched ``rule`` off (the mutation proof's mutants)."""
    policy = _POLICY.get()
    return policy is not None and not policy.on(rule)


def _fail(path: str, message: str) -> ApiError:
    return ApiError(400, message, details={"field": path or "body"}, code="invalid_request")


class _Absent(ApiError):
    """Mutant behaviour (``schema.type`` off): a value of the wrong type is treated as if the
    field were absent. The enclosing object decides what absent means; should it ever escape,
    it is still a clean 400."""

    def __init__(self, path: str) -> None:
        super().__init__(400, f"{path or 'body'} is missing or of the wrong type",
                         details={"field": path or "body"}, code="invalid_request")


def _wrong_type(path: str, message: str) -> ApiError:
    return _Absent(path) if _off("schema.type") else _fail(path, message)


class _Unsure(Exception):
    """Raised by a compiled checker (:meth:`Schema.accept`) on anything but plainly valid
    input: the full :meth:`Schema.validate` then decides, with its exact error or mutant."""


Checker = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Schema:
    """``validate`` is the definition: every rule, its exact 400, the mutants' behaviour.
    ``accept`` gives the same answer faster, through a checker compiled once per schema
    that only decides plainly valid input (the usual case) and hands anything else over.
    Profiling ``POST /auth/action`` put the general walk at ~7 % of the request."""

    def validate(self, value: Any, path: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def accept(self, value: Any, path: str = "") -> Any:
        """``validate(value, path)``; valid input takes the compiled checker."""
        try:
            return self.checker(value)
        except _Unsure:
            return self.validate(value, path)

    @cached_property
    def checker(self) -> Checker:
        return self.compile()

    def compile(self) -> Checker:
        """A function returning what ``validate`` returns for valid input and raising
        :class:`_Unsure` otherwise; it never reads the policy (only failures do). This one,
        for a kind of schema without its own, leaves every value to ``validate``."""

        def check(value: Any) -> Any:
            raise _Unsure

        return check

    def openapi(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def empty(self) -> Any:
        """What a mutant (``schema.required`` off) substitutes for a missing field."""
        return None


@dataclass(frozen=True)
class Str(Schema):
    enum: Sequence[str] | None = None
    min_length: int = 0
    max_length: int = 100_000

    def validate(self, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise _wrong_type(path, f"{path} must be a string")
        if self.enum is not None and value not in self.enum and not _off("schema.enum"):
            raise _fail(path, f"invalid {path}: expected one of {', '.join(self.enum)}")
        if len(value) < self.min_length and not _off("schema.required" if not value
                                                         else "schema.range"):
            raise _fail(path, f"{path} is required" if not value else f"{path} is too short")
        if len(value) > self.max_length and not _off("schema.range"):
            raise _fail(path, f"{path} is too long")
        return value

    def compile(self) -> Checker:
        low, high = self.min_length, self.max_length
        choices = None if self.enum is None else frozenset(self.enum)

        def check(value: Any) -> Any:
            if not isinstance(value, str) or not low <= len(value) <= high \
                    or (choices is not None and value not in choices):
                raise _Unsure
            return value

        return check

    def empty(self) -> Any:
        return ""

    def openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string", "maxLength": self.max_length}
        if self.enum is not None:
            out["enum"] = list(self.enum)
        if self.min_length:
            out["minLength"] = self.min_length
        return out


@dataclass(frozen=True)
class Int(Schema):
    minimum: int | None = None
    maximum: int | None = None

    def validate(self, value: Any, path: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(path, f"{path} must be an integer")
        if self.minimum is not None and value < self.minimum and not _off("schema.range"):
            raise _fail(path, f"invalid {path}: must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum and not _off("schema.range"):
            raise _fail(path, f"invalid {path}: must be at most {self.maximum}")
        return value

    def compile(self) -> Checker:
        low, high = self.minimum, self.maximum

        def check(value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, int) \
                    or (low is not None and value < low) or (high is not None and value > high):
                raise _Unsure
            return value

        return check

    def empty(self) -> Any:
        return self.minimum if self.minimum is not None else 0

    def openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


@dataclass(frozen=True)
class Bool(Schema):
    def validate(self, value: Any, path: str) -> Any:
        if not isinstance(value, bool):
            raise _wrong_type(path, f"{path} must be a boolean")
        return value

    def compile(self) -> Checker:
        def check(value: Any) -> Any:
            if not isinstance(value, bool):
                raise _Unsure
            return value

        return check

    def empty(self) -> Any:
        return False

    def openapi(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class StrOrNumber(Schema):
    """An ISO-8601 string or an epoch number (credential-code ``expiration``)."""

    def validate(self, value: Any, path: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise _wrong_type(path, f"{path} must be an ISO-8601 string or a number")
        return value

    def compile(self) -> Checker:
        def check(value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise _Unsure
            return value

        return check

    def empty(self) -> Any:
        return 0

    def openapi(self) -> dict[str, Any]:
        return {"oneOf": [{"type": "string", "maxLength": 64}, {"type": "number"}]}


@dataclass(frozen=True)
class StrOrObject(Schema):
    """A string, or an object taken as it is (a signature's ``message``: hex for ``Message``,
    the typed-data object for ``Eip712``)."""

    max_length: int = 100_000

    def validate(self, value: Any, path: str) -> Any:
        if isinstance(value, dict):
            return value
        if not isinstance(value, str):
            raise _wrong_type(path, f"{path} must be a string or an object")
        return Str(max_length=self.max_length).validate(value, path)

    def compile(self) -> Checker:
        high = self.max_length

        def check(value: Any) -> Any:
            if isinstance(value, dict) or (isinstance(value, str) and len(value) <= high):
                return value
            raise _Unsure

        return check

    def empty(self) -> Any:
        return ""

    def openapi(self) -> dict[str, Any]:
        return {"oneOf": [{"type": "string", "maxLength": self.max_length}, {"type": "object"}]}


@dataclass(frozen=True)
class Array(Schema):
    items: Schema
    max_items: int = 1000
    min_items: int = 0

    def validate(self, value: Any, path: str) -> Any:
        if not isinstance(value, list):
            raise _wrong_type(path, f"{path} must be an array")
        if len(value) > self.max_items and not _off("schema.range"):
            raise _fail(path, f"{path} has too many items")
        if len(value) < self.min_items and not _off("schema.range"):
            raise _fail(path, f"{path} must have at least {self.min_items} item(s)")
        return [self.items.validate(v, f"{path}[{i}]") for i, v in enumerate(value)]

    def compile(self) -> Checker:
        item, low, high = self.items.checker, self.min_items, self.max_items

        def check(value: Any) -> Any:
            if not isinstance(value, list) or not low <= len(value) <= high:
                raise _Unsure
            return [item(v) for v in value]

        return check

    def empty(self) -> Any:
        return []

    def openapi(self) -> dict[str, Any]:
        out = {"type": "array", "items": self.items.openapi(), "maxItems": self.max_items}
        if self.min_items:
            out["minItems"] = self.min_items
        return out


@dataclass(frozen=True)
class AnyJson(Schema):
    def validate(self, value: Any, path: str) -> Any:
        return value

    def compile(self) -> Checker:
        return _identity

    def empty(self) -> Any:
        return None

    def openapi(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class Obj(Schema):
    required: Mapping[str, Schema] = field(default_factory=dict)
    optional: Mapping[str, Schema] = field(default_factory=dict)
    # Dfns accepts extra members on most bodies (clients add fields over time); routes that
    # the SDK-era schema closes (e.g. PAT creation) set this to False.
    extra: bool = True
    # Alternative spellings accepted on input (spec README rows 4 and 19).
    aliases: Mapping[str, str] = field(default_factory=dict)

    def validate(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            if not _off("schema.object"):
                raise _fail(path, f"{path or 'body'} must be a JSON object")
            value = {}  # mutant: a non-object is read as an empty object
        data = dict(value)
        for alias, canonical in self.aliases.items():
            if alias in data and canonical not in data:
                data[canonical] = data.pop(alias)
        out: dict[str, Any] = {}
        prefix = f"{path}." if path else ""
        for name, schema in self.required.items():
            if name in data and data[name] is not None:
                try:
                    out[name] = schema.validate(data[name], prefix + name)
                    continue
                except _Absent:
                    pass  # mutant (schema.type off): read as absent
            if not _off("schema.required"):
                raise _fail(prefix + name, f"{prefix}{name} is required")
            out[name] = schema.empty()  # mutant: the empty value of the declared type
        for name, schema in self.optional.items():
            if name in data and data[name] is not None:
                try:
                    out[name] = schema.validate(data[name], prefix + name)
                except _Absent:
                    pass
        unknown = [k for k in data if k not in self.required and k not in self.optional]
        if unknown and not self.extra and not _off("schema.object"):
            raise _fail(prefix + unknown[0], f"unknown field {prefix}{unknown[0]}")
        if self.extra:
            for k in unknown:
                out.setdefault(k, data[k])
        return out

    def compile(self) -> Checker:
        # Built as validate() builds its answer: required members in declared order, then the
        # optional ones present and not null, then (extra=True) unknown members in input order.
        required = tuple((name, schema.checker) for name, schema in self.required.items())
        optional = tuple((name, schema.checker) for name, schema in self.optional.items()
                         if name not in self.required)  # validate() would only repeat it
        declared = frozenset(self.required) | frozenset(self.optional)
        aliases, extra = tuple(self.aliases), self.extra

        def check(value: Any) -> Any:
            if not isinstance(value, dict):
                raise _Unsure
            for alias in aliases:  # renaming is validate()'s business
                if alias in value:
                    raise _Unsure
            out = {}
            for name, member in required:
                item = value.get(name)
                if item is None:
                    raise _Unsure
                out[name] = member(item)
            known = len(required)
            for name, member in optional:
                if name in value:
                    known += 1
                    item = value[name]
                    if item is not None:
                        out[name] = member(item)
            if known != len(value):  # members neither schema names
                if not extra:
                    raise _Unsure
                for name, item in value.items():
                    if name not in declared:
                        out.setdefault(name, item)
            return out

        return check

    def empty(self) -> Any:
        return self.validate({}, "")

    def openapi(self) -> dict[str, Any]:
        props = {k: v.openapi() for k, v in {**self.required, **self.optional}.items()}
        out: dict[str, Any] = {"type": "object", "properties": props}
        if self.required:
            out["required"] = list(self.required)
        if not self.extra:
            out["additionalProperties"] = False
        return out


# -- shared shapes --------------------------------------------------------------------------
ID = Str(min_length=1, max_length=200)
TOKEN = Str(min_length=1, max_length=4000)
TEXT = Str(max_length=10_000)
NAME = Str(min_length=1, max_length=500)
B64 = Str(min_length=1, max_length=200_000)
# The two fields decoded as CBOR. fido2's decoder copies the rest of its input for every item
# it reads, so its time grows with the square of the length (200 KB of base64: ~0.3 s of
# CPU). Real attestation objects, certificate chains included, take a few KB; assertion
# authenticator data is 37 bytes plus a small extensions map.
ATTESTATION_DATA = Str(min_length=1, max_length=32_768)
AUTHENTICATOR_DATA = Str(min_length=1, max_length=4_096)

CREDENTIAL_INFO = Obj(
    optional={
        "credId": B64,
        "clientData": B64,
        "attestationData": ATTESTATION_DATA,
        "password": Str(max_length=1000),
        "otpCode": Str(max_length=100),
    }
)
CREDENTIAL_ATTESTATION = Obj(
    required={"credentialKind": Str(min_length=1, max_length=64),
              "credentialInfo": CREDENTIAL_INFO},
    optional={"encryptedPrivateKey": Str(max_length=200_000),
              "credentialName": Str(max_length=500)},
    aliases={"kind": "credentialKind"},
)
CREDENTIAL_ASSERTION_INFO = Obj(
    required={"credId": B64, "clientData": B64, "signature": B64},
    optional={
        "authenticatorData": AUTHENTICATOR_DATA,
        "userHandle": Str(max_length=10_000),
        "algorithm": Str(max_length=64),
    },
)
ASSERTION = Obj(
    required={"kind": Str(min_length=1, max_length=64)},
    optional={
        "credentialAssertion": CREDENTIAL_ASSERTION_INFO,
        "password": Str(max_length=1000),
        "otpCode": Str(max_length=100),
    },
)
