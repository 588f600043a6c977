"""User lifecycle by an administrator (endpoints.md §7): activate, deactivate, archive, update,
and the SDK-era Tenant User invitation.

Deactivation and archival take effect at once: resolve_caller refuses every token of an
inactive or archived user. On top of that, deactivation revokes the user's login sessions for
good (a reactivated user logs in again) while its PATs are only suspended (they work again
after reactivation); archival archives every token and credential of the user.
"""

from __future__ import annotations

from typing import Any

from simulator import errors
from simulator.models import TENANT_USER, TOKEN_LOGIN, User, evolve
from simulator.services.core import Core
from simulator.services.users import find_user, get_user
from simulator.store import Tables

TENANT_USER_NOT_FOUND = "tenant user not found"
ALREADY_MEMBER = "a user with this username already exists"


def set_active(core: Core, org_id: str, user_id: str, *, active: bool) -> User:
    with core.store.transaction() as tx:
        user = get_user(core, org_id, user_id)
        if not active:
            for token in tx.find("tokens", "user", user.id):
                if token.kind == TOKEN_LOGIN and token.is_active:
                    tx.put("tokens", token.id, evolve(token, is_active=False))
        user = evolve(user, is_active=active)
        tx.put("users", user.id, user)
    return user


def archive(core: Core, org_id: str, user_id: str) -> User:
    with core.store.transaction() as tx:
        return archive_records(tx, get_user(core, org_id, user_id))


def archive_records(tx: Tables, user: User) -> User:
    """Archive a user (or service account) with every token and credential it holds, and
    drop its group memberships. Call inside a store transaction."""
    for token in tx.find("tokens", "user", user.id):
        tx.put("tokens", token.id, evolve(token, is_active=False, is_archived=True))
    for credential in tx.find("credentials", "user", user.id):
        tx.put("credentials", credential.uuid,
               evolve(credential, is_active=False, is_archived=True))
    for membership in tx.find("group_members", "user", user.id):
        tx.delete("group_members", membership.id)
    user = evolve(user, is_active=False, is_archived=True)
    tx.put("users", user.id, user)
    return user


def update(core: Core, org_id: str, user_id: str, body: dict[str, Any]) -> User:
    user = get_user(core, org_id, user_id)
    changes: dict[str, Any] = {}
    if "externalId" in body:
        changes["external_id"] = body["externalId"]
    if "isSSORequired" in body:
        changes["is_sso_required"] = body["isSSORequired"]
    return core.replace("users", user.id, user, **changes)


# -- Tenant users (SDK era) ------------------------------------------------------------------
# A Tenant User is one person known to several orgs of a tenant: here, one user record per org
# with kind TenantUser and the same username. Token exchange (token_exchange.py) moves between
# them.
def tenant_identities(core: Core, username: str) -> list[User]:
    return [u for u in core.store.scan("users")
            if u.kind == TENANT_USER and not u.is_archived
            and u.username.lower() == username.lower()]


def create_tenant_user(core: Core, *, org_id: str, username: str) -> User:
    """A registered Tenant User in ``org_id`` (what the tenant's own onboarding would create)."""
    if find_user(core, org_id, username) is not None:
        raise errors.conflict(ALREADY_MEMBER, username=username)
    user = User(id=core.new_id("us"), org_id=org_id, username=username, kind=TENANT_USER,
                is_registered=True, date_created=core.now())
    core.store.put("users", user.id, user)
    return user


def invite(core: Core, org_id: str, *, email: str) -> User:
    """Invite an existing Tenant User into ``org_id``; it starts without any permission there."""
    if not tenant_identities(core, email):
        raise errors.not_found(TENANT_USER_NOT_FOUND, email=email)
    with core.store.transaction():
        user = create_tenant_user(core, org_id=org_id, username=email)
    org = core.org(org_id)
    core.send_mail(org_id=org_id, to=email, kind="invitation",
                   subject="You have been invited to a Dfns organization",
                   body=f"You now have access to {org.name if org else org_id} ({org_id}).",
                   user_id=user.id)
    return user
