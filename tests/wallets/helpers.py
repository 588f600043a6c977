"""Shared flows and independent verifiers for the wallet tests (cryptography only)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from scenarios.client import DfnsApi, delegated_login, ok, register_delegated
from virtual_authenticators import PasskeyAuthenticator


def end_user(sa: DfnsApi, bootstrap: dict[str, Any], username: str,
             wallets: list[dict[str, Any]] | None = None) -> tuple[DfnsApi, dict[str, Any]]:
    """Delegated registration with wallets (a passkey), then delegated login: the user's API."""
    device = PasskeyAuthenticator(origin=bootstrap["origin"])
    result = register_delegated(sa, username, device, path="/auth/registration/enduser",
                                extra={"wallets": wallets if wallets is not None else
                                       [{"network": "EthereumSepolia", "name": "main"}]})
    return sa.as_(delegated_login(sa, username), device), result


def verify_ecdsa(public_key_hex: str, digest: bytes, signature: dict[str, Any]) -> None:
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(),
                                                          bytes.fromhex(public_key_hex))
    der = encode_dss_signature(int(signature["r"], 16), int(signature["s"], 16))
    public.verify(der, digest, ec.ECDSA(Prehashed(hashes.SHA256())))


def verify_eddsa(public_key_hex: str, message: bytes, signature: dict[str, Any]) -> None:
    raw = bytes.fromhex(signature["r"][2:]) + bytes.fromhex(signature["s"][2:])
    ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(raw, message)


def sign_hash(api: DfnsApi, wallet_id: str, digest: bytes, **extra: Any) -> Any:
    return api.signed("POST", f"/wallets/{wallet_id}/signatures",
                      {"kind": "Hash", "hash": "0x" + digest.hex(), **extra})


def error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["message"]


__all__ = ["end_user", "error", "ok", "sign_hash", "verify_ecdsa", "verify_eddsa"]
