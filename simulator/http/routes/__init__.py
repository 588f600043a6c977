"""Route modules, one per resource family. ``ALL_TABLES`` is what the app serves."""

from __future__ import annotations

from simulator.http.routes import auth_actions, auth_credentials, auth_login, auth_registration, auth_users
from simulator.http.routing import RouteTable

ALL_TABLES: list[RouteTable] = [
    auth_registration.routes,
    auth_login.routes,
    auth_actions.routes,
    auth_credentials.routes,
    auth_users.routes,
]
