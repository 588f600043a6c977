"""Personal-access-token routes (endpoints.md §6)."""

from __future__ import annotations

from typing import Any

from simulator.config import API_MAX_TOKEN_DAYS
from simulator.http.app import Call
from simulator.http.routing import AUTH, RouteTable
from simulator.http.schema import ID, NAME, Int, Obj, Str
from simulator.services import pats
from simulator.services.service_accounts import access_token_info

routes = RouteTable("Personal access tokens")

READ = ("Auth:Users:Read", "Auth:Types:Pat")
UPDATE = ("Auth:Users:Update", "Auth:Types:Pat")
MAX_DAYS = API_MAX_TOKEN_DAYS
CREATE_BODY = Obj(
    required={"name": NAME, "publicKey": Str(min_length=1, max_length=20_000)},
    optional={"daysValid": Int(minimum=1, maximum=MAX_DAYS),
              "secondsValid": Int(minimum=1, maximum=MAX_DAYS * 86_400),
              "permissionId": ID, "externalId": Str(max_length=500)},
    extra=False,  # the SDK-era schema rejects unknown properties
)


def _render(call: Call, token: Any, access_token: str | None = None) -> Any:
    return access_token_info(call.core, token, access_token)


@routes.route("GET", "/auth/pats", caller=AUTH, operations=READ)
def list_pats(call: Call) -> Any:
    """List the caller's personal access tokens."""
    return {"items": [_render(call, t) for t in pats.list_pats(call.core, call.require_caller())]}


@routes.route("POST", "/auth/pats", caller=AUTH, user_action=True,
              operations=("Auth:Users:Create", "Auth:Types:Pat"), body=CREATE_BODY)
def create_pat(call: Call) -> Any:
    """Create personal access token (the access token is shown once, here)."""
    token, access_token = pats.create(call.core, call.require_caller(), call.body)
    return _render(call, token, access_token)


@routes.route("GET", "/auth/pats/{tokenId}", caller=AUTH, operations=READ)
def get_pat(call: Call) -> Any:
    """Get personal access token."""
    return _render(call, pats.get_pat(call.core, call.require_caller(), call.params["tokenId"]))


@routes.route("PUT", "/auth/pats/{tokenId}", caller=AUTH, user_action=True, operations=UPDATE,
              body=Obj(optional={"name": NAME, "externalId": Str(max_length=500)}))
def update_pat(call: Call) -> Any:
    """Update personal access token."""
    return _render(call,
                   pats.update(call.core, call.require_caller(), call.params["tokenId"], call.body))


@routes.route("PUT", "/auth/pats/{tokenId}/activate", caller=AUTH, user_action=True,
              operations=UPDATE)
def activate_pat(call: Call) -> Any:
    """Activate personal access token."""
    return _render(call, pats.set_active(call.core, call.require_caller(), call.params["tokenId"],
                                         active=True))


@routes.route("PUT", "/auth/pats/{tokenId}/deactivate", caller=AUTH, user_action=True,
              operations=UPDATE)
def deactivate_pat(call: Call) -> Any:
    """Deactivate personal access token."""
    return _render(call, pats.set_active(call.core, call.require_caller(), call.params["tokenId"],
                                         active=False))


@routes.route("DELETE", "/auth/pats/{tokenId}", caller=AUTH, user_action=True, operations=UPDATE)
def delete_pat(call: Call) -> Any:
    """Delete (archive) personal access token."""
    return _render(call, pats.archive(call.core, call.require_caller(), call.params["tokenId"]))
