"""Identities with chosen permissions, made directly through the services (test set-up only)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from simulator import Simulator
from simulator.models import Application
from simulator.services import permissions
from simulator.services.service_accounts import create_service_account
from simulator.verification.public_keys import load_public_key_pem
from virtual_authenticators import KeyAuthenticator


@dataclass
class Identity:
    user_id: str
    token: str
    signer: KeyAuthenticator


def grant(sim: Simulator, identity_id: str, operations: Iterable[str],
          kind: str = "ServiceAccount") -> None:
    core = sim.core
    permission = permissions.create_permission(core, org_id=sim.org_id,
                                               name=f"p-{core.new_id('x')}",
                                               operations=tuple(operations))
    permissions.assign(core, permission=permission, identity_id=identity_id, identity_kind=kind)


def service_account_with(sim: Simulator, operations: Iterable[str]) -> Identity:
    """A service account holding exactly ``operations``."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    issued = create_service_account(sim.core, org_id=sim.org_id, name=f"sa-{sim.core.new_id('x')}",
                                    public_key=load_public_key_pem(pem))
    grant(sim, issued.user.id, operations)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    signer = KeyAuthenticator(private_key=private_pem, cred_id=issued.credential.cred_id)
    return Identity(issued.user.id, issued.access_token, signer)


def app_with(sim: Simulator, operations: Iterable[str]) -> Application:
    """An active client-side application of the default org holding exactly ``operations``."""
    core = sim.core
    default = core.default_app(sim.org_id)
    app = Application(id=core.new_id("ap"), org_id=sim.org_id, name=f"app-{core.new_id('x')}",
                      kind="ClientSideApplication", rp_id=default.rp_id, origin=default.origin,
                      date_created=core.now())
    core.store.put("apps", app.id, app)
    grant(sim, app.id, operations, kind="Application")
    return app


def all_operations_but(operation: str) -> list[str]:
    return [op for op in permissions.known_operations() if op != operation
            and operation not in permissions.SDK_ALIASES.get(op, ())]
