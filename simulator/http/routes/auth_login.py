"""Login routes (endpoints.md §2)."""

from __future__ import annotations

from typing import Any

from simulator.http.app import Call
from simulator.http.routes.auth_registration import ORG, _org
from simulator.http.routes.auth_users import check_delegation_by_name
from simulator.http.routing import AUTH, NONE, SA, RouteTable
from simulator.http.schema import ASSERTION, NAME, TOKEN, Bool, Obj, Str
from simulator.services import login

routes = RouteTable("Login")


@routes.route("POST", "/auth/login/init", caller=NONE, operations=("Auth:Users:Read",),
              body=Obj(required={"username": NAME},
                       optional={**ORG, "loginCode": Str(max_length=100)}))
def login_init(call: Call) -> Any:
    """Create login challenge."""
    return login.init(call.core, call.require_app(), org_id=_org(call),
                      username=call.body["username"], login_code=call.body.get("loginCode"))


@routes.route("POST", "/auth/login", caller=NONE, operations=("Auth:Users:Read",),
              body=Obj(required={"challengeIdentifier": TOKEN, "firstFactor": ASSERTION},
                       optional={"secondFactor": ASSERTION}))
def login_complete(call: Call) -> Any:
    """Complete user login."""
    return login.complete(call.core, call.require_app(), call.body)


@routes.route("POST", "/auth/login/code", caller=NONE, operations=("Auth:Users:Read",),
              body=Obj(required={"username": NAME}, optional=ORG))
def login_code(call: Call) -> Any:
    """Send login code."""
    return login.send_login_code(call.core, org_id=_org(call), username=call.body["username"])


@routes.route("POST", "/auth/login/delegated", caller=SA, user_action=True,
              operations=("Auth:Users:Read", "Auth:Users:Delegate"),
              sa_operation="Auth:Login:Delegated", body=Obj(required={"username": NAME}))
def login_delegated(call: Call) -> Any:
    """Delegated login."""
    check_delegation_by_name(call, call.body["username"])
    return login.delegated(call.core, call.require_app(), sa=call.require_caller(),
                           username=call.body["username"])


@routes.route(("PUT", "POST"), "/auth/logout", caller=AUTH,
              body=Obj(optional={"allSessions": Bool()}))
def logout(call: Call) -> Any:
    """Logout."""
    return login.logout(call.core, call.require_caller(),
                        all_sessions=bool(call.body.get("allSessions")))
