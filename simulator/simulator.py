"""The public face: ``Simulator`` — the whole auth system in process, with two doors.

>>> sim = Simulator()
>>> boot = sim.bootstrap()           # org, default app, service account + its private key
>>> client = sim.client()            # httpx.Client driving the ASGI app in-process
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from simulator.clock import Clock
from simulator.config import SimulatorConfig
from simulator.http.app import build_app
from simulator.http.routes import ALL_TABLES
from simulator.http.routing import RouteSpec
from simulator.services import bootstrap as bootstrap_service
from simulator.services.core import Core
from simulator.store import Store
from simulator.transport import InProcessTransport
from simulator.verification.public_keys import load_public_key_pem

INPROCESS_BASE_URL = "http://dfns-sim.inprocess"


class Simulator:
    """An in-process Dfns auth simulator. ``app`` is its ASGI application."""

    def __init__(self, config: SimulatorConfig | None = None, *, store: Store | None = None,
                 clock: Clock | None = None, **settings: Any) -> None:
        base = config or SimulatorConfig()
        self.config = replace(base, **settings) if settings else base
        self.core = Core(self.config, store=store, clock=clock)
        self.routes: list[RouteSpec] = [spec for table in ALL_TABLES for spec in table.routes]
        self.app = build_app(self.core, self.routes)
        self.base_url = INPROCESS_BASE_URL
        self._bootstrap: dict[str, Any] | None = None
        self._ensure_org()

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

    def bootstrap(self) -> dict[str, Any]:
        """The bootstrap identity (DESIGN.md contract); created once, then returned as is."""
        if self._bootstrap is not None:
            return self._bootstrap
        private_key = ec.generate_private_key(ec.SECP256R1())
        private_pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
        public_pem = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        issued = bootstrap_service.bootstrap_service_account(
            self.core, self.org_id, load_public_key_pem(public_pem))
        app = self.core.default_app(self.org_id)
        self._bootstrap = {
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
        return self._bootstrap

    # -- doors ---------------------------------------------------------------------------
    def client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` whose requests run in this thread against ``app``."""
        kwargs.setdefault("base_url", INPROCESS_BASE_URL)
        return httpx.Client(transport=InProcessTransport(self.app), **kwargs)

    def outbox(self, to: str | None = None) -> list[dict[str, Any]]:
        """E-mails the system would have sent (registration, login, recovery codes)."""
        messages = self.core.outbox()
        return [
            {"id": m.id, "to": m.to, "kind": m.kind, "subject": m.subject, "body": m.body,
             "code": m.code, "userId": m.user_id, "orgId": m.org_id}
            for m in messages if to is None or m.to.lower() == to.lower()
        ]

    def last_code(self, to: str, kind: str | None = None) -> str:
        """The newest code e-mailed to ``to`` (optionally of one kind)."""
        for message in reversed(self.outbox(to)):
            if message["code"] and (kind is None or message["kind"] == kind):
                return str(message["code"])
        raise LookupError(f"no code has been sent to {to}")
