"""``POST /auth/tokens`` (endpoints.md §2.9): a Tenant User swaps its token for one bound to
another org it belongs to. The new token never outlives the presented one.
"""

from __future__ import annotations

from simulator import errors
from simulator.models import TENANT_USER, TOKEN_LOGIN, AccessToken
from simulator.services.core import Core
from simulator.services.identity import Caller, issue_access_token
from simulator.services.users_admin import tenant_identities

EXCHANGE_OPERATION = "/auth/tokens"
NO_ACCESS = "user has no access to the target organization"


def exchange(core: Core, caller: Caller, *, target: str) -> dict[str, str]:
    if caller.user.kind != TENANT_USER or caller.token.kind != TOKEN_LOGIN:
        # The documented 403 format; this route has no operation name, the path stands for it.
        raise errors.not_permitted(caller.user.kind, caller.user.id, EXCHANGE_OPERATION)
    member = next((u for u in tenant_identities(core, caller.user.username)
                   if u.org_id == target and u.is_active), None)
    if member is None:
        raise errors.forbidden(NO_ACCESS, target=target)
    now = core.now()
    expires_at = min(now + core.config.lifetimes.login_token, caller.token.expires_at or now)
    record = AccessToken(id=core.new_id("to"), org_id=member.org_id, kind=TOKEN_LOGIN,
                         user_id=member.id, app_id=caller.token.app_id, expires_at=expires_at,
                         parent_token_id=caller.token.id, date_created=now)
    return {"token": issue_access_token(core, record, member)}
