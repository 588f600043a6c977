"""Wallets, keys and signature requests (endpoints.md §11) over the simulated signer network.

Ownership: a key with ``owner_id`` is non-custodial and belongs to that end user. An end user
sees and uses only its own keys/wallets (others are 404 to it); org employees and service
accounts may read every wallet of the org, but only the owning end user can sign with, or
export, a non-custodial one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from simulator import errors
from simulator.clock import iso8601
from simulator.encoding import DecodeError, hex_decode
from simulator.models import END_USER, Application, User, evolve
from simulator.services.core import Core
from simulator.services.identity import Caller
from simulator.wallets import chains, eip712, signers
from simulator.wallets.models import ECDSA, ED25519, EDDSA, SECP256K1, Key, SignatureRequest, Wallet
from simulator.wallets.networks import NetworkInfo, network_info, scheme_for_curve

KEYS, WALLETS, SIGNATURES = "wallet_keys", "wallets", "signatures"
SUPPORTED_KINDS = ("Hash", "Message", "Eip712")


# -- key material ---------------------------------------------------------------------------
def _new_secret(core: Core, curve: str) -> tuple[int, str]:
    """A fresh secret (as an integer) and its public key hex."""
    if curve == SECP256K1:
        d = int.from_bytes(core.random.token_bytes(40), "big") % (chains.N - 1) + 1
        public = ec.derive_private_key(d, ec.SECP256K1()).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
        return d, public.hex()
    seed = core.random.token_bytes(32)
    public = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return int.from_bytes(seed, "big"), public.hex()


def create_key(core: Core, tx: Any, *, org_id: str, curve: str, owner_id: str = "",
               delay_delegation: bool = False, name: str | None = None,
               created_by: str = "") -> Key:
    secret, public_hex = _new_secret(core, curve)
    key = Key(id=core.new_id("key"), org_id=org_id, scheme=scheme_for_curve(curve), curve=curve,
              public_key=public_hex, owner_id=owner_id, delay_delegation=delay_delegation,
              name=name, created_by=created_by, date_created=core.now())
    signers.store_secret(core, tx, key.id, curve, secret)
    tx.put(KEYS, key.id, key)
    return key


# -- lookups with ownership -----------------------------------------------------------------
def _is_end_user(caller: Caller) -> bool:
    return caller.user.kind == END_USER and not caller.user.is_service_account


def get_key(core: Core, caller: Caller, key_id: str) -> Key:
    key: Key | None = core.store.get(KEYS, key_id)
    if key is None or key.org_id != caller.org_id or key.status == "Archived":
        raise errors.not_found("key not found", keyId=key_id)
    if _is_end_user(caller) and key.owner_id != caller.user.id:
        raise errors.not_found("key not found", keyId=key_id)
    return key


def get_wallet(core: Core, caller: Caller, wallet_id: str) -> tuple[Wallet, Key]:
    wallet: Wallet | None = core.store.get(WALLETS, wallet_id)
    key = core.store.get(KEYS, wallet.key_id) if wallet is not None else None
    if wallet is None or key is None or wallet.org_id != caller.org_id:
        raise errors.not_found("wallet not found", walletId=wallet_id)
    if _is_end_user(caller) and key.owner_id != caller.user.id:
        raise errors.not_found("wallet not found", walletId=wallet_id)
    return wallet, key


def require_owner(core: Core, caller: Caller, key: Key, what: str, action: str) -> None:
    """Only the owning end user acts on a non-custodial key; signing also honours recovery locks."""
    if key.owner_id and key.owner_id != caller.user.id:
        raise errors.forbidden(f"{what} is non-custodial: only its owner can {action} with it",
                               ownerId=key.owner_id)
    lock = core.extensions.get("recovery_lock_until")
    if lock is not None:
        for user_id in {key.owner_id or caller.user.id, caller.user.id}:
            until = lock(core, user_id)
            if until and until > core.now():
                raise errors.forbidden(
                    f"wallets of user {user_id} are locked until {iso8601(until)} following an "
                    "account recovery", lockedUntil=iso8601(until), userId=user_id)


def _owner_filter(core: Core, org_id: str, query: Mapping[str, Any]) -> str | None:
    owner_id = query.get("ownerId")
    username = query.get("ownerUsername")
    owner = query.get("owner")
    if owner:
        if owner.startswith("us-"):
            owner_id = owner
        else:
            username = owner
    if username:
        from simulator.services.users import find_user

        user = find_user(core, org_id, username)
        return user.id if user else "-none-"
    return owner_id or None


def list_keys(core: Core, caller: Caller, query: Mapping[str, Any]) -> list[Key]:
    owner = caller.user.id if _is_end_user(caller) else _owner_filter(core, caller.org_id, query)
    return [k for k in core.store.find(KEYS, "org", caller.org_id)
            if k.status != "Archived" and (owner is None or k.owner_id == owner)]


def list_wallets(core: Core, caller: Caller, query: Mapping[str, Any]) -> list[Wallet]:
    keys = {k.id for k in list_keys(core, caller, query)}
    return [w for w in core.store.find(WALLETS, "org", caller.org_id) if w.key_id in keys]


# -- wallet creation -------------------------------------------------------------------------
def _end_user(core: Core, org_id: str, user_id: str) -> User:
    user: User | None = core.store.get("users", user_id)
    if user is None or user.org_id != org_id or user.is_archived:
        raise errors.not_found("user not found", userId=user_id)
    if user.kind != END_USER or user.is_service_account:
        raise errors.bad_request("wallets can only be delegated to end users", userId=user_id)
    if not user.is_active:
        raise errors.bad_request(errors.USER_DEACTIVATED)
    return user


def _duplicate_wallet(core: Core, org_id: str, external_id: str | None) -> Wallet | None:
    if not external_id:
        return None
    found = core.store.find(WALLETS, "org_external", (org_id, external_id))
    return found[0] if found else None


def create_wallet(core: Core, *, org_id: str, body: Mapping[str, Any], caller: Caller | None,
                  owner_id: str = "") -> Wallet:
    """``POST /wallets``; ``caller`` is None for wallets made at end-user registration."""
    info = network_info(body["network"])
    delay = bool(body.get("delayDelegation"))
    delegate_to = body.get("delegateTo")
    if caller is not None and _is_end_user(caller):
        if delegate_to and delegate_to != caller.user.id:
            raise errors.bad_request("an end user can only create wallets for itself",
                                     field="delegateTo")
        if delay:
            raise errors.bad_request(
                "delayDelegation is only for custodial wallets created by the org",
                field="delayDelegation")
        owner_id = caller.user.id
    elif delegate_to:
        if delay:
            raise errors.bad_request("delegateTo and delayDelegation cannot be combined",
                                     field="delegateTo")
        owner_id = _end_user(core, org_id, delegate_to).id
    with core.store.transaction() as tx:
        duplicate = _duplicate_wallet(core, org_id, body.get("externalId"))
        if duplicate is not None:
            raise errors.conflict(
                "Conflicting wallet with same externalId",
                duplicate={"id": duplicate.id, "externalId": duplicate.external_id})
        key = _signing_key(core, tx, org_id, info, body.get("signingKey"), owner_id=owner_id,
                           delay=delay, created_by=caller.user.id if caller else owner_id)
        key_public = bytes.fromhex(key.public_key)
        wallet = Wallet(id=core.new_id("wa"), org_id=org_id, network=info.name, key_id=key.id,
                        address=info.address(key_public) if info.address else None,
                        name=body.get("name"), tags=tuple(body.get("tags") or ()),
                        external_id=body.get("externalId"), date_created=core.now())
        tx.put(WALLETS, wallet.id, wallet)
    return wallet


def _signing_key(core: Core, tx: Any, org_id: str, info: NetworkInfo, spec: Any, *, owner_id: str,
                 delay: bool, created_by: str) -> Key:
    if isinstance(spec, Mapping) and spec.get("id"):
        key: Key | None = core.store.get(KEYS, spec["id"])
        if key is None or key.org_id != org_id or key.status == "Archived":
            raise errors.not_found("key not found", keyId=spec["id"])
        if key.owner_id != owner_id:
            raise errors.bad_request("signingKey belongs to another owner", field="signingKey.id")
        if (key.scheme, key.curve) != (info.scheme, info.curve):
            raise errors.bad_request(
                f"key {key.id} ({key.scheme} {key.curve}) cannot be used on network {info.name}",
                field="signingKey.id")
        return key
    if isinstance(spec, Mapping):
        wanted = (spec.get("scheme", info.scheme), spec.get("curve", info.curve))
        if wanted != (info.scheme, info.curve):
            raise errors.bad_request(f"network {info.name} uses {info.scheme} {info.curve} keys",
                                     field="signingKey")
    return create_key(core, tx, org_id=org_id, curve=info.curve, owner_id=owner_id,
                      delay_delegation=delay, created_by=created_by)


def create_standalone_key(core: Core, caller: Caller, body: Mapping[str, Any]) -> Key:
    """``POST /keys`` (SDK era)."""
    curve = body["curve"]
    if scheme_for_curve(curve) != body["scheme"]:
        raise errors.bad_request(f"scheme {body['scheme']} does not match curve {curve}",
                                 field="scheme")
    owner_id = caller.user.id if _is_end_user(caller) else ""
    delay = bool(body.get("delayDelegation")) and not owner_id
    if body.get("delegateTo") and not owner_id:
        owner_id = _end_user(core, caller.org_id, body["delegateTo"]).id
    with core.store.transaction() as tx:
        return create_key(core, tx, org_id=caller.org_id, curve=curve, owner_id=owner_id,
                          delay_delegation=delay, name=body.get("name"), created_by=caller.user.id)


def delegate(core: Core, caller: Caller, key: Key, user_id: str) -> Key:
    """Hand a ``delayDelegation`` key (and its wallets) to an end user; irreversible."""
    target = _end_user(core, caller.org_id, user_id)
    with core.store.transaction() as tx:
        current: Key = tx.get(KEYS, key.id)
        if current.owner_id:
            raise errors.bad_request(
                "wallet has already been delegated; delegation is irreversible")
        if not current.delay_delegation:
            raise errors.bad_request(
                "only wallets created with delayDelegation: true can be delegated")
        updated = evolve(current, owner_id=target.id)
        tx.put(KEYS, key.id, updated)
    return updated


# -- signatures ----------------------------------------------------------------------------
def _hex_bytes(value: Any, field: str) -> bytes:
    try:  # ``message`` may also be an object (for Eip712): not hex either
        return hex_decode(value, strip=False)
    except DecodeError:
        raise errors.bad_request(f"invalid {field}: expected hex", field=field) from None


def _sign(key: Key, secret: int, digest: bytes | None, message: bytes | None,
          evm: bool) -> dict[str, Any]:
    if key.curve == ED25519:
        private = ed25519.Ed25519PrivateKey.from_private_bytes(secret.to_bytes(32, "big"))
        raw = private.sign(message if message is not None else digest)  # type: ignore[arg-type]
        return {"r": "0x" + raw[:32].hex(), "s": "0x" + raw[32:].hex(), "encoded": "0x" + raw.hex()}
    assert digest is not None
    private_ec = ec.derive_private_key(secret, ec.SECP256K1())
    r, s = decode_dss_signature(private_ec.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))
    if s > chains.N // 2:  # low-s form, as Ethereum and Bitcoin require
        s = chains.N - s
    recid = chains.recovery_id(digest, r, s, bytes.fromhex(key.public_key))
    rs = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    encoded = rs + bytes([27 + recid]) if evm else encode_dss_signature(r, s)
    return {"r": "0x" + rs[:32].hex(), "s": "0x" + rs[32:].hex(), "recid": recid,
            "encoded": "0x" + encoded.hex()}


def _payload(key: Key, info: NetworkInfo | None,
             body: Mapping[str, Any]) -> tuple[bytes | None, bytes | None, bool]:
    """(digest to sign, message to sign, EVM encoding?) for a request body."""
    kind = body["kind"]
    # SDK-era key signatures name the chain family with ``blockchainKind`` ("Evm", …)
    evm = (info is not None and info.family == "evm") or body.get("blockchainKind") == "Evm"
    if kind == "Hash":
        digest = _hex_bytes(body.get("hash") or "", "hash")
        if len(digest) != 32:
            raise errors.bad_request("invalid hash: expected 32 bytes as hex", field="hash")
        return digest, None, evm
    if kind == "Message":
        message = _hex_bytes(body.get("message") or "", "message")
        if key.scheme == EDDSA:
            return None, message, False
        if evm:
            return chains.eip191_hash(message), None, True
        where = f"network {info.name}" if info else "an ECDSA key without an EVM network"
        raise errors.bad_request(
            f"Message signatures are not supported on {where}; sign a Hash instead", field="kind")
    if kind == "Eip712":
        if not evm or key.curve != SECP256K1:
            where = f"network {info.name}" if info else "a key without an EVM network"
            raise errors.bad_request(f"Eip712 signatures are not supported on {where}; they "
                                     "are for EVM networks", field="kind")
        return eip712.typed_data_digest(body.get("types"), body.get("domain"),
                                        body.get("message"), body.get("primaryType")), None, True
    raise errors.bad_request(f"signature kind {kind} is not supported by the simulator "
                             f"(supported: {', '.join(SUPPORTED_KINDS)})", field="kind")


def _only_network(core: Core, key: Key) -> str | None:
    """A key used by wallets of exactly one network signs ``/keys`` requests as that network."""
    networks = {w.network for w in core.store.find(WALLETS, "org", key.org_id)
                if w.key_id == key.id}
    return networks.pop() if len(networks) == 1 else None


def generate_signature(
    core: Core, caller: Caller, app: Application | None, key: Key, wallet: Wallet | None,
    body: Mapping[str, Any],
) -> tuple[SignatureRequest, bool]:
    """Sign synchronously; returns (request, created). Idempotent by ``externalId``."""
    what = f"wallet {wallet.id}" if wallet else f"key {key.id}"
    require_owner(core, caller, key, what, "sign")
    if key.exported:
        raise errors.bad_request(f"{what} has been exported and can no longer sign")
    network = wallet.network if wallet else body.get("network") or _only_network(core, key)
    info = network_info(network) if network else None
    if info is not None and (info.scheme, info.curve) != (key.scheme, key.curve):
        raise errors.bad_request(f"network {info.name} does not use {key.curve} keys",
                                 field="network")
    digest, message, evm = _payload(key, info, body)
    external_id = body.get("externalId")
    with core.store.transaction() as tx:
        if external_id:
            same_wallet_id = wallet.id if wallet else None
            for existing in core.store.find(SIGNATURES, "org_external",
                                            (caller.org_id, external_id)):
                if (existing.key_id == key.id and existing.wallet_id == same_wallet_id
                        and existing.request_body == dict(body)):
                    return existing, False
                raise errors.conflict("Conflicting signature request with same externalId",
                                      duplicate={"id": existing.id, "externalId": external_id})
        # Reconstruct-and-sign first: a 503 here leaves nothing written.
        signature = signers.with_secret(core, key.id, key.curve,
                                        lambda secret: _sign(key, secret, digest, message, evm))
        now = core.now()
        request = SignatureRequest(
            id=core.new_id("sig"), org_id=caller.org_id, key_id=key.id,
            wallet_id=wallet.id if wallet else None, network=network,
            requester={"userId": caller.user.id, "tokenId": caller.token.id,
                       **({"appId": app.id} if app else {})},
            request_body=json.loads(json.dumps(body)), status="Signed", signature=signature,
            external_id=external_id, date_requested=now, date_signed=now)
        tx.put(SIGNATURES, request.id, request)
    return request, True


def get_signature(core: Core, key: Key, wallet: Wallet | None,
                  signature_id: str) -> SignatureRequest:
    request: SignatureRequest | None = core.store.get(SIGNATURES, signature_id)
    if request is None or request.key_id != key.id or (wallet and request.wallet_id != wallet.id):
        raise errors.not_found("signature request not found", signatureId=signature_id)
    return request


def list_signatures(core: Core, key: Key, wallet: Wallet | None) -> list[SignatureRequest]:
    return [r for r in core.store.find(SIGNATURES, "key", key.id)
            if wallet is None or r.wallet_id == wallet.id]


# -- views -------------------------------------------------------------------------------
def key_view(key: Key) -> dict[str, Any]:
    out: dict[str, Any] = {"id": key.id, "scheme": key.scheme, "curve": key.curve,
                           "publicKey": key.public_key, "status": key.status,
                           "custodial": key.custodial, "dateCreated": iso8601(key.date_created),
                           "imported": False, "exported": key.exported}
    if key.name:
        out["name"] = key.name
    if key.date_exported:
        out["dateExported"] = iso8601(key.date_exported)
    return out


def wallet_view(core: Core, wallet: Wallet, key: Key | None = None) -> dict[str, Any]:
    key = key or core.store.get(KEYS, wallet.key_id)
    assert key is not None
    out: dict[str, Any] = {
        "id": wallet.id, "network": wallet.network,
        "signingKey": {"id": key.id, "scheme": key.scheme, "curve": key.curve,
                       "publicKey": key.public_key},
        "status": wallet.status, "dateCreated": iso8601(wallet.date_created),
        "custodial": key.custodial, "tags": list(wallet.tags), "imported": False,
        "exported": key.exported,
    }
    if wallet.address is not None:
        out["address"] = wallet.address
    for name, value in (("name", wallet.name), ("externalId", wallet.external_id)):
        if value:
            out[name] = value
    if key.date_exported:
        out["dateExported"] = iso8601(key.date_exported)
    return out


def signature_view(request: SignatureRequest) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": request.id, "keyId": request.key_id, "requester": dict(request.requester),
        "requestBody": request.request_body, "status": request.status,
        "signature": dict(request.signature), "dateRequested": iso8601(request.date_requested),
    }
    if request.wallet_id:
        out["walletId"] = request.wallet_id
    if request.network:
        out["network"] = request.network
    if request.date_signed is not None:
        out["dateSigned"] = iso8601(request.date_signed)
        out["datePolicyResolved"] = iso8601(request.date_signed)
    if request.external_id:
        out["externalId"] = request.external_id
    return out


__all__ = ["ECDSA", "EDDSA", "KEYS", "SIGNATURES", "WALLETS", "create_key", "create_wallet",
           "delegate", "generate_signature", "get_key", "get_wallet", "key_view", "wallet_view",
           "signature_view"]
