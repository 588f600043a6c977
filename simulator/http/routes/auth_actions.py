"""User-action signing routes (endpoints.md §4.1–4.2)."""

from __future__ import annotations

from typing import Any

from simulator.http.app import Call
from simulator.http.routing import AUTH, RouteTable
from simulator.http.schema import ASSERTION, TOKEN, Obj, Str
from simulator.services import actions

routes = RouteTable("User action signing")


@routes.route("POST", "/auth/action/init", caller=AUTH, app_only=True,
              operations=("Auth:Action:Sign",),
              body=Obj(
                  required={
                      "userActionPayload": Str(max_length=1_000_000),
                      "userActionHttpMethod": Str(enum=("POST", "PUT", "DELETE", "GET", "PATCH")),
                      "userActionHttpPath": Str(min_length=1, max_length=2000),
                  },
                  optional={"userActionServerKind": Str(enum=("Api", "Staff"))},
              ))
def action_init(call: Call) -> Any:
    """Create user action challenge."""
    return actions.init(call.core, call.require_app(), call.require_caller(), call.body)


@routes.route("POST", "/auth/action", caller=AUTH, app_only=True, operations=("Auth:Action:Sign",),
              body=Obj(required={"challengeIdentifier": TOKEN, "firstFactor": ASSERTION},
                       optional={"secondFactor": ASSERTION}))
def action_sign(call: Call) -> Any:
    """Create user action signature."""
    return actions.sign(call.core, call.require_app(), call.require_caller(), call.body)
