"""Identities for the identity tests: humans logged in with a Key device, SAs with chosen ops."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from scenarios.client import DfnsApi, login, ok, register_delegated
from simulator import Simulator
from simulator.services import permissions
from simulator.services.service_accounts import create_service_account
from simulator.services.users import find_user
from simulator.verification.public_keys import load_public_key_pem
from virtual_authenticators import KeyAuthenticator

FULL = ("*",)


def not_permitted(kind: str, user_id: str, operation: str) -> str:
    return f"{kind} {user_id} is not authorized to perform operation ({operation})"


def error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["message"]


def grant(sim: Simulator, identity_id: str, operations: Iterable[str], kind: str = "User") -> str:
    core = sim.core
    permission = permissions.create_permission(core, org_id=sim.org_id,
                                               name=f"p-{core.new_id('x')}",
                                               operations=tuple(operations))
    permissions.assign(core, permission=permission, identity_id=identity_id, identity_kind=kind)
    return permission.id


def new_permission(sim: Simulator, operations: Iterable[str]) -> str:
    return permissions.create_permission(sim.core, org_id=sim.org_id,
                                         name=f"p-{sim.core.new_id('x')}",
                                         operations=tuple(operations)).id


@dataclass
class Human:
    api: DfnsApi
    user_id: str
    username: str
    device: KeyAuthenticator


def human(sim: Simulator, sa: DfnsApi, username: str, operations: Iterable[str] | None = FULL,
          kind: str = "CustomerEmployee") -> Human:
    """A registered user logged in with its own Key credential (a login token, not delegated)."""
    device = KeyAuthenticator()
    register_delegated(sa, username, device, kind=kind)
    user = find_user(sim.core, sim.org_id, username)
    assert user is not None
    if operations:
        grant(sim, user.id, operations)
    token = login(DfnsApi(sa.http), org_id=sim.org_id, username=username, device=device)
    return Human(sa.as_(token, device), user.id, username, device)


def pem_pair() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return public, private


def service_account_with(sim: Simulator, http: Any,
                         operations: Iterable[str]) -> tuple[DfnsApi, str]:
    public, private = pem_pair()
    issued = create_service_account(sim.core, org_id=sim.org_id, name=f"sa-{sim.core.new_id('x')}",
                                    public_key=load_public_key_pem(public))
    grant(sim, issued.user.id, operations, kind="ServiceAccount")
    signer = KeyAuthenticator(private_key=private, cred_id=issued.credential.cred_id)
    return DfnsApi(http, issued.access_token, signer), issued.user.id


def create_pat(owner: DfnsApi, name: str = "pat", **fields: Any) -> tuple[dict[str, Any], DfnsApi]:
    """A PAT of ``owner`` and a DfnsApi calling as it, signing with the PAT's own key."""
    device = KeyAuthenticator()
    body = {"name": name, "publicKey": device.public_key_pem, **fields}
    created = ok(owner.signed("POST", "/auth/pats", body))
    signer = KeyAuthenticator(private_key=device.private_key_pem, cred_id=created["credId"])
    return created, owner.as_(created["accessToken"], signer)
