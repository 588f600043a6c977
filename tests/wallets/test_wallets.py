"""Wallets, keys and signatures through both doors, verified with the public key alone."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from Crypto.Hash import keccak
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from scenarios.client import DfnsApi, ok
from simulator import Simulator
from simulator.services import permissions
from simulator.wallets import chains, set_signer_available, signer_status

from .helpers import end_user, error, sign_hash, verify_ecdsa, verify_eddsa

DIGEST = hashlib.sha256(b"pay 1 unit to bob").digest()


def _keccak(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def test_end_user_wallet_signature_verifies_with_public_key(sa: DfnsApi, bootstrap: dict,
                                                            sim: Simulator) -> None:
    user, registered = end_user(sa, bootstrap, "alice@example.com")
    wallet = registered["wallets"][0]
    assert registered["authentication"]["token"]
    assert wallet["custodial"] is False
    assert wallet["network"] == "EthereumSepolia" and wallet["name"] == "main"
    # the address is keccak-256 of the uncompressed key, computed here independently
    public = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256K1(), bytes.fromhex(wallet["signingKey"]["publicKey"]))
    raw = public.public_bytes(serialization.Encoding.X962,
                              serialization.PublicFormat.UncompressedPoint)
    assert wallet["address"] == "0x" + _keccak(raw[1:])[-20:].hex()
    # the end user received the default end-user permission
    info = ok(sa.request("GET", f"/auth/users/{registered['user']['id']}"))
    assigned = [a["permissionName"] for a in info["permissionAssignments"]]
    assert permissions.DEFAULT_END_USER in assigned

    signed = ok(sign_hash(user, wallet["id"], DIGEST))
    assert signed["status"] == "Signed" and signed["walletId"] == wallet["id"]
    assert signed["requester"]["userId"] == registered["user"]["id"]
    verify_ecdsa(wallet["signingKey"]["publicKey"], DIGEST, signed["signature"])
    r, s = int(signed["signature"]["r"], 16), int(signed["signature"]["s"], 16)
    assert s <= chains.N // 2
    x, _ = chains.recover_public_key(DIGEST, r, s, signed["signature"]["recid"])
    assert x == public.public_numbers().x

    # Message on an EVM network = EIP-191 personal_sign digest
    message = b"hello dfns"
    msg = ok(user.signed("POST", f"/wallets/{wallet['id']}/signatures",
                         {"kind": "Message", "message": "0x" + message.hex()}))
    prefixed = b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message
    verify_ecdsa(wallet["signingKey"]["publicKey"], _keccak(prefixed), msg["signature"])
    assert msg["signature"]["encoded"].endswith(f"{27 + msg['signature']['recid']:02x}")

    assert ok(user.request("GET", f"/wallets/{wallet['id']}/signatures/{signed['id']}")) == signed
    listed = ok(user.request("GET", f"/wallets/{wallet['id']}/signatures"))
    assert {i["id"] for i in listed["items"]} == {signed["id"], msg["id"]}
    key_id = wallet["signingKey"]["id"]
    fetched = ok(user.request("GET", f"/keys/{key_id}/signatures/{signed['id']}"))
    assert fetched["id"] == signed["id"]


def test_service_account_custodial_wallet(sa: DfnsApi) -> None:
    wallet = ok(sa.signed("POST", "/wallets",
                          {"network": "Bitcoin", "name": "treasury", "tags": ["t1"]}))
    assert wallet["custodial"] is True and wallet["tags"] == ["t1"]
    assert wallet["address"] == chains.segwit_v0_address(
        "bc", chains.hash160(bytes.fromhex(wallet["signingKey"]["publicKey"])))
    key_id = wallet["signingKey"]["id"]
    signed = ok(sa.signed("POST", f"/keys/{key_id}/signatures",
                          {"kind": "Hash", "hash": DIGEST.hex()}))
    verify_ecdsa(wallet["signingKey"]["publicKey"], DIGEST, signed["signature"])
    assert signed["keyId"] == key_id and "walletId" not in signed
    key = ok(sa.request("GET", f"/keys/{key_id}"))
    assert key["wallets"] == [{"id": wallet["id"], "network": "Bitcoin"}]
    assert key["custodial"] is True
    assert ok(sa.request("GET", f"/wallets/{wallet['id']}")) == wallet


def test_chain_the_api_does_not_integrate(sa: DfnsApi) -> None:
    """Format the chain's sign bytes on the client, sign their hash, verify locally."""
    wallet = ok(sa.signed("POST", "/wallets", {"network": "KeyECDSA"}))
    assert "address" not in wallet
    sign_doc = json.dumps({"chain_id": "made-up-1", "msgs": [{"send": 42}], "sequence": 7},
                          sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(sign_doc).digest()
    signature = ok(sign_hash(sa, wallet["id"], digest))["signature"]
    verify_ecdsa(wallet["signingKey"]["publicKey"], digest, signature)

    eddsa = ok(sa.signed("POST", "/wallets", {"network": "KeyEdDSA"}))
    assert eddsa["signingKey"]["curve"] == "ed25519"
    signature = ok(sign_hash(sa, eddsa["id"], digest))["signature"]
    verify_eddsa(eddsa["signingKey"]["publicKey"], digest, signature)

    solana = ok(sa.signed("POST", "/wallets", {"network": "Solana"}))
    assert solana["address"] == chains.base58(bytes.fromhex(solana["signingKey"]["publicKey"]))
    message = b"\x01\x00solana-tx-bytes"
    signed = ok(sa.signed("POST", f"/wallets/{solana['id']}/signatures",
                          {"kind": "Message", "message": message.hex()}))
    verify_eddsa(solana["signingKey"]["publicKey"], message, signed["signature"])


def test_signature_idempotency_by_external_id(sa: DfnsApi) -> None:
    wallet = ok(sa.signed("POST", "/wallets", {"network": "Ethereum"}))
    first = ok(sign_hash(sa, wallet["id"], DIGEST, externalId="pay-1"))
    again = ok(sign_hash(sa, wallet["id"], DIGEST, externalId="pay-1"))
    assert again == first and first["externalId"] == "pay-1"
    clash = sign_hash(sa, wallet["id"], hashlib.sha256(b"other").digest(), externalId="pay-1")
    assert error(clash) == (409, "Conflicting signature request with same externalId")
    assert clash.json()["error"]["details"]["duplicate"] == {"id": first["id"],
                                                             "externalId": "pay-1"}
    assert len(ok(sa.request("GET", f"/wallets/{wallet['id']}/signatures"))["items"]) == 1
    # wallets are idempotent by externalId too
    ok(sa.signed("POST", "/wallets", {"network": "Ethereum", "externalId": "w-1"}))
    dup = sa.signed("POST", "/wallets", {"network": "Ethereum", "externalId": "w-1"})
    assert error(dup) == (409, "Conflicting wallet with same externalId")


def test_ownership(sa: DfnsApi, bootstrap: dict) -> None:
    alice, reg_a = end_user(sa, bootstrap, "alice@example.com")
    bob, reg_b = end_user(sa, bootstrap, "bob@example.com", wallets=[{"network": "Solana"}])
    wa, wb = reg_a["wallets"][0], reg_b["wallets"][0]
    assert [w["id"] for w in ok(alice.request("GET", "/wallets"))["items"]] == [wa["id"]]
    assert error(bob.request("GET", f"/wallets/{wa['id']}")) == (404, "wallet not found")
    assert error(sign_hash(bob, wa["id"], DIGEST)) == (404, "wallet not found")
    assert error(bob.request("GET", f"/keys/{wa['signingKey']['id']}")) == (404, "key not found")
    # the org reads every wallet, but cannot sign with a non-custodial one
    assert {w["id"] for w in ok(sa.request("GET", "/wallets"))["items"]} >= {wa["id"], wb["id"]}
    owned = ok(sa.request("GET", f"/wallets?ownerId={reg_b['user']['id']}"))["items"]
    assert [w["id"] for w in owned] == [wb["id"]]
    by_name = ok(sa.request("GET", "/wallets?ownerUsername=alice@example.com"))["items"]
    assert [w["id"] for w in by_name] == [wa["id"]]
    assert error(sign_hash(sa, wa["id"], DIGEST)) == (
        403, f"wallet {wa['id']} is non-custodial: only its owner can sign with it")
    # an end user cannot touch custodial org wallets either
    org_wallet = ok(sa.signed("POST", "/wallets", {"network": "Ethereum"}))
    assert error(alice.request("GET", f"/wallets/{org_wallet['id']}")) == (404, "wallet not found")


def test_end_user_creates_own_wallet(sa: DfnsApi, bootstrap: dict, sim: Simulator) -> None:
    alice, reg = end_user(sa, bootstrap, "alice@example.com", wallets=[])
    user_id = reg["user"]["id"]
    denied = alice.signed("POST", "/wallets", {"network": "EthereumSepolia"})
    assert error(denied) == (
        403, f"EndUser {user_id} is not authorized to perform operation (Wallets:Create)")
    # an org admin grants Wallets:Create to the end user
    grant = permissions.create_permission(sim.core, org_id=sim.org_id, name="EndUserWallets",
                                          operations=("Wallets:Create",))
    permissions.assign(sim.core, permission=grant, identity_id=user_id, identity_kind="User")
    wallet = ok(alice.signed("POST", "/wallets", {"network": "EthereumSepolia"}))
    assert wallet["custodial"] is False
    verify_ecdsa(wallet["signingKey"]["publicKey"], DIGEST,
                 ok(sign_hash(alice, wallet["id"], DIGEST))["signature"])
    other = alice.signed("POST", "/wallets",
                         {"network": "Ethereum", "delegateTo": "us-someone-else"})
    assert error(other) == (400, "an end user can only create wallets for itself")


def test_signer_outage_then_recovery(sa: DfnsApi, sim: Simulator) -> None:
    wallet = ok(sa.signed("POST", "/wallets", {"network": "EthereumSepolia"}))
    assert signer_status(sim.core)["threshold"] == 3 and signer_status(sim.core)["total"] == 5
    set_signer_available(sim.core, 1, False)
    set_signer_available(sim.core, 2, False)
    verify_ecdsa(wallet["signingKey"]["publicKey"], DIGEST,
                 ok(sign_hash(sa, wallet["id"], DIGEST))["signature"])  # 3 of 5 still sign
    set_signer_available(sim.core, 5, False)
    down = sign_hash(sa, wallet["id"], DIGEST, externalId="retry-me")
    assert error(down) == (
        503, "signer network unavailable: 2 of 5 signers reachable, 3 required; retry later")
    assert down.headers["retry-after"] == "1"
    assert error(sa.signed("POST", "/wallets", {"network": "Solana"}))[0] == 503
    listed = ok(sa.request("GET", f"/wallets/{wallet['id']}/signatures"))["items"]
    # nothing half-written
    assert len(listed) == 1 and len(ok(sa.request("GET", "/wallets"))["items"]) == 1
    set_signer_available(sim.core, 5, True)
    retried = ok(sign_hash(sa, wallet["id"], DIGEST, externalId="retry-me"))
    verify_ecdsa(wallet["signingKey"]["publicKey"], DIGEST, retried["signature"])
    assert signer_status(sim.core)["canSign"] is True


def test_recovery_lock_blocks_signing(sa: DfnsApi, bootstrap: dict, sim: Simulator) -> None:
    alice, reg = end_user(sa, bootstrap, "alice@example.com")
    user_id = reg["user"]["id"]
    until = sim.core.now() + 60
    sim.core.extensions["recovery_lock_until"] = lambda core, uid: until if uid == user_id else None
    from simulator.clock import iso8601

    locked = sign_hash(alice, reg["wallets"][0]["id"], DIGEST)
    assert error(locked) == (403, f"wallets of user {user_id} are locked until {iso8601(until)} "
                                  "following an account recovery")
    sim.clock.advance(61)
    ok(sign_hash(alice, reg["wallets"][0]["id"], DIGEST))


def test_delegate_delay_delegation_wallet(sa: DfnsApi, bootstrap: dict) -> None:
    alice, reg = end_user(sa, bootstrap, "alice@example.com", wallets=[])
    user_id = reg["user"]["id"]
    plain = ok(sa.signed("POST", "/wallets", {"network": "Ethereum"}))
    assert error(sa.signed("POST", f"/wallets/{plain['id']}/delegate", {"userId": user_id})) == (
        400, "only wallets created with delayDelegation: true can be delegated")
    later = ok(sa.signed("POST", "/wallets", {"network": "Ethereum", "delayDelegation": True}))
    assert later["custodial"] is True
    assert error(sa.signed("POST", f"/wallets/{later['id']}/delegate",
                           {"userId": bootstrap["serviceAccount"]["userId"]})) == (
        400, "wallets can only be delegated to end users")
    nobody = sa.signed("POST", f"/wallets/{later['id']}/delegate", {"userId": "us-nobody"})
    assert error(nobody) == (
        404, "user not found")
    assert ok(sa.signed("POST", f"/wallets/{later['id']}/delegate", {"userId": user_id})) == {
        "walletId": later["id"], "status": "Delegated"}
    assert error(sa.signed("POST", f"/wallets/{later['id']}/delegate", {"userId": user_id})) == (
        400, "wallet has already been delegated; delegation is irreversible")
    mine = ok(alice.request("GET", f"/wallets/{later['id']}"))
    assert mine["custodial"] is False
    ok(sign_hash(alice, later["id"], DIGEST))
    direct = ok(sa.signed("POST", "/wallets", {"network": "Solana", "delegateTo": user_id}))
    assert direct["custodial"] is False


@pytest.mark.parametrize("body, message", [
    ({"network": "NotAChain"}, "network NotAChain is not supported by the simulator"),
    ({"network": "KeyECDSAStark"}, "network KeyECDSAStark is not supported by the simulator "
                                   "(curve stark is not implemented)"),
    ({}, "network is required"),
    ({"network": "Ethereum", "delegateTo": "us-x", "delayDelegation": True},
     "delegateTo and delayDelegation cannot be combined"),
    ({"network": "Ethereum", "signingKey": {"curve": "ed25519"}},
     "network Ethereum uses ECDSA secp256k1 keys"),
])
def test_create_wallet_rejections(sa: DfnsApi, body: dict, message: str) -> None:
    assert error(sa.signed("POST", "/wallets", body)) == (400, message)


def test_signature_rejections(sa: DfnsApi) -> None:
    evm = ok(sa.signed("POST", "/wallets", {"network": "Ethereum"}))
    btc = ok(sa.signed("POST", "/wallets", {"network": "Bitcoin"}))
    path = f"/wallets/{evm['id']}/signatures"
    cases: list[tuple[str, dict[str, Any], tuple[int, str]]] = [
        (path, {"kind": "Hash", "hash": "0x1234"}, (400, "invalid hash: expected 32 bytes as hex")),
        (path, {"kind": "Hash", "hash": "0xzz"}, (400, "invalid hash: expected hex")),
        (path, {"kind": "Hash"}, (400, "invalid hash: expected 32 bytes as hex")),
        (path, {"kind": "Transaction", "transaction": "0x00"},
         (400, "signature kind Transaction is not supported by the simulator"
               " (supported: Hash, Message, Eip712)")),
        (path, {"hash": DIGEST.hex()}, (400, "kind is required")),
        (f"/wallets/{btc['id']}/signatures", {"kind": "Message", "message": "0x00"},
         (400, "Message signatures are not supported on network Bitcoin; sign a Hash instead")),
        ("/wallets/wa-missing/signatures", {"kind": "Hash", "hash": DIGEST.hex()},
         (404, "wallet not found")),
        ("/keys/key-missing/signatures", {"kind": "Hash", "hash": DIGEST.hex()},
         (404, "key not found")),
    ]
    for target, body, expected in cases:
        assert error(sa.signed("POST", target, body)) == expected, body
    unsigned = sa.request("POST", path, {"kind": "Hash", "hash": DIGEST.hex()})
    assert error(unsigned) == (403, "user action signature is missing or invalid")
    assert error(sa.request("GET", f"{path}/sig-missing")) == (404, "signature request not found")
    assert error(sa.request("GET", "/wallets?limit=0")) == (
        400, "invalid limit: must be between 1 and 1000")


def test_pagination(sa: DfnsApi) -> None:
    ids = sorted(ok(sa.signed("POST", "/wallets", {"network": "KeyEdDSA"}))["id"] for _ in range(3))
    first = ok(sa.request("GET", "/wallets?limit=2"))
    assert [w["id"] for w in first["items"]] == ids[:2]
    rest = ok(sa.request("GET", f"/wallets?limit=2&paginationToken={first['nextPageToken']}"))
    assert [w["id"] for w in rest["items"]] == ids[2:] and "nextPageToken" not in rest
    assert len(ok(sa.request("GET", "/keys"))["items"]) == 3


def test_missing_permission_names_operation(sa: DfnsApi, bootstrap: dict) -> None:
    alice, reg = end_user(sa, bootstrap, "alice@example.com")
    denied = alice.signed("POST", f"/wallets/{reg['wallets'][0]['id']}/delegate",
                          {"userId": reg["user"]["id"]})
    assert error(denied) == (
        403,
        f"EndUser {reg['user']['id']} is not authorized to perform operation (Wallets:Delegate)")
