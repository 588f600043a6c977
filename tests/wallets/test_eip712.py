"""EIP-712 typed-data signatures (``{"kind": "Eip712"}``): the digest against independent
implementations' published vectors, the wallet's signature checked with its public key, and
every rejection's exact status and message."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.client import DfnsApi, ok
from simulator.errors import ApiError
from simulator.wallets import chains, eip712
from simulator.wallets.chains import keccak256
from simulator.wallets.eip712 import encode_type, typed_data_digest

from .helpers import error, verify_ecdsa

PERSON = [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}]
MAIL_TYPES = {"Person": PERSON, "Mail": [{"name": "from", "type": "Person"},
                                         {"name": "to", "type": "Person"},
                                         {"name": "contents", "type": "string"}]}
MAIL_DOMAIN = {"name": "Ether Mail", "version": "1", "chainId": 1,
               "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"}
COW = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"
MAIL = {"from": {"name": "Cow", "wallet": COW},
        "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
        "contents": "Hello, Bob!"}
# The example of EIP-712 itself: its signing digest and the signature it publishes for it
# (made with the key keccak256("cow"), whose address is COW).
MAIL_DIGEST = "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"
SPEC_R = 0x4355C47D63924E8A72E509B65029052EB6C299D53A04E167C5775FD466751C9D
SPEC_S = 0x07299936D304C153F6443DFA05F40FF007D72911B6F72307F996231605B91562
SPEC_V = 28


def _with_cc() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    types = copy.deepcopy(MAIL_TYPES)
    types["Mail"].insert(2, {"name": "cc", "type": "Person[]"})
    message = {**MAIL, "cc": [{"name": "Alice", "wallet": "0x" + "aa" * 20},
                              {"name": "Dot", "wallet": "0x" + "dd" * 20}]}
    return types, MAIL_DOMAIN, message


def _recursive() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    types = {"EIP712Domain": [{"name": "name", "type": "string"}],
             "Person": [{"name": "name", "type": "string"},
                        {"name": "friends", "type": "Person[]"}]}
    return types, {"name": "Name"}, {"name": "Bob", "friends": [{"name": "Charlie",
                                                                "friends": []}]}


# Digests published by eth-account's and MetaMask eth-sig-util's test tables for the same data.
VECTORS = [
    ("the EIP-712 example", MAIL_TYPES, MAIL_DOMAIN, MAIL, MAIL_DIGEST),
    ("with an array of structs", *_with_cc(),
     "1780e7e042fa9ec126ccb68cd707d61580d00601b3eff8a5ec05116b46007fdb"),
    ("a domain of its name only, extra message fields ignored",
     {"Person": [{"name": "name", "type": "string"}]}, {"name": "Name"},
     {"name": "Bob", "age": 33},
     "2f1c830ad734e08c06419c229b6bb26e0fb4134b5c04a4dea2163171b79683eb"),
    ("a recursive type, the domain type given", *_recursive(),
     "36c7cd01046282632deb49c4095ec5c504502369acfed60c1120b7d7f32740a9"),
]


@pytest.mark.parametrize(("case", "types", "domain", "message", "digest"), VECTORS,
                         ids=[v[0] for v in VECTORS])
def test_digest_matches_the_published_vectors(case: str, types: dict, domain: dict,
                                              message: dict, digest: str) -> None:
    assert typed_data_digest(types, domain, message).hex() == digest


def test_encode_type_puts_the_primary_first_then_its_structs_by_name() -> None:
    assert encode_type("Mail", {"Mail": [("from", "Person"), ("to", "Person"),
                                         ("contents", "string")],
                                "Person": [("name", "string"), ("wallet", "address")]}) == \
        "Mail(Person from,Person to,string contents)Person(string name,address wallet)"


def test_the_specs_own_signature_recovers_to_its_signer_over_our_digest() -> None:
    digest = typed_data_digest(MAIL_TYPES, MAIL_DOMAIN, MAIL)
    x, y = chains.recover_public_key(digest, SPEC_R, SPEC_S, SPEC_V - 27)
    point = b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")
    assert chains.eip55(chains.evm_address(point)) == COW


def test_evm_wallet_signs_typed_data(sa: DfnsApi) -> None:
    wallet = ok(sa.signed("POST", "/wallets", {"network": "Ethereum"}))
    body = {"kind": "Eip712", "types": MAIL_TYPES, "domain": MAIL_DOMAIN, "message": MAIL,
            "externalId": "permit-1"}
    signed = ok(sa.signed("POST", f"/wallets/{wallet['id']}/signatures", body))
    assert signed["status"] == "Signed" and signed["requestBody"]["kind"] == "Eip712"
    assert signed["requestBody"]["message"] == MAIL
    digest = bytes.fromhex(MAIL_DIGEST)
    verify_ecdsa(wallet["signingKey"]["publicKey"], digest, signed["signature"])
    sig = signed["signature"]
    x, _ = chains.recover_public_key(digest, int(sig["r"], 16), int(sig["s"], 16), sig["recid"])
    assert x == int(wallet["signingKey"]["publicKey"][2:], 16)
    assert sig["encoded"] == sig["r"] + sig["s"][2:] + f"{27 + sig['recid']:02x}"
    # Same externalId, same body: the original; the SDK-era door signs as well.
    again = ok(sa.signed("POST", f"/wallets/{wallet['id']}/signatures", body))
    assert again["id"] == signed["id"]
    key_id = wallet["signingKey"]["id"]
    by_key = ok(sa.signed("POST", f"/keys/{key_id}/signatures",
                          {**body, "externalId": "permit-2", "network": "Ethereum"}))
    verify_ecdsa(wallet["signingKey"]["publicKey"], digest, by_key["signature"])


def _broken(**change: Any) -> dict[str, Any]:
    body = {"kind": "Eip712", "types": copy.deepcopy(MAIL_TYPES), "domain": dict(MAIL_DOMAIN),
            "message": copy.deepcopy(MAIL)}
    body.update(change)
    return body


REJECTIONS: list[tuple[str, dict[str, Any], str]] = [
    ("a field missing", _broken(message={k: v for k, v in MAIL.items() if k != "contents"}),
     "invalid typed data: missing value for message.contents (string)"),
    ("a nested field null", _broken(message={**MAIL, "to": {"name": "Bob", "wallet": None}}),
     "invalid typed data: missing value for message.to.wallet (address)"),
    ("two root types", _broken(types={**MAIL_TYPES, "Pet": [{"name": "a", "type": "string"}]}),
     "invalid typed data: cannot tell the primary type; types no other refers to: Mail, Pet"),
    ("an unknown primaryType", _broken(primaryType="Letter"),
     "invalid typed data: primaryType Letter is not one of the types"),
    ("an unknown member type", _broken(types={"Mail": [{"name": "to", "type": "Persona"}]}),
     "invalid typed data: Mail.to has unknown type Persona"),
    ("uint of an odd width", _broken(types={"Mail": [{"name": "n", "type": "uint7"}]}),
     "invalid typed data: Mail.n has unknown type uint7"),
    ("a bad checksum", _broken(message={**MAIL, "from": {"name": "Cow",
                                                          "wallet": COW[:-1] + "7"}}),
     "invalid typed data: message.from.wallet is not a valid EIP-55 checksummed address"),
    ("a short address", _broken(message={**MAIL, "from": {"name": "Cow", "wallet": "0x12"}}),
     "invalid typed data: message.from.wallet must be a 20-byte 0x address"),
    ("a number out of range", _broken(domain={**MAIL_DOMAIN, "chainId": -1}),
     "invalid typed data: domain.chainId is out of range for uint256"),
    ("a number as words", _broken(domain={**MAIL_DOMAIN, "chainId": "one"}),
     "invalid typed data: domain.chainId must be an integer or a decimal / 0x-hex string "
     "(uint256)"),
    ("an unknown domain field", _broken(domain={**MAIL_DOMAIN, "chain": 1}),
     "invalid typed data: unknown domain field chain"),
    ("a string where a struct goes", _broken(message={**MAIL, "to": "Bob"}),
     "invalid typed data: message.to must be an object (Person)"),
    ("no types", _broken(types=None), "invalid typed data: types must be an object of struct "
                                      "definitions"),
    ("a hex message", _broken(message="0x00"), "invalid typed data: message must be an object"),
    ("a field named twice", _broken(types={"Mail": [{"name": "a", "type": "string"},
                                                    {"name": "a", "type": "bool"}]}),
     "invalid typed data: Mail declares a twice"),
    # As long as the body allows, such a type once held a worker for minutes (each array
    # level re-read the rest of the type).
    ("a type as long as the body", _broken(types={"Mail": [
        {"name": "n", "type": "uint8" + "[]" * 200_000}]}),
     "invalid typed data: Mail.n: a type is at most 256 characters"),
    # 140 structs of 140 members each once took 2 s: the type hashes walk the struct graph.
    ("too many struct types", _broken(types={f"T{i}": [{"name": "a", "type": "bool"}]
                                             for i in range(101)}),
     "invalid typed data: at most 100 struct types"),
    ("too many members", _broken(types={"Mail": [{"name": f"m{i}", "type": "bool"}
                                                 for i in range(1_001)]}),
     "invalid typed data: at most 1000 members in all types"),
]


@pytest.mark.parametrize(("case", "body", "message"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_typed_data_rejections(sa: DfnsApi, evm_wallet: dict, case: str, body: dict,
                               message: str) -> None:
    response = sa.signed("POST", f"/wallets/{evm_wallet['id']}/signatures", body)
    assert error(response) == (400, message)


def test_only_evm_keys_sign_typed_data_and_message_must_be_hex_for_message(
        sa: DfnsApi, evm_wallet: dict) -> None:
    for network in ("Bitcoin", "Solana"):
        other = ok(sa.signed("POST", "/wallets", {"network": network}))
        assert error(sa.signed("POST", f"/wallets/{other['id']}/signatures", _broken())) == (
            400, f"Eip712 signatures are not supported on network {network}; they are for "
                 "EVM networks")
    assert error(sa.signed("POST", f"/wallets/{evm_wallet['id']}/signatures",
                           {"kind": "Message", "message": {"a": 1}})) == (
        400, "invalid message: expected hex")
    assert error(sa.signed("POST", f"/wallets/{evm_wallet['id']}/signatures",
                           {"kind": "Message", "message": 7})) == (
        400, "message must be a string or an object")


@pytest.fixture
def evm_wallet(sa: DfnsApi) -> dict[str, Any]:
    return ok(sa.signed("POST", "/wallets", {"network": "Ethereum"}))


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=12)
MEMBER_TYPES = st.sampled_from(["string", "bytes", "bool", "address", "uint8", "int256",
                                "bytes4", "Person", "Person[]", "uint8[2]", "Nope", "int0"])
TYPES = st.dictionaries(st.sampled_from(["Mail", "Person", "EIP712Domain", "9bad"]),
                        st.lists(st.fixed_dictionaries({"name": st.sampled_from(["a", "b", "c"]),
                                                        "type": MEMBER_TYPES}), max_size=3),
                        max_size=3)


@settings(max_examples=300, deadline=None)
@given(types=TYPES | JSON, domain=JSON, message=JSON,
       primary=st.none() | st.sampled_from(["Mail", "Person", "X"]))
def test_any_input_gives_a_digest_or_a_400(types: Any, domain: Any, message: Any,
                                           primary: Any) -> None:
    try:
        digest = typed_data_digest(types, domain, message, primary)
    except ApiError as exc:
        assert exc.status == 400 and exc.message.startswith("invalid typed data: ")
    else:
        assert len(digest) == 32


def _hex(size: int | None = None) -> st.SearchStrategy[str]:
    raw = st.binary(min_size=size, max_size=size) if size else st.binary(max_size=40)
    return raw.map(lambda b: "0x" + b.hex())


ATOMS: dict[str, st.SearchStrategy[Any]] = {
    "string": st.text(max_size=20), "bool": st.booleans(), "uint8": st.integers(0, 255),
    "int256": st.integers(-(2**255), 2**255 - 1), "address": _hex(20), "bytes": _hex(),
    "bytes4": _hex(4)}


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_well_formed_typed_data_hashes_and_every_value_counts(data: st.DataObject) -> None:
    kinds = data.draw(st.lists(st.sampled_from(sorted(ATOMS)), min_size=1, max_size=5))
    types = {"Item": [{"name": f"f{i}", "type": kind} for i, kind in enumerate(kinds)]}
    message = {f"f{i}": data.draw(ATOMS[kind]) for i, kind in enumerate(kinds)}
    chain_id = data.draw(st.integers(0, 2**64))
    domain: dict[str, Any] = {"name": "n", "chainId": chain_id}
    digest = typed_data_digest(types, domain, message)
    assert len(digest) == 32
    # Integers read the same as decimal or 0x-hex strings (how JavaScript clients send them).
    as_text = {k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v)
               for k, v in message.items()}
    hexed = {**domain, "chainId": hex(chain_id)}
    assert typed_data_digest(types, hexed, as_text) == digest
    # Any one value changed changes the digest.
    index = data.draw(st.integers(0, len(kinds) - 1))
    other = data.draw(ATOMS[kinds[index]].filter(lambda v: v != message[f"f{index}"]))
    assert typed_data_digest(types, domain, {**message, f"f{index}": other}) != digest


def test_each_struct_type_is_hashed_once_per_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many items whose type refers to a large graph the items leave empty: walking that graph
    # for every item made the work grow with items × types (a request could hold a worker).
    graph = {f"T{i}": [{"name": "next", "type": f"T{i + 1}"}] for i in range(95)}
    graph["T95"] = [{"name": "end", "type": "bool"}]
    types = {"Main": [{"name": "items", "type": "Item[]"}],
             "Item": [{"name": "n", "type": "uint8"}, {"name": "more", "type": "T0[]"}], **graph}
    message = {"items": [{"n": i % 256, "more": []} for i in range(2_000)]}
    walks: list[str] = []
    real = eip712.encode_type
    monkeypatch.setattr(eip712, "encode_type",
                        lambda name, structs: walks.append(name) or real(name, structs))
    digest = typed_data_digest(types, {"name": "x"}, message)
    assert sorted(walks) == sorted(["EIP712Domain", "Main", "Item"])  # once each, not per item
    # The same digest as spelled out by hand from the EIP's definitions.
    type_hash = {name: keccak256(real(name, eip712._structs(types)).encode())
                 for name in ("Main", "Item")}
    empty_array = keccak256(b"")
    items = [keccak256(type_hash["Item"] + (i % 256).to_bytes(32, "big") + empty_array)
             for i in range(2_000)]
    body = keccak256(type_hash["Main"] + keccak256(b"".join(items)))
    separator = keccak256(keccak256(b"EIP712Domain(string name)") + keccak256(b"x"))
    assert digest == keccak256(b"\x19\x01" + separator + body)
