"""Applications (endpoints.md §9): client-side apps (rpId + origin for passkeys) and
server-side apps (a key pair and an app token the caller must present as X-DFNS-APPSECRET).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

from simulator import errors
from simulator.errors import ApiError
from simulator.models import (
    KEY,
    SERVER_SIDE_APPLICATION,
    TOKEN_APPLICATION,
    AccessToken,
    Application,
    AppSecret,
    Credential,
    evolve,
)
from simulator.services.core import Core
from simulator.services.identity import Caller, issue_access_token
from simulator.services.service_accounts import (
    access_token_info,
    grant,
    token_credential_id,
    validity_seconds,
)
from simulator.verification.public_keys import load_public_key_pem

APP_NAME_TAKEN = "an application with this name already exists"
APP_SECRET_INVALID = "application secret is missing or invalid"
PUBLIC_KEY_REQUIRED = "publicKey is required for a ServerSideApplication"


# -- the X-DFNS-APPSECRET check (called by the HTTP skin for server-side apps) -----------------
def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def check_app_secret(core: Core, app: Application, secret: str | None) -> None:
    """401 unless ``secret`` is a live app token of ``app``; compared in constant time."""
    if app.kind != SERVER_SIDE_APPLICATION or not core.config.policy.on("app.secret"):
        return
    presented = _digest(secret.strip()) if secret else b""
    matched = False
    now = core.now()
    for token in core.store.find("tokens", "app", app.id):
        stored: AppSecret | None = core.store.get("app_secrets", token.id)
        if stored is None:
            continue
        # Compare against every candidate (no early exit) so timing says nothing useful.
        same = hmac.compare_digest(stored.digest, presented)
        live = token.is_active and not token.is_archived and token.expires_at > now
        matched |= same and live
    if not matched:
        raise errors.unauthorized(APP_SECRET_INVALID)


# -- lookups and rendering ----------------------------------------------------------------------
def get_app(core: Core, org_id: str, app_id: str) -> Application:
    app: Application | None = core.store.get("apps", app_id)
    if app is None or app.org_id != org_id or app.is_archived:
        raise errors.not_found(errors.APP_NOT_FOUND, appId=app_id)
    return app


def list_apps(core: Core, org_id: str) -> list[Application]:
    rows = [a for a in core.store.find("apps", "org", org_id) if not a.is_archived]
    return sorted(rows, key=lambda a: a.date_created)


def _app_tokens(core: Core, app: Application) -> list[AccessToken]:
    rows = [t for t in core.store.find("tokens", "app", app.id)
            if t.kind == TOKEN_APPLICATION and not t.is_archived]
    return sorted(rows, key=lambda t: t.date_created)


def app_view(core: Core, app: Application, issued: tuple[str, str] | None = None) -> dict[str, Any]:
    """ApplicationInfo; ``issued`` = (tokenId, accessToken) shown once at creation."""
    from simulator.services.permissions import assignments_view

    tokens = [access_token_info(core, t, issued[1] if issued and issued[0] == t.id else None)
              for t in _app_tokens(core, app)]
    view: dict[str, Any] = {
        "appId": app.id,
        "kind": app.kind,
        "orgId": app.org_id,
        "name": app.name,
        "expectedRpId": app.rp_id,
        "expectedOrigin": app.origin,
        "isActive": app.is_active and not app.is_archived,
        "permissionAssignments": assignments_view(core, app.id),
        "accessTokens": tokens,
    }
    if app.external_id:
        view["externalId"] = app.external_id
    return view


# -- create / update / lifecycle -----------------------------------------------------------------
def _check_relying_party(core: Core, rp_id: str, origin: str) -> None:
    """WebAuthn's rule: the origin's host is the rpId or a subdomain of it."""
    if "/" in rp_id or ":" in rp_id or not rp_id.strip():
        raise errors.bad_request("invalid relyingPartyId: expected a domain such as example.com",
                                 field="relyingPartyId")
    parts = urlsplit(origin)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/"):
        raise errors.bad_request("invalid origin: expected a URL such as https://app.example.com",
                                 field="origin")
    host = parts.hostname.lower()
    rp = rp_id.lower()
    if host != rp and not host.endswith("." + rp) and core.config.policy.on("app.relying_party"):
        raise errors.bad_request(
            "invalid origin: its host must be the relyingPartyId or a subdomain of it",
            field="origin")


def _name_taken(core: Core, org_id: str, name: str, *, except_id: str = "") -> bool:
    return any(a.name.lower() == name.lower() and a.id != except_id
               for a in list_apps(core, org_id))


def create(core: Core, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    _check_relying_party(core, body["relyingPartyId"], body["origin"])
    server_side = body["kind"] == SERVER_SIDE_APPLICATION
    if server_side and not body.get("publicKey"):
        raise ApiError(400, PUBLIC_KEY_REQUIRED, details={"field": "publicKey"})
    public_key = (load_public_key_pem(body["publicKey"], policy=core.config.policy)
                  if server_side else None)
    if body.get("permissionId"):
        from simulator.services.service_accounts import org_permission, require_within

        require_within(core, caller,
                       org_permission(core, caller.org_id, body["permissionId"]).operations)
    now = core.now()
    issued: tuple[str, str] | None = None
    with core.store.transaction() as tx:
        if _name_taken(core, caller.org_id, body["name"]):
            raise errors.conflict(APP_NAME_TAKEN, name=body["name"])
        app = Application(id=core.new_id("ap"), org_id=caller.org_id, name=body["name"],
                          kind=body["kind"],
                          rp_id=body["relyingPartyId"], origin=body["origin"].rstrip("/"),
                          external_id=body.get("externalId"), date_created=now)
        tx.put("apps", app.id, app)
        grant(core, caller, identity_id=app.id, identity_kind="Application",
              permission_id=body.get("permissionId"))
        if public_key is not None:
            token = AccessToken(id=core.new_id("to"), org_id=app.org_id, kind=TOKEN_APPLICATION,
                                app_id=app.id, name=app.name, date_created=now,
                                expires_at=now + validity_seconds(core, days=body.get("daysValid")),
                                external_id=body.get("externalId"))
            credential = Credential(uuid=core.new_id("cr"), org_id=app.org_id, user_id="", kind=KEY,
                                    cred_id=token_credential_id(core), public_key=public_key,
                                    name=app.name, token_id=token.id, date_created=now)
            token = evolve(token, credential_uuid=credential.uuid)
            tx.put("credentials", credential.uuid, credential)
            secret = issue_access_token(core, token, None)
            tx.put("app_secrets", token.id,
                   AppSecret(token_id=token.id, app_id=app.id, digest=_digest(secret)))
            issued = (token.id, secret)
    return app_view(core, app, issued)


def update(core: Core, org_id: str, app_id: str, body: dict[str, Any]) -> Application:
    with core.store.transaction() as tx:
        app = get_app(core, org_id, app_id)
        changes: dict[str, Any] = {}
        if body.get("name") is not None:
            if _name_taken(core, org_id, body["name"], except_id=app.id):
                raise errors.conflict(APP_NAME_TAKEN, name=body["name"])
            changes["name"] = body["name"]
        if "externalId" in body:
            changes["external_id"] = body["externalId"]
        app = evolve(app, **changes)
        tx.put("apps", app.id, app)
    return app


def _not_self(core: Core, app: Application, current: Application | None) -> None:
    # The request's own app (named in X-DFNS-APPID, or the org default standing in for it)
    # would lock the caller out of the very request channel it is using.
    if current is not None and current.id == app.id and core.config.policy.on("app.self_modify"):
        raise errors.bad_request(errors.APP_SELF_MODIFY, appId=app.id)


def _set_state(core: Core, org_id: str, app_id: str, current: Application | None,
               **state: bool) -> Application:
    with core.store.transaction() as tx:
        app = get_app(core, org_id, app_id)
        _not_self(core, app, current)
        app = evolve(app, **state)
        tx.put("apps", app.id, app)
        token_state = {k: v for k, v in state.items() if k in ("is_active", "is_archived")}
        for token in _app_tokens(core, app):
            tx.put("tokens", token.id, evolve(token, **token_state))
    return app


def set_active(core: Core, org_id: str, app_id: str, current: Application | None, *,
               active: bool) -> Application:
    return _set_state(core, org_id, app_id, current, is_active=active)


def archive(core: Core, org_id: str, app_id: str, current: Application | None) -> Application:
    return _set_state(core, org_id, app_id, current, is_active=False, is_archived=True)
