"""The public face: ``Simulator`` — the whole auth system in process, with two doors.

>>> sim = Simulator()
>>> boot = sim.bootstrap()           # org, default app, service account + its private key
>>> client = sim.client()            # httpx.Client driving the ASGI app in-process
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from simulator import wallets
from simulator.admin import Control, FaultRegistry, Journal, SimulatorApp
from simulator.clock import Clock
from simulator.config import SimulatorConfig
from simulator.http.app import build_app
from simulator.http.routes import ALL_TABLES
from simulator.http.routing import RouteSpec
from simulator.services import audit, recovery, user_groups
from simulator.services import bootstrap as bootstrap_service
from simulator.services.core import Core
from simulator.store import Store
from simulator.transport import InProcessTransport
from simulator.verification.public_keys import load_public_key_pem

INPROCESS_BASE_URL = "http://dfns-sim.inprocess"


class Simulator:
    """An in-process Dfns auth simulator. ``app`` is its ASGI application."""

    def __init__(self, config: SimulatorConfig | None = None, *, store: Store | None = None,
                 clock: Clock | None = None, admin: bool = True, admin_token: str | None = None,
                 journal_size: int = 500, **settings: Any) -> None:
        base = config or SimulatorConfig()
        self.config = replace(base, **settings) if settings else base
        self.core = Core(self.config, store=store, clock=clock)
        wallets.install(self.core)  # end-user registration hook, signer network
        audit.install(self.core)  # the user-action audit log hooks into every endpoint
        user_groups.install(self.core)  # group permissions count for their members
        recovery.install(self.core)  # a recovery's wallet lock stops wallet signing
        self.routes: list[RouteSpec] = [spec for table in ALL_TABLES for spec in table.routes]
        self.dfns_app = build_app(self.core, self.routes)
        # Control plane (simulator/admin): /_sim/ routes, faults + journal around the Dfns app.
        self.control = Control(self.core, owner=self, journal_size=journal_size)
        self.app = SimulatorApp(self.dfns_app, self.control, self.routes,
                                admin_enabled=admin, admin_token=admin_token)
        self.base_url = INPROCESS_BASE_URL
        self._bootstrap: dict[str, Any] | None = None
        with self._core_section():
            self._ensure_org()
        self.control.capture_baseline()

    # -- state ---------------------------------------------------------------------------
    @property
    def clock(self) -> Clock:
        return self.core.clock

    @property
    def org_id(self) -> str:
        return self.core.default_org_id

    def _ensure_org(self) -> None:
        if self.core.default_org_id and self.core.org(self.core.default_org_id):
            return
        org, _ = bootstrap_service.create_org(self.core, name=self.config.org_name,
                                              rp_id=self.config.rp_id, origin=self.config.origin,
                                              app_name=self.config.app_name)
        self.core.default_org_id = org.id
        self._save_core()

    @contextmanager
    def _core_section(self) -> Iterator[None]:
        """Persistent stores (SqliteStore): reload the saved org, JWT secret and bootstrap, and
        create missing ones in one store transaction, so processes sharing a file agree."""
        restore = getattr(self.core.store, "restore_core", None)
        if restore is None:
            yield
            return
        with self.core.store.transaction():
            restore(self)
            yield

    def _save_core(self) -> None:
        save = getattr(self.core.store, "save_core_meta", None)
        if save is not None:
            from simulator.persistence.codec import core_meta

            save(core_meta(self))

    def bootstrap(self) -> dict[str, Any]:
        """The bootstrap identity (DESIGN.md contract); created once, then returned as is."""
        if self._bootstrap is not None:
            return self._bootstrap
        with self._core_section():
            if self._bootstrap is None:
                self._bootstrap = self._create_bootstrap()
                self._save_core()
        self.control.capture_baseline()  # reset() keeps the bootstrap identity working
        return self._bootstrap

    def _create_bootstrap(self) -> dict[str, Any]:
        private_key = ec.generate_private_key(ec.SECP256R1())
        private_pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
        public_pem = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        issued = bootstrap_service.bootstrap_service_account(
            self.core, self.org_id, load_public_key_pem(public_pem))
        app = self.core.default_app(self.org_id)
        return {
            "baseUrl": self.base_url,
            "orgId": self.org_id,
            "appId": app.id,
            "rpId": app.rp_id,
            "origin": app.origin,
            "serviceAccount": {
                "userId": issued.user.id,
                "tokenId": issued.token.id,
                "accessToken": issued.access_token,
                "credentialId": issued.credential.cred_id,
                "credentialUuid": issued.credential.uuid,
                "privateKeyPem": private_pem,
            },
        }

    # -- doors ---------------------------------------------------------------------------
    def client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` whose requests run in this thread against ``app``."""
        kwargs.setdefault("base_url", INPROCESS_BASE_URL)
        return httpx.Client(transport=InProcessTransport(self.app), **kwargs)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Any:
        """A loopback ``ThreadedServer`` sharing this state: ``with sim.serve() as server:``
        (or ``.start()`` / ``.stop()``); ``port=0`` picks a free port."""
        from simulator.server import ThreadedServer

        return ThreadedServer(self.app, host=host, port=port)

    # -- control plane (the Python twin of /_sim/...) ----------------------------------
    @property
    def faults(self) -> FaultRegistry:
        """Scheduled failures.

        ``sim.faults.add("error", path="/auth/login", status=503, times=1)``.
        """
        return self.control.faults

    @property
    def journal(self) -> Journal:
        """Masked request journal.

        ``sim.journal(limit=10)`` reads, ``sim.journal.clear()`` empties.
        """
        return self.control.journal

    def reset(self, org_id: str | None = None) -> dict[str, Any]:
        """Back to the state right after bootstrap (or reset one org).

        Faults, journal and clock are reset too.
        """
        return self.control.reset(org_id)

    def snapshot(self) -> dict[str, Any]:
        """The whole state as one JSON-compatible document (simulator.persistence.codec)."""
        return self.control.snapshot()

    def restore(self, document: dict[str, Any]) -> None:
        """Replace the whole state with a :meth:`snapshot` document."""
        self.control.restore(document)

    def seed(self, seed: int | None) -> None:
        """Deterministic ids, codes and fault rolls from here on (``None``: truly random)."""
        self.control.seed(seed)

    def outbox(self, to: str | None = None, *, kind: str | None = None, org_id: str | None = None,
               user_id: str | None = None) -> list[dict[str, Any]]:
        """E-mails the system would have sent (registration, login, recovery codes)."""
        return self.control.outbox(to=to, kind=kind, org_id=org_id, user_id=user_id)

    def clear_outbox(self, to: str | None = None, *, kind: str | None = None,
                     org_id: str | None = None, user_id: str | None = None) -> int:
        """Delete (matching) e-mails; returns how many."""
        return self.control.clear_outbox(to=to, kind=kind, org_id=org_id, user_id=user_id)

    def last_code(self, to: str, kind: str | None = None) -> str:
        """The newest code e-mailed to ``to`` (optionally of one kind)."""
        for message in reversed(self.outbox(to)):
            if message["code"] and (kind is None or message["kind"] == kind):
                return str(message["code"])
        raise LookupError(f"no code has been sent to {to}")
