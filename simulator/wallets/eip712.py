"""EIP-712 typed structured data: the digest a wallet signs for ``{"kind": "Eip712"}``.

The request carries ``types``, ``domain`` and ``message`` as the Dfns SDKs send them (ethers'
``signTypedData`` arguments): no ``primaryType`` (an optional one is honoured) and usually no
``EIP712Domain`` type, which is then derived from the domain fields present. The primary type
is the one struct no other struct refers to, as ethers infers it.

Strict like ethers and eth-account: a field the type declares but the message lacks (or sets
to null), a value out of its type's range, an address whose mixed case is not its EIP-55
checksum, all answer 400 naming the field. Fields the types do not declare are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from simulator import errors
from simulator.encoding import DecodeError, hex_decode
from simulator.errors import ApiError
from simulator.wallets.chains import eip55, keccak256

DOMAIN_TYPE = "EIP712Domain"
# The domain fields EIP-712 defines, in the order its type lists them.
DOMAIN_FIELDS = (("name", "string"), ("version", "string"), ("chainId", "uint256"),
                 ("verifyingContract", "address"), ("salt", "bytes32"))
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ARRAY = re.compile(r"^(.+)\[(\d*)\]$")
# A member's type: a name, then any array suffixes (``Person[][2]``), matched in one pass.
_KIND = re.compile(rf"({_IDENTIFIER.pattern})((?:\[[0-9]*\])*)")
# Real types are a few dozen characters. Without a bound, a type such as ``uint8[][]…[]``
# as long as the body would cost time growing with the square of its length (each array
# level re-reads the rest): one request could hold a worker for minutes.
MAX_TYPE_LENGTH = 256
# Real typed data declares a handful of structs with a few dozen members in all (a Seaport
# order: 4 structs, 30 members). The type hashes walk the struct graph once per struct, so the
# work grows with structs × members; these bounds keep any body to milliseconds.
MAX_STRUCTS = 100
MAX_MEMBERS = 1_000
_INT = re.compile(r"^(u?)int([1-9][0-9]*)$")
_FIXED_BYTES = re.compile(r"^bytes([1-9][0-9]*)$")
# An integer as a string: decimal or 0x-hex, optionally negative; at most 78 decimal digits
# (2^256 has 78), so an absurd length is refused before it is converted.
_NUMBER = re.compile(r"(-?)(0[xX][0-9a-fA-F]{1,64}|[0-9]{1,78})")

Fields = list[tuple[str, str]]


def _fail(message: str, where: str) -> ApiError:
    return errors.bad_request(f"invalid typed data: {message}", field=where)


def typed_data_digest(types: Any, domain: Any, message: Any,
                      primary_type: Any = None) -> bytes:
    """keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(primary, message)), or 400."""
    structs = _structs(types)
    if not isinstance(domain, Mapping):
        raise _fail("domain must be an object", "domain")
    domain_fields = structs.pop(DOMAIN_TYPE, None) or _domain_fields(domain)
    for name, fields in structs.items():  # the domain type is not a message type (ethers)
        if any(_element(kind) == DOMAIN_TYPE for _, kind in fields):
            raise _fail(f"{name} refers to {DOMAIN_TYPE}", f"types.{name}")
    primary = _primary(structs, primary_type)
    if not isinstance(message, Mapping):
        raise _fail("message must be an object", "message")
    encoder = _Encoder({**structs, DOMAIN_TYPE: domain_fields})
    try:
        separator = encoder.hash_struct(DOMAIN_TYPE, domain, "domain")
        body = encoder.hash_struct(primary, message, "message")
    except RecursionError:
        raise _fail("nested too deeply", "message") from None
    return keccak256(b"\x19\x01" + separator + body)


def _structs(types: Any) -> dict[str, Fields]:
    if not isinstance(types, Mapping) or not types:
        raise _fail("types must be an object of struct definitions", "types")
    if len(types) > MAX_STRUCTS:
        raise _fail(f"at most {MAX_STRUCTS} struct types", "types")
    structs: dict[str, Fields] = {}
    total = 0
    for name, members in types.items():
        where = f"types.{name}"
        if not _IDENTIFIER.fullmatch(name):
            raise _fail(f"{name!r} is not a valid type name", where)
        if not isinstance(members, list):
            raise _fail(f"{name} must be a list of {{name, type}}", where)
        total += len(members)
        if total > MAX_MEMBERS:
            raise _fail(f"at most {MAX_MEMBERS} members in all types", where)
        fields: Fields = []
        names: set[str] = set()
        for i, member in enumerate(members):
            if not isinstance(member, Mapping) or not isinstance(member.get("name"), str) \
                    or not isinstance(member.get("type"), str):
                raise _fail(f"{name}[{i}] must be {{name: string, type: string}}", where)
            if not _IDENTIFIER.fullmatch(member["name"]):
                raise _fail(f"{name}[{i}]: {member['name']!r} is not a valid field name", where)
            if member["name"] in names:
                raise _fail(f"{name} declares {member['name']} twice", where)
            names.add(member["name"])
            kind = member["type"]
            if len(kind) > MAX_TYPE_LENGTH:
                raise _fail(f"{name}.{member['name']}: a type is at most {MAX_TYPE_LENGTH} "
                            "characters", where)
            fields.append((member["name"], kind))
        structs[name] = fields
    for name, fields in structs.items():
        for field, kind in fields:
            base = _element(kind)
            if not _atomic(base) and base not in structs:
                raise _fail(f"{name}.{field} has unknown type {kind}", f"types.{name}")
    return structs


def _domain_fields(domain: Mapping[str, Any]) -> Fields:
    known = dict(DOMAIN_FIELDS)
    for key in domain:
        if key not in known:
            raise _fail(f"unknown domain field {key}", f"domain.{key}")
    return [(name, kind) for name, kind in DOMAIN_FIELDS if domain.get(name) is not None]


def _primary(structs: dict[str, Fields], named: Any) -> str:
    if named is not None:
        if not isinstance(named, str) or named not in structs:
            raise _fail(f"primaryType {named} is not one of the types", "primaryType")
        return named
    referenced = {base for name, fields in structs.items() for _, kind in fields
                  if (base := _element(kind)) != name}  # a type may refer to itself
    roots = [name for name in structs if name not in referenced]
    if len(roots) != 1:
        found = ", ".join(roots) or "none"
        raise _fail(f"cannot tell the primary type; types no other refers to: {found}",
                    "types")
    return roots[0]


def _element(kind: str) -> str:
    """The base type of ``kind`` with every array suffix removed (``Person[][2]`` → Person);
    a malformed type is returned as it is (and then found unknown)."""
    match = _KIND.fullmatch(kind)
    return match.group(1) if match is not None else kind


def _atomic(kind: str) -> bool:
    if kind in ("address", "bool", "string", "bytes"):
        return True
    if (match := _INT.match(kind)) is not None:
        bits = int(match.group(2))
        return 8 <= bits <= 256 and bits % 8 == 0
    if (match := _FIXED_BYTES.match(kind)) is not None:
        return 1 <= int(match.group(1)) <= 32
    return False


def encode_type(primary: str, structs: Mapping[str, Fields]) -> str:
    """``Primary(type name,…)`` followed by every struct it refers to, sorted by name."""
    found: set[str] = set()
    pending = [primary]
    while pending:
        for _, kind in structs[pending.pop()]:
            base = _element(kind)
            if base in structs and base not in found and base != primary:
                found.add(base)
                pending.append(base)
    return "".join(f"{name}({','.join(f'{kind} {field}' for field, kind in structs[name])})"
                   for name in [primary, *sorted(found)])


class _Encoder:
    """encodeData over one request's structs. Each struct's type hash is worked out once: an
    array of many small structs whose types refer to a large graph would otherwise walk that
    graph again for every item."""

    def __init__(self, structs: Mapping[str, Fields]) -> None:
        self.structs = structs
        self._type_hashes: dict[str, bytes] = {}

    def type_hash(self, name: str) -> bytes:
        known = self._type_hashes.get(name)
        if known is None:
            known = self._type_hashes[name] = keccak256(encode_type(name, self.structs).encode())
        return known

    def hash_struct(self, name: str, value: Mapping[str, Any], where: str) -> bytes:
        encoded = [self.type_hash(name)]
        for field, kind in self.structs[name]:
            if value.get(field) is None:
                raise _fail(f"missing value for {where}.{field} ({kind})", f"{where}.{field}")
            encoded.append(self.encode(kind, value[field], f"{where}.{field}"))
        return keccak256(b"".join(encoded))

    def encode(self, kind: str, value: Any, where: str) -> bytes:
        """One member's 32-byte encoding (encodeData of EIP-712)."""
        if (array := _ARRAY.match(kind)) is not None:
            if not isinstance(value, list):
                raise _fail(f"{where} must be an array ({kind})", where)
            if array.group(2) and len(value) != int(array.group(2)):
                raise _fail(f"{where} must have {array.group(2)} items ({kind})", where)
            return keccak256(b"".join(self.encode(array.group(1), item, f"{where}[{i}]")
                                      for i, item in enumerate(value)))
        if kind in self.structs:
            if not isinstance(value, Mapping):
                raise _fail(f"{where} must be an object ({kind})", where)
            return self.hash_struct(kind, value, where)
        return _encode_atomic(kind, value, where)


