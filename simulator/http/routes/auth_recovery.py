"""Recovery routes (endpoints.md §10)."""

from __future__ import annotations

import json
from typing import Any

from simulator.http.app import Call
from simulator.http.routes.auth_registration import ORG, REGISTRATION_BODY, _org
from simulator.http.routes.auth_users import check_delegation_by_name
from simulator.http.routing import NONE, SA, TEMP, RouteTable
from simulator.http.schema import CREDENTIAL_ASSERTION_INFO, ID, NAME, Obj, Str
from simulator.services import recovery

routes = RouteTable("Recovery")

RECOVERY_ASSERTION = Obj(
    required={"kind": Str(enum=("RecoveryKey",)),
              # clientData carries base64url(JSON(newCredentials)): as long as the credentials
              "credentialAssertion": CREDENTIAL_ASSERTION_INFO},
)


@routes.route(("PUT", "POST"), "/auth/recover/user/code", caller=NONE,
              operations=("Auth:Users:Create",),
              body=Obj(required={"username": NAME}, optional=ORG))
def send_recovery_code(call: Call) -> Any:
    """Send recovery code."""
    return recovery.send_code(call.core, org_id=_org(call), username=call.body["username"])


@routes.route("POST", "/auth/recover/user/init", caller=NONE, operations=("Auth:Users:Read",),
              body=Obj(required={"username": NAME, "verificationCode": ID, "credentialId": ID},
                       optional=ORG))
def recovery_init(call: Call) -> Any:
    """Create recovery challenge."""
    return recovery.init(call.core, call.require_app(), org_id=_org(call),
                         username=call.body["username"], code=call.body["verificationCode"],
                         credential_id=call.body["credentialId"])


@routes.route("POST", "/auth/recover/user/delegated", caller=SA, user_action=True,
              operations=("Auth:Users:Create", "Auth:Users:Delegate"),
              sa_operation="Auth:Recover:Delegated",
              body=Obj(required={"username": NAME, "credentialId": ID}))
def recovery_delegated(call: Call) -> Any:
    """Create delegated recovery challenge."""
    check_delegation_by_name(call, call.body["username"])
    return recovery.delegated(call.core, call.require_app(), sa_user=call.require_caller().user,
                              username=call.body["username"],
                              credential_id=call.body["credentialId"])


@routes.route("POST", "/auth/recover/user", caller=TEMP, temp_kinds=("recovery",),
              operations=("Auth:Users:Create",),
              body=Obj(required={"recovery": RECOVERY_ASSERTION,
                                 "newCredentials": REGISTRATION_BODY}))
def recover_user(call: Call) -> Any:
    """Recover user."""
    # The recovery signature covers newCredentials exactly as sent (not as the schema
    # normalised it), so the service compares against the raw JSON.
    return recovery.complete(call.core, call.require_app(), call.require_temp(),
                             json.loads(call.raw_body))
