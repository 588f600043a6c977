"""Service-account routes (endpoints.md §5)."""

from __future__ import annotations

from typing import Any

from simulator.config import API_MAX_TOKEN_DAYS
from simulator.http.app import Call
from simulator.http.routing import AUTH, RouteTable
from simulator.http.schema import ID, NAME, AnyJson, Bool, Int, Obj, Str
from simulator.services import credentials, service_accounts

routes = RouteTable("Service accounts")

READ = ("Auth:Apps:Read", "Auth:Types:ServiceAccount")
UPDATE = ("Auth:Apps:Update", "Auth:Types:ServiceAccount")
PEM = Str(min_length=1, max_length=20_000)
EXTERNAL_ID = Str(max_length=500)


def _org(call: Call) -> str:
    return call.require_caller().org_id


@routes.route("GET", "/auth/service-accounts", caller=AUTH, operations=READ)
def list_service_accounts(call: Call) -> Any:
    """List service accounts."""
    rows = service_accounts.list_service_accounts(call.core, _org(call))
    return {"items": [service_accounts.sa_view(call.core, u) for u in rows]}


@routes.route("POST", "/auth/service-accounts", caller=AUTH, user_action=True,
              operations=("Auth:Apps:Create", "Auth:Types:ServiceAccount"),
              body=Obj(required={"name": NAME, "publicKey": PEM},
                       optional={"daysValid": Int(minimum=1, maximum=API_MAX_TOKEN_DAYS),
                                 "permissionId": ID, "externalId": EXTERNAL_ID,
                                 "federatedIdentity": AnyJson()}))
def create_service_account(call: Call) -> Any:
    """Create service account (the access token is shown once, here)."""
    issued = service_accounts.create(call.core, call.require_caller(), call.body)
    return service_accounts.sa_view(call.core, issued.user, issued)


@routes.route("GET", "/auth/service-accounts/{serviceAccountId}", caller=AUTH, operations=READ)
def get_service_account(call: Call) -> Any:
    """Get service account."""
    user = service_accounts.get_service_account(call.core, _org(call),
                                                call.params["serviceAccountId"])
    return service_accounts.sa_view(call.core, user)


@routes.route("PUT", "/auth/service-accounts/{serviceAccountId}", caller=AUTH, user_action=True,
              operations=UPDATE, body=Obj(optional={"name": NAME, "externalId": EXTERNAL_ID}))
def update_service_account(call: Call) -> Any:
    """Update service account."""
    user = service_accounts.update(call.core, _org(call), call.params["serviceAccountId"],
                                   call.body)
    return service_accounts.sa_view(call.core, user)


@routes.route("PUT", "/auth/service-accounts/{serviceAccountId}/activate", caller=AUTH,
              user_action=True,
              operations=UPDATE)
def activate_service_account(call: Call) -> Any:
    """Activate service account."""
    user = service_accounts.set_active(call.core, _org(call), call.params["serviceAccountId"],
                                       active=True)
    return service_accounts.sa_view(call.core, user)


@routes.route("PUT", "/auth/service-accounts/{serviceAccountId}/deactivate", caller=AUTH,
              user_action=True,
              operations=UPDATE, body=Obj(optional={"force": Bool()}))
def deactivate_service_account(call: Call) -> Any:
    """Deactivate service account: its token answers 401 until reactivated."""
    user = service_accounts.set_active(call.core, _org(call), call.params["serviceAccountId"],
                                       active=False)
    return service_accounts.sa_view(call.core, user)


@routes.route("DELETE", "/auth/service-accounts/{serviceAccountId}", caller=AUTH, user_action=True,
              operations=UPDATE, query=Obj(optional={"force": Str(max_length=10)}))
def delete_service_account(call: Call) -> Any:
    """Delete (archive) service account."""
    user = service_accounts.archive(call.core, _org(call), call.params["serviceAccountId"])
    return service_accounts.sa_view(call.core, user)


@routes.route("POST", "/auth/service-accounts/credentials", caller=AUTH, user_action=True,
              body=Obj(required={"publicKey": PEM}, optional={"name": NAME}))
def create_service_account_credential(call: Call) -> Any:
    """Add a Key credential to the calling service account."""
    credential = service_accounts.add_credential(call.core, call.require_caller(),
                                                 public_key_pem=call.body["publicKey"],
                                                 name=call.body.get("name"))
    return credentials.credential_info(credential)


@routes.route("DELETE", "/auth/service-accounts/credentials/{credentialUuid}", caller=AUTH,
              user_action=True)
def delete_service_account_credential(call: Call) -> Any:
    """Remove a credential of the calling service account (one must remain)."""
    service_accounts.delete_credential(call.core, call.require_caller(),
                                       call.params["credentialUuid"])
    return {}
