"""Who is calling: bearer tokens (login, PAT, service account, temporary) and their records.

A token is a signed JWT naming a server-side record; the record decides whether it still
works (logout, deactivation, archival, recovery and expiry all revoke server-side).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator import errors
from simulator.errors import ApiError
from simulator.models import (
    TOKEN_LOGIN,
    AccessToken,
    Application,
    Challenge,
    User,
    evolve,
)
from simulator.services.core import Core
from simulator.tokens import APP_METADATA, USERNAME_CLAIM

AUDIENCE = "dfns:auth:user"


@dataclass(frozen=True, kw_only=True)
class Caller:
    """An authenticated identity: the user (or service account) and the token it presented."""

    user: User
    token: AccessToken

    @property
    def org_id(self) -> str:
        return self.user.org_id

    @property
    def is_service_account(self) -> bool:
        return self.user.is_service_account

    @property
    def is_token_credential(self) -> bool:
        """PAT and service-account tokens sign only with their own key credential."""
        return self.token.kind in ("Pat", "ServiceAccount")


def issue_jwt(core: Core, *, org_id: str, user: User | None, token_id: str, kind: str,
              expires_at: float, extra: dict | None = None) -> str:
    now = core.now()
    metadata = {"orgId": org_id, "tokenKind": kind, "tokenId": token_id}
    if user is not None:
        metadata["userId"] = user.id
    claims = {
        "iss": core.config.issuer,
        "aud": AUDIENCE,
        "sub": org_id,
        "iat": int(now),
        "exp": int(expires_at) if expires_at else int(now + 3600),
        "jti": token_id,
        APP_METADATA: metadata,
    }
    if user is not None:
        claims[USERNAME_CLAIM] = user.username
    if extra:
        claims.update(extra)
        return core.tokens.issue(claims)
    return core.tokens.issue(claims, plain=type(user.username) is str if user else True)


def issue_access_token(core: Core, record: AccessToken, user: User | None) -> str:
    core.store.put("tokens", record.id, record)
    return issue_jwt(core, org_id=record.org_id, user=user, token_id=record.id,
                     kind=record.kind, expires_at=record.expires_at)


OIDC_SESSION = "oidc-login"  # the name of a session opened by POST /auth/login/oidc


def new_login_session(core: Core, user: User, *, app: Application,
                      delegated_by: str | None = None, name: str = "") -> str:
    """Create a login session record and its bearer token."""
    now = core.now()
    record = AccessToken(
        id=core.new_id("to"), org_id=user.org_id, kind=TOKEN_LOGIN, user_id=user.id,
        app_id=app.id, expires_at=now + core.config.lifetimes.login_token,
        delegated_by=delegated_by, date_created=now, name=name,
    )
    return issue_access_token(core, record, user)


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _fallback_caller(core: Core) -> Caller:
    """Mutant behaviour (``auth.bearer`` / ``token.signature`` off, TEST-ONLY): the request runs
    as the org's first active service account (the bootstrap one), as a server that forgot to
    authenticate would; with no such account it is still refused."""
    for record in core.store.scan("tokens"):
        user = core.store.get("users", record.user_id)
        if record.is_active and not record.is_archived and user is not None \
                and user.is_service_account and user.is_active and not user.is_archived \
                and user.org_id == core.default_org_id:
            return Caller(user=user, token=record)
    raise errors.unauthorized()


def resolve_caller(core: Core, authorization: str | None) -> Caller:
    """The caller of an authenticated endpoint, or 401 ``Not Authorized.``."""
    token_text = _bearer(authorization)
    policy = core.config.policy
    if token_text is None:
        if not policy.on("auth.bearer"):
            return _fallback_caller(core)
        raise errors.unauthorized()
    now = core.now()
    expiry_on = policy.on("token.expiry")
    claims = core.tokens.decode(token_text, now=now if expiry_on else float("-inf"))
    if claims is None:
        if not policy.on("token.signature"):
            return _fallback_caller(core)
        raise errors.unauthorized()
    meta = claims.get(APP_METADATA) or {}
    if meta.get("tokenKind") in ("Temp", "Recovery", "Code"):
        if policy.on("token.kind"):
            raise errors.unauthorized()
        return _session_as_caller(core, str(claims.get("jti")))
    record: AccessToken | None = core.store.get("tokens", str(claims.get("jti")))
    if record is None:
        raise errors.unauthorized()
    if (not record.is_active or record.is_archived) and policy.on("token.active"):
        raise errors.unauthorized()
    if record.expires_at and record.expires_at <= now and expiry_on:
        raise errors.unauthorized()
    user: User | None = core.store.get("users", record.user_id)
    if user is None:
        raise errors.unauthorized()
    if (user.is_archived or not user.is_active) and policy.on("user.active"):
        raise errors.unauthorized()
    if record.parent_token_id and policy.on("token.active"):
        parent = core.store.get("tokens", record.parent_token_id)
        if parent is None or not parent.is_active or parent.is_archived:
            raise errors.unauthorized()
    if record.delegated_by and policy.on("token.active"):
        sa = core.store.get("users", record.delegated_by)
        if sa is None or not sa.is_active or sa.is_archived:
            raise errors.unauthorized()
    return Caller(user=user, token=record)


def _session_as_caller(core: Core, challenge_id: str) -> Caller:
    """Mutant behaviour (``token.kind`` off, TEST-ONLY): a temporary token acts as a session
    of the user whose registration / recovery it opened (a transient record, never stored)."""
    challenge: Challenge | None = core.store.get("challenges", challenge_id)
    user: User | None = core.store.get("users", challenge.user_id) if challenge else None
    if challenge is None or user is None:
        raise errors.unauthorized()
    return Caller(user=user, token=AccessToken(id=challenge.id, org_id=user.org_id, kind="Temp",
                                               user_id=user.id, expires_at=challenge.expires_at))


def _open_session_of_org(core: Core, org_id: str, kinds: tuple[str, ...]) -> Challenge:
    """Mutant behaviour (``token.kind`` off, TEST-ONLY): a normal token stands in for a temp
    token, and the org's newest open session of the wanted kinds is the one it names."""
    now = core.now()
    open_sessions = [c for c in core.store.scan("challenges")
                     if c.org_id == org_id and c.kind in kinds and not c.used
                     and c.expires_at > now]
    if not open_sessions:
        raise errors.unauthorized()
    return max(open_sessions, key=lambda c: c.expires_at)


