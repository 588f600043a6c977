"""Key export (``POST /wallets/{id}/export``, ``POST /keys/{id}/export``) — off by default.

Dfns enables export contractually; the simulator answers 403 ``wallet export is not enabled
for this organization`` until :func:`set_export_enabled` turns it on. The real share encryption
lives in Dfns' TypeScript ``sdk-keyexport-utils``, which the docs do not specify, so the
simulator uses its own documented scheme ("dfns-sim-export-v1"):

* ``encryptionKey`` is the base64 of the client's X25519 public key (32 raw bytes, or a DER
  SubjectPublicKeyInfo).
* each reachable signer's share is sealed separately: an ephemeral X25519 key agrees a secret
  with ``encryptionKey``; HKDF-SHA256 (info ``dfns-sim-export-v1|<signerId>``) derives a 32-byte
  AES-256-GCM key; the plaintext is the JSON ``{"index", "share", "fieldPrime"}`` (hex numbers),
  the associated data is the key id;
* ``encryptedKeyShare`` = base64(ephemeral public key (32) ‖ nonce (12) ‖ ciphertext+tag).

Any ``minSigners`` shares, decrypted with :func:`decrypt_share` and interpolated at zero
(:func:`recover_secret`), give back the private key (secp256k1 scalar, or the Ed25519 seed).
After export the key is marked ``exported`` and the simulator refuses to sign with it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from simulator import errors
from simulator.models import evolve
from simulator.services.core import Core
from simulator.wallets import signers
from simulator.wallets.models import Key

SCHEME = "dfns-sim-export-v1"
EXPORT_NOT_ENABLED = "wallet export is not enabled for this organization"


def set_export_enabled(core: Core, enabled: bool) -> None:
    core.store.put("signer_network", "export_enabled", bool(enabled))


def export_enabled(core: Core) -> bool:
    return bool(core.store.get("signer_network", "export_enabled"))


def _recipient(encryption_key: str) -> x25519.X25519PublicKey:
    try:
        raw = base64.b64decode(encryption_key + "=" * (-len(encryption_key) % 4), validate=False)
        if len(raw) == 32:
            return x25519.X25519PublicKey.from_public_bytes(raw)
        loaded = serialization.load_der_public_key(raw)
    except ValueError:
        loaded = None
    if not isinstance(loaded, x25519.X25519PublicKey):
        raise errors.bad_request("invalid encryptionKey: expected a base64 X25519 public key",
                                 field="encryptionKey")
    return loaded


def _aead_key(shared: bytes, signer_id: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"{SCHEME}|{signer_id}".encode()).derive(shared)


def export_key(core: Core, key: Key, body: Mapping[str, Any]) -> dict[str, Any]:
    if not export_enabled(core):
        raise errors.forbidden(EXPORT_NOT_ENABLED)
    if key.exported:
        raise errors.bad_request("wallet has already been exported")
    recipient = _recipient(body["encryptionKey"])
    scheme = next((s for s in body["supportedSchemes"]
                   if isinstance(s, Mapping) and s.get("curve") == key.curve), None)
    if scheme is None:
        raise errors.bad_request(f"none of supportedSchemes matches the key's curve {key.curve}",
                                 field="supportedSchemes")
    reachable = {s.index: s for s in signers.signers(core) if s.available}
    if len(reachable) < signers.threshold(core):
        signers.with_secret(core, key.id, key.curve, lambda _: None)  # raises the 503
    prime = signers.field_prime(key.curve)
    shares = []
    for share in signers.shares_of(core, key.id):
        signer = reachable.get(share.signer_index)
        if signer is None:
            continue
        ephemeral = x25519.X25519PrivateKey.generate()
        nonce = core.random.token_bytes(12)
        plaintext = json.dumps({"index": share.signer_index, "share": hex(share.value),
                                "fieldPrime": hex(prime)}).encode()
        sealed = AESGCM(_aead_key(ephemeral.exchange(recipient), signer.id)).encrypt(
            nonce, plaintext, key.id.encode())
        ephemeral_public = ephemeral.public_key().public_bytes(serialization.Encoding.Raw,
                                                               serialization.PublicFormat.Raw)
        sealed_share = base64.b64encode(ephemeral_public + nonce + sealed).decode()
        shares.append({"signerId": base64.b64encode(signer.id.encode()).decode(),
                       "encryptedKeyShare": sealed_share})
    with core.store.transaction() as tx:
        tx.put("wallet_keys", key.id, evolve(tx.get("wallet_keys", key.id), exported=True,
                                              date_exported=core.now()))
    return {"publicKey": key.public_key, "minSigners": signers.threshold(core),
            "protocol": scheme.get("protocol", "CGGMP21"), "curve": key.curve,
            "encryptedKeyShares": shares}


# -- client side (tests, integrations) ------------------------------------------------------
def decrypt_share(private_key: x25519.X25519PrivateKey, key_id: str,
                  item: Mapping[str, str]) -> tuple[int, int, int]:
    signer_id = base64.b64decode(item["signerId"]).decode()
    blob = base64.b64decode(item["encryptedKeyShare"])
    shared = private_key.exchange(x25519.X25519PublicKey.from_public_bytes(blob[:32]))
    aead = AESGCM(_aead_key(shared, signer_id))
    plain = json.loads(aead.decrypt(blob[32:44], blob[44:], key_id.encode()))
    return plain["index"], int(plain["share"], 16), int(plain["fieldPrime"], 16)


def recover_secret(shares: Iterable[tuple[int, int, int]]) -> int:
    items = list(shares)
    return signers.reconstruct([(x, y) for x, y, _ in items], items[0][2])
