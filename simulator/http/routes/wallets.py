"""Wallet and key routes (endpoints.md §11; SDK-era ``/keys`` twins from dfns-sdk 1.0.2).

Every operation is checked under its docs-era ``Wallets:*`` name (§12); ``/keys`` routes use
the same names as their ``/wallets`` counterparts.
"""

from __future__ import annotations

from typing import Any

from simulator import errors
from simulator.http.app import Call
from simulator.http.routing import AUTH, RouteTable
from simulator.http.schema import ID, AnyJson, Array, Bool, Obj, Str, StrOrObject
from simulator.services import permissions
from simulator.services.pagination import paginate
from simulator.wallets import export, service
from simulator.wallets.models import Key, Wallet

routes = RouteTable("Wallets")

PAGE = {"limit": Str(max_length=10), "paginationToken": Str(max_length=500)}
OWNER = {"owner": Str(max_length=500), "ownerId": Str(max_length=200),
         "ownerUsername": Str(max_length=500)}
HEX = Str(max_length=2_000_000)
SIGNATURE_BODY = Obj(required={"kind": Str(min_length=1, max_length=64)},
                     optional={"hash": HEX, "message": StrOrObject(max_length=2_000_000),
                               "types": AnyJson(), "domain": AnyJson(),
                               "primaryType": Str(min_length=1, max_length=200),
                               "externalId": Str(min_length=1, max_length=500),
                               "network": Str(min_length=1, max_length=100),
                               "blockchainKind": Str(min_length=1, max_length=64)})
EXPORT_BODY = Obj(required={"encryptionKey": Str(min_length=1, max_length=10_000),
                            "supportedSchemes": Array(Obj(required={"protocol": Str(max_length=64),
                                                                    "curve": Str(max_length=64)}),
                                                      min_items=1, max_items=20)})
WALLET_BODY = Obj(
    required={"network": Str(min_length=1, max_length=100)},
    optional={"name": Str(max_length=500),
              "tags": Array(Str(min_length=1, max_length=200), max_items=50),
              "delayDelegation": Bool(), "delegateTo": ID,
              "externalId": Str(min_length=1, max_length=500),
              "signingKey": Obj(optional={"id": ID,
                                          "scheme": Str(enum=("ECDSA", "EdDSA", "Schnorr")),
                                          "curve": Str(enum=("secp256k1", "ed25519", "stark"))})},
)
DELEGATE_BODY = Obj(required={"userId": ID}, aliases={"delegateTo": "userId"})


def _wallet(call: Call) -> tuple[Wallet, Key]:
    return service.get_wallet(call.core, call.require_caller(), call.params["walletId"])


def _key(call: Call) -> Key:
    return service.get_key(call.core, call.require_caller(), call.params["keyId"])


# -- wallets -------------------------------------------------------------------------------
@routes.route("POST", "/wallets", caller=AUTH, user_action=True, operations=("Wallets:Create",),
              body=WALLET_BODY)
def create_wallet(call: Call) -> Any:
    """Create wallet."""
    caller = call.require_caller()
    if call.body.get("tags"):
        permissions.check(call.core, app=call.app, caller=caller, operations=("Wallets:Tags:Add",))
    wallet = service.create_wallet(call.core, org_id=caller.org_id, body=call.body, caller=caller)
    return service.wallet_view(call.core, wallet)


@routes.route("GET", "/wallets", caller=AUTH, operations=("Wallets:Read",),
              query=Obj(optional={**PAGE, **OWNER}))
def list_wallets(call: Call) -> Any:
    """List wallets."""
    rows = service.list_wallets(call.core, call.require_caller(), call.query)
    return paginate(call, rows, key=lambda w: w.id,
                    render=lambda w: service.wallet_view(call.core, w))


@routes.route("GET", "/wallets/{walletId}", caller=AUTH, operations=("Wallets:Read",))
def get_wallet(call: Call) -> Any:
    """Get wallet."""
    wallet, key = _wallet(call)
    return service.wallet_view(call.core, wallet, key)


@routes.route("PUT", "/wallets/{walletId}", caller=AUTH, user_action=True,
              operations=("Wallets:Update",),
              body=Obj(required={"name": Str(max_length=500)}))
def update_wallet(call: Call) -> Any:
    """Update wallet name."""
    wallet, key = _wallet(call)
    wallet = call.core.replace(service.WALLETS, wallet.id, wallet, name=call.body["name"] or None)
    return service.wallet_view(call.core, wallet, key)


def _sign(call: Call, key: Key, wallet: Wallet | None) -> Any:
    request, _ = service.generate_signature(call.core, call.require_caller(), call.app, key, wallet,
                                            call.body)
    return service.signature_view(request)


@routes.route("POST", "/wallets/{walletId}/signatures", caller=AUTH, user_action=True,
              operations=("Wallets:GenerateSignature",), body=SIGNATURE_BODY)
def wallet_signature(call: Call) -> Any:
    """Generate signature (docs era)."""
    wallet, key = _wallet(call)
    if "network" in call.body and call.body["network"] != wallet.network:
        raise errors.bad_request("network does not match the wallet's network", field="network")
    return _sign(call, key, wallet)


@routes.route("GET", "/wallets/{walletId}/signatures", caller=AUTH,
              operations=("Wallets:ReadSignature",),
              query=Obj(optional=PAGE))
