"""Token exchange (SDK era, endpoints.md §2.9)."""

from __future__ import annotations

from typing import Any

from simulator.http.app import Call
from simulator.http.routing import AUTH, RouteTable
from simulator.http.schema import ID, Obj
from simulator.services import token_exchange

routes = RouteTable("Tokens")


@routes.route("POST", "/auth/tokens", caller=AUTH, body=Obj(required={"target": ID}))
def exchange_access_token(call: Call) -> Any:
    """Exchange a Tenant User's token for one bound to another org."""
    return token_exchange.exchange(call.core, call.require_caller(), target=call.body["target"])
