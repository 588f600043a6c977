"""Wallet-side entities: keys, wallets, signature requests, simulated signers and key shares.

Frozen like every entity of the simulator; services replace them with ``dataclasses.replace``.
A :class:`Key` holds only public material: its private part exists nowhere but as the
:class:`KeyShare` rows the simulated signers hold (see :mod:`simulator.wallets.signers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ECDSA, EDDSA = "ECDSA", "EdDSA"
SECP256K1, ED25519 = "secp256k1", "ed25519"


@dataclass(frozen=True, kw_only=True)
class Key:
    id: str  # key-…
    org_id: str
    scheme: str
    curve: str
    public_key: str  # hex; compressed 33-byte for secp256k1, 32-byte for ed25519
    owner_id: str = ""  # end user owning the key ("" = custodial, the org's)
    delay_delegation: bool = False
    name: str | None = None
    status: str = "Active"
    exported: bool = False
    date_exported: float | None = None
    created_by: str = ""
    date_created: float = 0.0

    @property
    def custodial(self) -> bool:
        return not self.owner_id


@dataclass(frozen=True, kw_only=True)
class Wallet:
    id: str  # wa-…
    org_id: str
    network: str
    key_id: str
    address: str | None = None
    name: str | None = None
    tags: tuple[str, ...] = ()
    external_id: str | None = None
    status: str = "Active"
    date_created: float = 0.0


@dataclass(frozen=True, kw_only=True)
class SignatureRequest:
    id: str  # sig-…
    org_id: str
    key_id: str
    wallet_id: str | None
    network: str | None
    requester: dict[str, str]
    request_body: dict[str, Any]
    status: str
    signature: dict[str, Any] = field(default_factory=dict)
    signed_data: str | None = None
    external_id: str | None = None
    date_requested: float = 0.0
    date_signed: float | None = None


@dataclass(frozen=True, kw_only=True)
class Signer:
    """One simulated signer node; ``index`` is also its Shamir x-coordinate."""

    index: int
    id: str
    available: bool = True


@dataclass(frozen=True, kw_only=True)
class KeyShare:
    key_id: str
    signer_index: int
    value: int  # Shamir y-coordinate at x = signer_index
