"""What a scenario runs on: a client, the bootstrap identity, and a step log.

A scenario is a plain function ``scenario(stage) -> None``. ``Stage`` wraps any httpx client
(in-process or a URL), the bootstrap service account and, when the target is the embedded
simulator, the simulator itself (for the e-mail outbox). Every step is printed (when
``echo``) and recorded, so tests, the CLI and customers see the same story.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from scenarios.client import (
    DfnsApi,
    cannot_reach,
    delegated_login,
    error_text,
    register_delegated,
    service_account_api,
)
from virtual_authenticators import authenticator_for


@dataclass
class User:
    """An actor: a username and the authenticators they hold, plus their current session."""

    username: str
    device: Any
    user_id: str = ""
    token: str = ""
    api: DfnsApi | None = None
    recovery: Any = None

    @property
    def session(self) -> DfnsApi:
        """The client of the current session (``Stage.delegated_login`` sets it)."""
        if self.api is None:
            raise RuntimeError(f"{self.username} has no session: log in first")
        return self.api


@dataclass
class Stage:
    http: httpx.Client
    boot: dict[str, Any]
    sim: Any = None
    echo: bool = True
    steps: list[str] = field(default_factory=list)
    _mail_checked: bool = field(default=False, init=False, repr=False)
    _mail_problem: str | None = field(default=None, init=False, repr=False)

    @classmethod
    def inprocess(cls, echo: bool = True) -> Stage:
        from simulator import Simulator

        sim = Simulator()
        return cls(sim.client(timeout=30), sim.bootstrap(), sim, echo)

    @classmethod
    def remote(cls, url: str, bootstrap_file: str, echo: bool = True) -> Stage:
        boot = json.loads(Path(bootstrap_file).read_text())
        return cls(httpx.Client(base_url=url, timeout=30), boot, None, echo)

    # -- narration ---------------------------------------------------------------------------
    def step(self, text: str) -> None:
        self.steps.append(text)
        if self.echo:
            print(f"  {len(self.steps):>2}. {text}", flush=True)

    # -- identities --------------------------------------------------------------------------
    @property
    def sa(self) -> DfnsApi:
        return service_account_api(self.http, self.boot)

    @property
    def anon(self) -> DfnsApi:
        return DfnsApi(self.http)

    @property
    def origin(self) -> str:
        return str(self.boot.get("origin", "http://localhost:3000"))

    @property
    def org_id(self) -> str:
        return str(self.boot["orgId"])

    def username(self, prefix: str = "user") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}@scenario.test"

    def device(self, kind: str, username: str = "", **knobs: Any) -> Any:
        if kind in ("PasswordProtectedKey", "RecoveryKey"):
            knobs.setdefault("iterations", 1000)
        return authenticator_for(kind, origin=knobs.pop("origin", self.origin), username=username,
                                 password="scenario password", **knobs)

    def registered_user(self, kind: str = "Key", *, recovery: bool = False,
                        user_kind: str = "EndUser") -> User:
        username = self.username(kind.lower())
        device = self.device(kind, username)
        rk = self.device("RecoveryKey", username) if recovery else None
        result = register_delegated(self.sa, username, device, kind=user_kind, recovery=rk)
        self.step(f"delegated registration of {username} with a {kind} credential"
                  + (" and a RecoveryKey" if rk else "") + f" -> {result['user']['id']}")
        user = User(username, device, result["user"]["id"], recovery=rk)
        return self.delegated_login(user)

    def delegated_login(self, user: User) -> User:
        user.token = delegated_login(self.sa, user.username)
        user.api = DfnsApi(self.http, user.token, user.device)
        self.step(f"delegated login of {user.username} (service account signs the user action)")
        return user

    def reads_mail(self) -> bool:
        """True when e-mailed codes can be read: in process, or through the admin API of a
        ``dfns-sim serve`` target (``GET /_sim/outbox``; ``DFNS_SIM_ADMIN_TOKEN`` if it needs
        one). A real Dfns deployment sends real e-mail, which a scenario cannot read."""
        return self.mail_problem() is None

    def mail_problem(self) -> str | None:
        """Why e-mailed codes cannot be read here, in one line, or None (asked once)."""
        if self.sim is not None:
            return None
        if not self._mail_checked:
            self._mail_problem = self._outbox_problem()
            self._mail_checked = True
        return self._mail_problem

    def _outbox_problem(self) -> str | None:
        try:
            response = self.http.get("/_sim/outbox", params={"limit": 0},
                                     headers=self._admin_headers())
        except httpx.HTTPError as exc:
            return cannot_reach(str(self.http.base_url).rstrip("/"), exc)
        if response.status_code == 200:
            return None
        if response.status_code == 401:
            if os.environ.get("DFNS_SIM_ADMIN_TOKEN"):
                return ("GET /_sim/outbox answered 401: DFNS_SIM_ADMIN_TOKEN is not the "
                        "server's --admin-token")
            return ("GET /_sim/outbox answered 401: set DFNS_SIM_ADMIN_TOKEN to the server's "
                    "--admin-token")
        if response.status_code == 404:  # no admin API: a real deployment or serve --no-admin
            return MAIL_NEEDED
        return f"GET /_sim/outbox answered {error_text(response)}"

    def last_code(self, to: str) -> str:
        if self.sim is not None:
            return str(self.sim.last_code(to))
        problem = self.mail_problem()
        if problem is not None:
            raise RuntimeError(problem)
        items = self.http.get("/_sim/outbox", params={"to": to},
                              headers=self._admin_headers()).json()["items"]
        for message in reversed(items):
            if message.get("code"):
                return str(message["code"])
        raise LookupError(f"no code has been sent to {to}")

    @staticmethod
    def _admin_headers() -> dict[str, str]:
        token = os.environ.get("DFNS_SIM_ADMIN_TOKEN")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def expiration(self, seconds: float = 50) -> str:
        now = self.sim.clock.now() if self.sim is not None else dt.datetime.now(dt.UTC).timestamp()
        return dt.datetime.fromtimestamp(now + seconds, dt.UTC).isoformat().replace("+00:00", "Z")


Scenario = Callable[[Stage], None]
MAIL_NEEDED = ("this scenario reads an e-mailed code: run it in-process, or against a dfns-sim "
               "server with its admin API on (it reads GET /_sim/outbox)")
