"""Registration routes (endpoints.md §1)."""

from __future__ import annotations

from typing import Any

from simulator import errors
from simulator.http.app import Call
from simulator.http.routes.auth_users import check_delegation_target, require_type
from simulator.http.routing import NONE, SA, TEMP, RouteTable
from simulator.http.schema import CREDENTIAL_ATTESTATION, ID, NAME, Array, Obj, Str
from simulator.services import registration, users

routes = RouteTable("Registration")

ORG = {"orgId": ID, "tenantId": ID}
REGISTRATION_BODY = Obj(
    required={"firstFactorCredential": CREDENTIAL_ATTESTATION},
    optional={"secondFactorCredential": CREDENTIAL_ATTESTATION,
              "recoveryCredential": CREDENTIAL_ATTESTATION},
)
WALLET_SPEC = Obj(required={"network": Str(min_length=1, max_length=100)},
                  optional={"name": Str(max_length=500)})
DELEGATED_BODY = Obj(
    required={"email": NAME, "kind": Str(enum=("EndUser", "CustomerEmployee"))},
    optional={"externalId": Str(max_length=500)},
)


def _org(call: Call) -> str:
    return call.body.get("orgId") or call.body.get("tenantId") or call.org_id


@routes.route("POST", "/auth/registration/init", caller=NONE, operations=("Auth:Users:Read",),
              body=Obj(required={"username": NAME, "registrationCode": ID}, optional=ORG))
def registration_init(call: Call) -> Any:
    """Create registration challenge."""
    return registration.init(call.core, call.require_app(), org_id=_org(call),
                             username=call.body["username"], code=call.body["registrationCode"])


@routes.route("POST", "/auth/registration", caller=TEMP, operations=("Auth:Users:Create",),
              body=REGISTRATION_BODY)
def registration_complete(call: Call) -> Any:
    """Complete user registration."""
    return registration.complete(call.core, call.require_app(), call.require_temp(), call.body)


@routes.route("POST", "/auth/registration/enduser", caller=TEMP,
              operations=("Auth:Users:Create", "Auth:Types:EndUser", "Wallets:Create",
                          "Wallets:Delegate"),
              body=Obj(required={**REGISTRATION_BODY.required,
                                 "wallets": Array(WALLET_SPEC, max_items=20)},
                       optional=REGISTRATION_BODY.optional))
def registration_enduser(call: Call) -> Any:
    """Complete end-user registration with wallets."""
    return registration.complete(call.core, call.require_app(), call.require_temp(), call.body,
                                 end_user=True)


@routes.route("PUT", "/auth/registration/code", caller=NONE, operations=("Auth:Users:Create",),
              body=Obj(required={"username": NAME}, optional=ORG))
def resend_registration_code(call: Call) -> Any:
    """Resend registration code."""
    user = users.find_user(call.core, _org(call), call.body["username"])
    if user is not None and not user.is_registered and user.is_active:
        users.send_registration_code(call.core, user)
    return {"message": "success"}


def _delegated(call: Call, restart: bool) -> Any:
    caller = call.require_caller()
    target = users.find_user(call.core, caller.org_id, call.body["email"])
    if target is not None:
        check_delegation_target(call, target)
        if target.kind != call.body["kind"]:
            raise errors.bad_request(f"kind must be the existing user's kind ({target.kind})",
                                     field="kind")
    else:
        require_type(call, call.body["kind"])  # creating one: the kind the body asks for
    return registration.delegated(call.core, call.require_app(), sa_user=caller.user,
                                  email=call.body["email"],
                                  kind=call.body["kind"], external_id=call.body.get("externalId"),
                                  restart=restart)


@routes.route("POST", "/auth/registration/delegated", caller=SA, user_action=True,
              operations=("Auth:Users:Create", "Auth:Users:Delegate"),
              sa_operation="Auth:Register:Delegated", body=DELEGATED_BODY)
def registration_delegated(call: Call) -> Any:
    """Create delegated registration challenge."""
    return _delegated(call, restart=False)


@routes.route("POST", "/auth/registration/delegated/restart", caller=SA, user_action=True,
              operations=("Auth:Users:Create", "Auth:Users:Delegate"),
              sa_operation="Auth:Register:Delegated", body=DELEGATED_BODY)
def registration_delegated_restart(call: Call) -> Any:
    """Restart delegated registration."""
    return _delegated(call, restart=True)