def _encode_atomic(kind: str, value: Any, where: str) -> bytes:
    if kind == "string":
        if not isinstance(value, str):
            raise _fail(f"{where} must be a string", where)
        return keccak256(value.encode())
    if kind == "bytes":
        return keccak256(_hex(value, where))
    if kind == "bool":
        if not isinstance(value, bool):
            raise _fail(f"{where} must be true or false", where)
        return int(value).to_bytes(32, "big")
    if kind == "address":
        return _address(value, where).rjust(32, b"\0")
    if (fixed := _FIXED_BYTES.match(kind)) is not None:
        raw = _hex(value, where)
        if len(raw) != int(fixed.group(1)):
            raise _fail(f"{where} must be {fixed.group(1)} bytes ({kind})", where)
        return raw.ljust(32, b"\0")
    return _integer(kind, value, where)


def _hex(value: Any, where: str) -> bytes:
    try:
        return hex_decode(value, strip=False)
    except DecodeError:
        raise _fail(f"{where} must be 0x-prefixed hex", where) from None


def _address(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(r"0[xX][0-9a-fA-F]{40}", value):
        raise _fail(f"{where} must be a 20-byte 0x address", where)
    digits = value[2:]
    if digits != digits.lower() and digits != digits.upper() and eip55(value) != "0x" + digits:
        raise _fail(f"{where} is not a valid EIP-55 checksummed address", where)
    return bytes.fromhex(digits)


def _integer(kind: str, value: Any, where: str) -> bytes:
    match = _INT.match(kind)
    if match is None:  # unreachable: _structs admitted only atomic types and known structs
        raise _fail(f"{where} has unknown type {kind}", where)
    signed, bits = match.group(1) != "u", int(match.group(2))
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and (text := _NUMBER.fullmatch(value.strip())) is not None:
        sign, digits = text.group(1), text.group(2)
        number = int(digits, 16) if digits[:2].lower() == "0x" else int(digits)
        number = -number if sign else number
    else:
        raise _fail(f"{where} must be an integer or a decimal / 0x-hex string ({kind})", where)
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not low <= number <= high:
        raise _fail(f"{where} is out of range for {kind}", where)
    return (number % (1 << 256)).to_bytes(32, "big")  # two's complement for negatives
