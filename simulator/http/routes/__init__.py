"""Route modules, one per resource family. ``ALL_TABLES`` is what the app serves."""

from __future__ import annotations

from simulator.http.routes import (
    auth_actions,
    auth_apps,
    auth_audit,
    auth_credentials,
    auth_login,
    auth_pats,
    auth_recovery,
    auth_registration,
    auth_service_accounts,
    auth_social,
    auth_tokens,
    auth_user_groups,
    auth_users,
    permissions,
    wallets,
)
from simulator.http.routing import RouteTable

ALL_TABLES: list[RouteTable] = [
    auth_registration.routes,
    auth_login.routes,
    auth_actions.routes,
    auth_credentials.routes,
    auth_users.routes,
    permissions.routes,
    auth_audit.routes,
    auth_recovery.routes,
    auth_social.routes,
    wallets.routes,
    auth_service_accounts.routes,
    auth_pats.routes,
    auth_apps.routes,
    auth_user_groups.routes,
    auth_tokens.routes,
]
