"""Personal access tokens (endpoints.md §6): long-lived tokens of one user, each with its own
Key credential, never holding more permissions than the user.

Use-time enforcement lives elsewhere and is only relied on here: resolve_caller rejects a PAT
whose record or user is inactive/archived or whose expiry passed (the clock decides);
permissions.check intersects the user's operations with the PAT's own; the PAT signs user
actions only with its own credential (challenges.signing_credentials).
"""

from __future__ import annotations

from typing import Any

from simulator import errors
from simulator.models import KEY, TOKEN_PAT, AccessToken, Credential, evolve
from simulator.services.core import Core
from simulator.services.identity import Caller, issue_access_token
from simulator.services.service_accounts import (
    grant,
    org_permission,
    require_human,
    require_within,
    token_credential_id,
    validity_seconds,
)
from simulator.verification.public_keys import load_public_key_pem

TOKEN_NOT_FOUND = "token not found"
PAT_NAME_TAKEN = "a personal access token with this name already exists"


def _user_pats(core: Core, user_id: str) -> list[AccessToken]:
    rows = [t for t in core.store.find("tokens", "user", user_id)
            if t.kind == TOKEN_PAT and not t.is_archived]
    return sorted(rows, key=lambda t: t.date_created)


def list_pats(core: Core, caller: Caller) -> list[AccessToken]:
    return _user_pats(core, caller.user.id)


def get_pat(core: Core, caller: Caller, token_id: str) -> AccessToken:
    token: AccessToken | None = core.store.get("tokens", token_id)
    if (token is None or token.kind != TOKEN_PAT or token.user_id != caller.user.id
            or token.org_id != caller.org_id or token.is_archived):
        raise errors.not_found(TOKEN_NOT_FOUND, tokenId=token_id)
    return token


def _name_taken(core: Core, user_id: str, name: str, *, except_id: str = "") -> bool:
    return any(t.name.lower() == name.lower() and t.id != except_id
               for t in _user_pats(core, user_id))


def create(core: Core, caller: Caller, body: dict[str, Any]) -> tuple[AccessToken, str]:
    require_human(core, caller, "Auth:Pats:Create")
    public_key = load_public_key_pem(body["publicKey"], policy=core.config.policy)
    permission_id = body.get("permissionId")
    if permission_id:  # a PAT can never hold more than its user: checked before anything is written
        require_within(core, caller, org_permission(core, caller.org_id, permission_id).operations)
    now = core.now()
    lifetime = validity_seconds(core, days=body.get("daysValid"), seconds=body.get("secondsValid"))
    with core.store.transaction() as tx:
        if _name_taken(core, caller.user.id, body["name"]) and core.config.policy.on("name.unique"):
            raise errors.conflict(PAT_NAME_TAKEN, name=body["name"])
        token = AccessToken(id=core.new_id("to"), org_id=caller.org_id, kind=TOKEN_PAT,
                            user_id=caller.user.id, name=body["name"], expires_at=now + lifetime,
                            permission_id=permission_id, external_id=body.get("externalId"),
                            date_created=now)
        credential = Credential(uuid=core.new_id("cr"), org_id=caller.org_id,
                                user_id=caller.user.id,
                                kind=KEY, cred_id=token_credential_id(core), public_key=public_key,
                                name=body["name"], token_id=token.id, date_created=now)
        token = evolve(token, credential_uuid=credential.uuid)
        tx.put("credentials", credential.uuid, credential)
        access_token = issue_access_token(core, token, caller.user)
        if permission_id:
            # Only an explicit permission is assigned to the PAT; without one it carries the
            # user's (permissions.token_operations) and follows later changes to them.
            grant(core, caller, identity_id=token.id, identity_kind="Pat",
                  permission_id=permission_id)
    return token, access_token


def update(core: Core, caller: Caller, token_id: str, body: dict[str, Any]) -> AccessToken:
    with core.store.transaction() as tx:
        token = get_pat(core, caller, token_id)
        changes: dict[str, Any] = {}
        if body.get("name") is not None:
            if _name_taken(core, caller.user.id, body["name"], except_id=token.id):
                raise errors.conflict(PAT_NAME_TAKEN, name=body["name"])
            changes["name"] = body["name"]
        if "externalId" in body:
            changes["external_id"] = body["externalId"]
        token = evolve(token, **changes)
        tx.put("tokens", token.id, token)
    return token


def _set_state(core: Core, caller: Caller, token_id: str, **state: bool) -> AccessToken:
    with core.store.transaction() as tx:
        token = evolve(get_pat(core, caller, token_id), **state)
        tx.put("tokens", token.id, token)
        credential = tx.get("credentials", token.credential_uuid or "")
        if credential is not None and not credential.is_archived:
            tx.put("credentials", credential.uuid, evolve(credential, **state))
    return token


def set_active(core: Core, caller: Caller, token_id: str, *, active: bool) -> AccessToken:
    return _set_state(core, caller, token_id, is_active=active)


def archive(core: Core, caller: Caller, token_id: str) -> AccessToken:
    return _set_state(core, caller, token_id, is_active=False, is_archived=True)
