"""Export (off by default, own documented scheme), Shamir and chain helper vectors."""

from __future__ import annotations

import base64
import hashlib
import random

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519

from scenarios.client import DfnsApi, ok
from simulator import Simulator
from simulator.wallets import chains, set_export_enabled
from simulator.wallets.export import decrypt_share, recover_secret
from simulator.wallets.signers import SEED_PRIME, reconstruct, split

from .helpers import error, sign_hash

EXPORT = {"supportedSchemes": [{"protocol": "CGGMP21", "curve": "secp256k1"},
                               {"protocol": "FROST", "curve": "ed25519"}]}


def _client_key() -> tuple[x25519.X25519PrivateKey, str]:
    private = x25519.X25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
    return private, base64.b64encode(raw).decode()


def test_export_disabled_by_default(sa: DfnsApi) -> None:
    wallet = ok(sa.signed("POST", "/wallets", {"network": "Ethereum"}))
    _, public = _client_key()
    refused = sa.signed("POST", f"/wallets/{wallet['id']}/export",
                        {"encryptionKey": public, **EXPORT})
    assert error(refused) == (403, "wallet export is not enabled for this organization")


def test_export_round_trip_and_no_more_signing(sa: DfnsApi, sim: Simulator) -> None:
    set_export_enabled(sim.core, True)
    for network in ("Ethereum", "Solana"):
        wallet = ok(sa.signed("POST", "/wallets", {"network": network}))
        private, public = _client_key()
        bad = sa.signed("POST", f"/wallets/{wallet['id']}/export",
                        {"encryptionKey": "bm90LWEta2V5", **EXPORT})
        assert error(bad) == (400, "invalid encryptionKey: expected a base64 X25519 public key")
        out = ok(sa.signed("POST", f"/wallets/{wallet['id']}/export",
                           {"encryptionKey": public, **EXPORT}))
        assert out["minSigners"] == 3 and len(out["encryptedKeyShares"]) == 5
        key_id = wallet["signingKey"]["id"]
        shares = [decrypt_share(private, key_id, item) for item in out["encryptedKeyShares"][1:4]]
        secret = recover_secret(shares)
        if network == "Ethereum":
            assert out["protocol"] == "CGGMP21"
            derived = ec.derive_private_key(secret, ec.SECP256K1()).public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
        else:
            assert out["protocol"] == "FROST"
            ed_private = ed25519.Ed25519PrivateKey.from_private_bytes(secret.to_bytes(32, "big"))
            derived = ed_private.public_key().public_bytes(serialization.Encoding.Raw,
                                                           serialization.PublicFormat.Raw)
        assert derived.hex() == wallet["signingKey"]["publicKey"] == out["publicKey"]
        assert ok(sa.request("GET", f"/wallets/{wallet['id']}"))["exported"] is True
        assert error(sign_hash(sa, wallet["id"], hashlib.sha256(b"x").digest())) == (
            400, f"wallet {wallet['id']} has been exported and can no longer sign")
        again = sa.signed("POST", f"/wallets/{wallet['id']}/export",
                          {"encryptionKey": public, **EXPORT})
        assert error(again) == (400, "wallet has already been exported")


def test_shamir_any_threshold_subset_reconstructs() -> None:
    rng = random.Random(7)
    secret = rng.randrange(chains.N)
    shares = split(secret, threshold=3, count=5, prime=chains.N, random_below=rng.randrange)
    for subset in ([0, 1, 2], [4, 2, 0], [1, 3, 4]):
        assert reconstruct([shares[i] for i in subset], chains.N) == secret
    assert reconstruct(shares[:2], chains.N) != secret
    seed = rng.getrandbits(256)
    seed_shares = split(seed, threshold=2, count=3, prime=SEED_PRIME, random_below=rng.randrange)
    assert reconstruct(seed_shares[1:], SEED_PRIME) == seed


def test_chain_helper_vectors() -> None:
    assert chains.keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
    assert chains.eip55("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed") == (
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
    generator = bytes.fromhex("0279BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798")
    assert chains.segwit_v0_address("bc", chains.hash160(generator)) == (
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    assert chains.base58(b"\0\0\x01") == "112"
    # private key 1 → address of the generator point (a well-known value)
    uncompressed = b"\x04" + chains.G[0].to_bytes(32, "big") + chains.G[1].to_bytes(32, "big")
    assert chains.evm_address(uncompressed) == "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"