def list_wallet_signatures(call: Call) -> Any:
    """List wallet signature requests."""
    wallet, key = _wallet(call)
    rows = service.list_signatures(call.core, key, wallet)
    body = paginate(call, rows, key=lambda r: r.id, render=service.signature_view)
    return {"walletId": wallet.id, **body}


@routes.route("GET", "/wallets/{walletId}/signatures/{signatureId}", caller=AUTH,
              operations=("Wallets:ReadSignature",))
def get_wallet_signature(call: Call) -> Any:
    """Get wallet signature request."""
    wallet, key = _wallet(call)
    return service.signature_view(service.get_signature(call.core, key, wallet,
                                                        call.params["signatureId"]))


@routes.route("POST", "/wallets/{walletId}/export", caller=AUTH, user_action=True,
              operations=("Wallets:Export",), body=EXPORT_BODY)
def export_wallet(call: Call) -> Any:
    """Export wallet (off unless enabled)."""
    wallet, key = _wallet(call)
    service.require_owner(call.core, call.require_caller(), key, f"wallet {wallet.id}", "export")
    return export.export_key(call.core, key, call.body)


@routes.route("POST", "/wallets/{walletId}/delegate", caller=AUTH, user_action=True,
              operations=("Wallets:Delegate",), body=DELEGATE_BODY)
def delegate_wallet(call: Call) -> Any:
    """Delegate a delayDelegation wallet to an end user."""
    wallet, key = _wallet(call)
    service.delegate(call.core, call.require_caller(), key, call.body["userId"])
    return {"walletId": wallet.id, "status": "Delegated"}


# -- keys (SDK era) --------------------------------------------------------------------------
@routes.route("POST", "/keys", caller=AUTH, user_action=True, operations=("Wallets:Create",),
              body=Obj(required={"scheme": Str(enum=("ECDSA", "EdDSA", "Schnorr")),
                                 "curve": Str(enum=("secp256k1", "ed25519", "stark"))},
                       optional={"name": Str(max_length=500), "delegateTo": ID,
                                 "delayDelegation": Bool(),
                                 "masterKey": Bool(), "storeId": AnyJson(),
                                 "deriveFrom": AnyJson()}))
def create_key(call: Call) -> Any:
    """Create key."""
    return service.key_view(service.create_standalone_key(call.core, call.require_caller(),
                                                          call.body))


@routes.route("GET", "/keys", caller=AUTH, operations=("Wallets:Read",),
              query=Obj(optional={**PAGE, **OWNER}))
def list_keys(call: Call) -> Any:
    """List keys."""
    rows = service.list_keys(call.core, call.require_caller(), call.query)
    return paginate(call, rows, key=lambda k: k.id, render=service.key_view)


@routes.route("GET", "/keys/{keyId}", caller=AUTH, operations=("Wallets:Read",))
def get_key(call: Call) -> Any:
    """Get key (with its wallets)."""
    key = _key(call)
    wallets = [{"id": w.id, "network": w.network}
               for w in call.core.store.find(service.WALLETS, "org", key.org_id)
               if w.key_id == key.id]
    return {**service.key_view(key), "wallets": wallets}


@routes.route("PUT", "/keys/{keyId}", caller=AUTH, user_action=True, operations=("Wallets:Update",),
              body=Obj(required={"name": Str(max_length=500)}))
def update_key(call: Call) -> Any:
    """Update key name."""
    key = _key(call)
    return service.key_view(call.core.replace(service.KEYS, key.id, key,
                                              name=call.body["name"] or None))


@routes.route("POST", "/keys/{keyId}/signatures", caller=AUTH, user_action=True,
              operations=("Wallets:GenerateSignature",), body=SIGNATURE_BODY)
def key_signature(call: Call) -> Any:
    """Generate signature (SDK era)."""
    return _sign(call, _key(call), None)


@routes.route("GET", "/keys/{keyId}/signatures", caller=AUTH, operations=("Wallets:ReadSignature",),
              query=Obj(optional=PAGE))
def list_key_signatures(call: Call) -> Any:
    """List key signature requests."""
    key = _key(call)
    body = paginate(call, service.list_signatures(call.core, key, None), key=lambda r: r.id,
                    render=service.signature_view)
    return {"keyId": key.id, **body}


@routes.route("GET", "/keys/{keyId}/signatures/{signatureId}", caller=AUTH,
              operations=("Wallets:ReadSignature",))
def get_key_signature(call: Call) -> Any:
    """Get key signature request."""
    key = _key(call)
    return service.signature_view(service.get_signature(call.core, key, None,
                                                        call.params["signatureId"]))


@routes.route("POST", "/keys/{keyId}/export", caller=AUTH, user_action=True,
              operations=("Wallets:Export",), body=EXPORT_BODY)
def export_key(call: Call) -> Any:
    """Export key (off unless enabled)."""
    key = _key(call)
    service.require_owner(call.core, call.require_caller(), key, f"key {key.id}", "export")
    return export.export_key(call.core, key, call.body)


@routes.route("POST", "/keys/{keyId}/delegate", caller=AUTH, user_action=True,
              operations=("Wallets:Delegate",), body=DELEGATE_BODY)
def delegate_key(call: Call) -> Any:
    """Delegate a delayDelegation key to an end user."""
    key = _key(call)
    service.delegate(call.core, call.require_caller(), key, call.body["userId"])
    return {"keyId": key.id, "status": "Delegated"}
