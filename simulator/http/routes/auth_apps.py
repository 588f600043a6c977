"""Application routes (endpoints.md §9; the SDK keeps list/get only)."""

from __future__ import annotations

from typing import Any

from simulator.config import API_MAX_TOKEN_DAYS
from simulator.http.app import Call
from simulator.http.routing import AUTH, RouteTable
from simulator.http.schema import ID, NAME, Int, Obj, Str
from simulator.models import CLIENT_SIDE_APPLICATION, SERVER_SIDE_APPLICATION
from simulator.services import applications

routes = RouteTable("Applications")

READ = ("Auth:Apps:Read", "Auth:Types:Application")
UPDATE = ("Auth:Apps:Update", "Auth:Types:Application")


def _org(call: Call) -> str:
    return call.require_caller().org_id


@routes.route("GET", "/auth/apps", caller=AUTH, operations=READ)
def list_apps(call: Call) -> Any:
    """List applications."""
    return {"items": [applications.app_view(call.core, a)
                      for a in applications.list_apps(call.core, _org(call))]}


@routes.route("POST", "/auth/apps", caller=AUTH, user_action=True,
              operations=("Auth:Apps:Create", "Auth:Types:Application"),
              body=Obj(required={"name": NAME, "relyingPartyId": Str(min_length=1, max_length=253),
                                 "origin": Str(min_length=1, max_length=2000),
                                 "kind": Str(enum=(CLIENT_SIDE_APPLICATION,
                                                   SERVER_SIDE_APPLICATION))},
                       optional={"permissionId": ID, "externalId": Str(max_length=500),
                                 "publicKey": Str(min_length=1, max_length=20_000),
                                 "daysValid": Int(minimum=1, maximum=API_MAX_TOKEN_DAYS)}))
def create_app(call: Call) -> Any:
    """Create application (a server-side app's token is shown once, here)."""
    return applications.create(call.core, call.require_caller(), call.body)


@routes.route("GET", "/auth/apps/{appId}", caller=AUTH, operations=READ)
def get_app(call: Call) -> Any:
    """Get application."""
    return applications.app_view(call.core,
                                 applications.get_app(call.core, _org(call), call.params["appId"]))


@routes.route(("PUT", "POST"), "/auth/apps/{appId}", caller=AUTH, user_action=True,
              operations=UPDATE,
              body=Obj(optional={"name": NAME, "externalId": Str(max_length=500)}))
def update_app(call: Call) -> Any:
    """Update application (TS 0.5.8 sends POST)."""
    app = applications.update(call.core, _org(call), call.params["appId"], call.body)
    return applications.app_view(call.core, app)


@routes.route("PUT", "/auth/apps/{appId}/activate", caller=AUTH, user_action=True,
              operations=UPDATE)
def activate_app(call: Call) -> Any:
    """Activate application."""
    app = applications.set_active(call.core, _org(call), call.params["appId"], call.app,
                                  active=True)
    return applications.app_view(call.core, app)


@routes.route("PUT", "/auth/apps/{appId}/deactivate", caller=AUTH, user_action=True,
              operations=UPDATE)
def deactivate_app(call: Call) -> Any:
    """Deactivate application (its tokens too)."""
    app = applications.set_active(call.core, _org(call), call.params["appId"], call.app,
                                  active=False)
    return applications.app_view(call.core, app)


@routes.route("DELETE", "/auth/apps/{appId}", caller=AUTH, user_action=True, operations=UPDATE)
def delete_app(call: Call) -> Any:
    """Delete (archive) application."""
    app = applications.archive(call.core, _org(call), call.params["appId"], call.app)
    return applications.app_view(call.core, app)