def resolve_temp_token(core: Core, authorization: str | None, *,
                       kinds: tuple[str, ...]) -> Challenge:
    """The registration / recovery session named by a ``temporaryAuthenticationToken``."""
    token_text = _bearer(authorization)
    if token_text is None:
        raise errors.unauthorized()
    policy = core.config.policy
    now = core.now()
    expiry_on = policy.on("challenge.expiry")
    claims = core.tokens.decode(token_text, now=now if expiry_on else float("-inf"))
    if claims is None:
        raise errors.unauthorized()
    meta = claims.get(APP_METADATA) or {}
    if meta.get("tokenKind") not in ("Temp", "Recovery"):
        if policy.on("token.kind"):
            raise errors.unauthorized()
        return _open_session_of_org(core, str(meta.get("orgId")), kinds)
    challenge: Challenge | None = core.store.get("challenges", str(claims.get("jti")))
    if challenge is None:
        raise errors.unauthorized()
    if challenge.kind not in kinds and policy.on("challenge.kind"):
        raise errors.unauthorized()
    if challenge.used and policy.on("challenge.single_use"):
        raise errors.unauthorized()
    if challenge.expires_at <= now and expiry_on:
        raise errors.unauthorized()
    return challenge


def challenge_token(core: Core, challenge: Challenge, *, temp: bool = False) -> str:
    """``challengeIdentifier`` / ``temporaryAuthenticationToken`` for a challenge session."""
    kind = ("Recovery" if challenge.kind == "recovery" else "Temp") if temp else "Challenge"
    user = core.store.get("users", challenge.user_id)
    return issue_jwt(core, org_id=challenge.org_id, user=user, token_id=challenge.id,
                     kind=kind, expires_at=challenge.expires_at)


def resolve_challenge(core: Core, identifier: str, *, kind: str) -> Challenge:
    """A live challenge named by a ``challengeIdentifier``; 400 otherwise."""
    policy = core.config.policy
    now = core.now()
    expiry_on = policy.on("challenge.expiry")
    claims = (core.tokens.decode(identifier, now=now if expiry_on else float("-inf"))
              if isinstance(identifier, str) else None)
    if claims is None:
        raise ApiError(400, errors.CHALLENGE_INVALID)
    challenge: Challenge | None = core.store.get("challenges", str(claims.get("jti")))
    if challenge is None:
        raise ApiError(400, errors.CHALLENGE_INVALID)
    if challenge.kind != kind and policy.on("challenge.kind"):
        raise ApiError(400, errors.CHALLENGE_INVALID)
    if challenge.used and policy.on("challenge.single_use"):
        raise ApiError(400, errors.CHALLENGE_INVALID)
    if challenge.expires_at <= now and expiry_on:
        raise ApiError(400, errors.CHALLENGE_INVALID)
    return challenge


def consume_challenge(core: Core, challenge: Challenge, *, temp: bool = False) -> None:
    """Mark a challenge used exactly once; a concurrent second completion is rejected.

    Sessions named by a temporary bearer token answer 401 like any dead bearer; sessions named
    by a ``challengeIdentifier`` answer 400 ``Challenge token is not valid.``.
    """
    policy = core.config.policy
    with core.store.transaction() as tx:
        current = tx.get("challenges", challenge.id)
        if current is None \
                or (current.used and policy.on("challenge.single_use")) \
                or (current.expires_at <= core.now() and policy.on("challenge.expiry")):
            raise errors.unauthorized() if temp else ApiError(400, errors.CHALLENGE_INVALID)
        tx.put("challenges", challenge.id, evolve(current, used=True))
