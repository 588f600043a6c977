"""Credential routes (endpoints.md §3)."""

from __future__ import annotations

from typing import Any

from simulator import errors
from simulator.http.app import Call
from simulator.http.routing import AUTH, NONE, RouteTable
from simulator.http.schema import CREDENTIAL_ATTESTATION, ID, NAME, TOKEN, Obj, Str, StrOrNumber
from simulator.services import credentials
from simulator.services.identity import Caller

routes = RouteTable("Credentials")


def _person(call: Call, operation: str) -> Caller:
    """The caller, when it is a person's session: a PAT or service-account token signs with its
    own key and may hold fewer permissions than its user, so a credential it added (or a
    credential of its user it switched off) would give it, or take from, the whole user."""
    caller = call.require_caller()
    if caller.is_token_credential:
        raise errors.not_permitted(caller.user.kind, caller.user.id, operation)
    return caller

KIND = Str(min_length=1, max_length=64)
CREATE_BODY = Obj(
    required={"challengeIdentifier": TOKEN, "credentialName": NAME,
              **CREDENTIAL_ATTESTATION.required},
    optional={name: schema for name, schema in CREDENTIAL_ATTESTATION.optional.items()
              if name != "credentialName"},  # required here
    aliases={"kind": "credentialKind"},
)


@routes.route("POST", "/auth/credentials/init", caller=AUTH, app_only=True,
              operations=("Auth:Creds:Create",),
              body=Obj(required={"kind": KIND}, aliases={"credentialKind": "kind"}))
def credential_init(call: Call) -> Any:
    """Create credential challenge."""
    return credentials.init(call.core, call.require_app(), _person(call, "Auth:Creds:Create"),
                            kind=call.body["kind"])


@routes.route("POST", "/auth/credentials", caller=AUTH, app_only=True, user_action=True,
              operations=("Auth:Creds:Create",), body=CREATE_BODY)
def credential_create(call: Call) -> Any:
    """Create credential."""
    return credentials.complete(call.core, call.require_app(),
                                _person(call, "Auth:Creds:Create"), call.body)


@routes.route("POST", "/auth/credentials/code", caller=AUTH, app_only=True, user_action=True,
              operations=("Auth:Creds:Create", "Auth:Creds:Code:Create"),
              body=Obj(required={"expiration": StrOrNumber()}))
def credential_code(call: Call) -> Any:
    """Create credential code."""
    return credentials.create_code(call.core, _person(call, "Auth:Creds:Code:Create"),
                                   expiration=call.body["expiration"])


@routes.route("POST", "/auth/credentials/code/init", caller=NONE,
              operations=("Auth:Creds:Create", "Auth:Creds:Code:Create"),
              body=Obj(required={"code": ID, "credentialKind": KIND},
                       aliases={"kind": "credentialKind"}))
def credential_code_init(call: Call) -> Any:
    """Create credential challenge with code."""
    return credentials.init_with_code(call.core, call.require_app(), code=call.body["code"],
                                      kind=call.body["credentialKind"])


@routes.route("POST", "/auth/credentials/code/verify", caller=NONE,
              operations=("Auth:Creds:Create", "Auth:Creds:Code:Create"), body=CREATE_BODY)
def credential_code_verify(call: Call) -> Any:
    """Create credential with code."""
    return credentials.complete_with_code(call.core, call.body)


UUID_BODY = Obj(required={"credentialUuid": ID})


@routes.route("PUT", "/auth/credentials/activate", caller=AUTH, app_only=True, user_action=True,
              operations=("Auth:Creds:Update",), body=UUID_BODY)
def credential_activate(call: Call) -> Any:
    """Activate credential."""
    return credentials.set_active(call.core, _person(call, "Auth:Creds:Update"),
                                  uuid=call.body["credentialUuid"], active=True)


@routes.route("PUT", "/auth/credentials/deactivate", caller=AUTH, app_only=True, user_action=True,
              operations=("Auth:Creds:Update",), body=UUID_BODY)
def credential_deactivate(call: Call) -> Any:
    """Deactivate credential."""
    return credentials.set_active(call.core, _person(call, "Auth:Creds:Update"),
                                  uuid=call.body["credentialUuid"], active=False)


@routes.route("GET", "/auth/credentials", caller=AUTH, app_only=True,
              operations=("Auth:Creds:Read",))
def credential_list(call: Call) -> Any:
    """List credentials."""
    return credentials.list_credentials(call.core, call.require_caller())


@routes.route("DELETE", "/auth/credentials/{credentialUuid}", caller=AUTH, app_only=True,
              user_action=True,
              operations=("Auth:Creds:Update",))
def credential_delete(call: Call) -> Any:
    """Delete credential."""
    return credentials.delete(call.core, _person(call, "Auth:Creds:Update"),
                              uuid=call.params["credentialUuid"])
