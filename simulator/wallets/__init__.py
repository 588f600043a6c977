"""Wallets, keys and signatures over a simulated threshold signer network.

``install(core)`` wires the package into a simulator core: the end-user registration hook
(``core.extensions["on_end_user_registered"]``) and a validator the registration service may
call before committing (``core.extensions["validate_end_user_wallets"]``). The admin API
exposes :func:`set_signer_available` and :func:`signer_status` under ``/_sim/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from simulator.errors import ApiError
from simulator.models import User
from simulator.services import permissions
from simulator.services.core import Core
from simulator.wallets.export import set_export_enabled
from simulator.wallets.networks import network_info
from simulator.wallets.signers import configure as configure_signer_network
from simulator.wallets.signers import set_signer_available, signer_status


def validate_end_user_wallets(core: Core, wallet_specs: Sequence[Mapping[str, Any]]) -> None:
    """Reject unsupported networks (400) and an unreachable signer network (503) up front."""
    for index, spec in enumerate(wallet_specs):
        try:
            network_info(spec["network"])
        except ApiError as exc:
            exc.details = {**exc.details, "field": f"wallets[{index}].network"}
            raise
    if wallet_specs and not signer_status(core)["canSign"]:
        from simulator.wallets.signers import _require_quorum

        _require_quorum(core)


def on_end_user_registered(core: Core, user: User,
                           wallet_specs: Sequence[Mapping[str, Any]]) -> list[dict]:
    """``POST /auth/registration/enduser``: default end-user permission + one owned wallet per
    spec."""
    from simulator.wallets import service

    default = permissions.managed_permission(core, user.org_id, permissions.DEFAULT_END_USER)
    if default is not None:
        permissions.assign(core, permission=default, identity_id=user.id, identity_kind="User")
    validate_end_user_wallets(core, wallet_specs)
    out = []
    for spec in wallet_specs:
        body = {k: v for k, v in spec.items() if k in ("network", "name", "tags", "externalId")}
        wallet = service.create_wallet(core, org_id=user.org_id, body=body, caller=None,
                                       owner_id=user.id)
        out.append(service.wallet_view(core, wallet))
    return out


def install(core: Core) -> None:
    core.extensions["on_end_user_registered"] = on_end_user_registered
    core.extensions["validate_end_user_wallets"] = validate_end_user_wallets
    core.extensions["signer_status"] = signer_status
    core.extensions["set_signer_available"] = set_signer_available


__all__ = ["configure_signer_network", "install", "on_end_user_registered", "set_export_enabled",
           "set_signer_available", "signer_status", "validate_end_user_wallets"]
