"""The state holder every service works on: store, clock, randomness, token signer, config."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from simulator.clock import Clock
from simulator.config import SimulatorConfig
from simulator.errors import ApiError
from simulator.ids import Randomness
from simulator.models import Application, Org, OutboxMessage, evolve
from simulator.services.housekeeping import Housekeeper
from simulator.store import InMemoryStore, Store
from simulator.tokens import TokenSigner

# Time spent in signature verification during the current request (read by the HTTP skin
# for ``Server-Timing``). A context variable, so concurrent requests never mix their figures.
VERIFY_SECONDS: ContextVar[list[float] | None] = ContextVar("dfns_sim_verify_seconds", default=None)

# Secondary indexes the services query by. Index functions read entity attributes only.
INDEXES: dict[str, dict[str, Any]] = {
    "users": {"org_username": lambda u: (u.org_id, u.username.lower()), "org": lambda u: u.org_id},
    "credentials": {
        "user": lambda c: c.user_id,
        "org_cred_id": lambda c: (c.org_id, c.cred_id.rstrip("=")),
    },
    "tokens": {"user": lambda t: t.user_id or None, "app": lambda t: t.app_id or None},
    "apps": {"org": lambda a: a.org_id},
    "assignments": {
        "identity": lambda a: a.identity_id,
        "permission": lambda a: a.permission_id,
    },
    "permissions": {"org": lambda p: p.org_id},
    "outbox": {"org": lambda m: m.org_id},
    "codes": {"user": lambda c: c.user_id},
    # wallets (simulator/wallets)
    "wallet_keys": {"org": lambda k: k.org_id},
    "wallets": {
        "org": lambda w: w.org_id,
        "org_external": lambda w: (w.org_id, w.external_id) if w.external_id else None,
    },
    "signatures": {
        "key": lambda r: r.key_id,
        "org_external": lambda r: (r.org_id, r.external_id) if r.external_id else None,
    },
    # "position": one org's entry by sequence number, for dropping the oldest (audit retention)
    "audit": {"org": lambda e: e.org_id, "position": lambda e: f"{e.org_id}#{e.sequence}"},
    "user_groups": {"org": lambda g: g.org_id},
    "group_members": {"group": lambda m: m.group_id, "user": lambda m: m.user_id},
}


class _VerificationTimer:
    """A plain context manager: ``@contextmanager`` costs a generator per verification."""

    __slots__ = ("start",)

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        spent = VERIFY_SECONDS.get()
        if spent is not None:
            spent[0] += time.perf_counter() - self.start


class Core:
    """Everything a service needs; one per simulator instance, shared by both doors."""

    def __init__(
        self,
        config: SimulatorConfig,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or Clock()
        self.random = Randomness(config.seed)
        self.store: Store = store or InMemoryStore(INDEXES)
        self.tokens = TokenSigner(self.random.derive_secret("jwt"))
        self.housekeeper = Housekeeper(self)
        self.default_org_id: str = ""
        self.extensions: dict[str, Any] = {}
        # Values derived from a few tables, keyed by the tables' versions (InMemoryStore only).
        self.derived: dict[str, dict[Any, Any]] = {}

    def cached(self, name: str, key: Any, tables: tuple[str, ...],
               compute: Callable[..., Any], *args: Any) -> Any:
        """``compute(*args)``, reused while none of ``tables`` changed; always fresh on a store
        that cannot tell (a shared store another process may write to)."""
        versions = getattr(self.store, "versions", None)
        if versions is None:
            return compute(*args)
        stamp = versions(tables)  # read before computing: a write during compute() bumps it
        memo = self.derived.setdefault(name, {})
        hit = memo.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = compute(*args)
        if len(memo) >= 10_000:
            memo.clear()
        memo[key] = (stamp, value)
        return value

    # -- small helpers used everywhere ------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def new_id(self, prefix: str) -> str:
        return self.random.new_id(prefix)

    def new_challenge(self) -> str:
        from simulator.encoding import b64url_encode

        return b64url_encode(("ch-" + self.new_id("x")[2:]).encode())

    def timed_verification(self) -> _VerificationTimer:
        """``with core.timed_verification():`` adds the block's time to the request's
        ``Server-Timing: verify`` figure."""
        return _VerificationTimer()

    def org(self, org_id: str) -> Org | None:
        return self.store.get("orgs", org_id)

    def default_app(self, org_id: str) -> Application:
        for app in self.store.find("apps", "org", org_id):
            if app.is_default and app.is_active and not app.is_archived:
                return app
        raise ApiError(401, "application not found or inactive")

    def send_mail(
        self, *, org_id: str, to: str, kind: str, subject: str, body: str,
        code: str | None = None, user_id: str = "",
    ) -> OutboxMessage:
        message = OutboxMessage(
            id=self.new_id("em"), org_id=org_id, to=to, kind=kind, subject=subject,
            body=body, code=code, user_id=user_id, date_sent=self.now(),
        )
        self.store.put("outbox", message.id, message)
        return message

    def outbox(self, org_id: str | None = None) -> list[OutboxMessage]:
        rows = (self.store.scan("outbox") if org_id is None
                else self.store.find("outbox", "org", org_id))
        return sorted(rows, key=lambda m: m.date_sent)

    def replace(self, table: str, key: str, entity: Any, **changes: Any) -> Any:
        updated = evolve(entity, **changes)
        self.store.put(table, key, updated)
        return updated
