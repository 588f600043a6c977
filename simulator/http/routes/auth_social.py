"""Social, OIDC and SSO login routes (endpoints.md §1.5, §2.4, §2.7, §2.8)."""

from __future__ import annotations

from typing import Any

from simulator.http.app import Call
from simulator.http.routes.auth_credentials import CREATE_BODY
from simulator.http.routes.auth_registration import ORG, _org
from simulator.http.routing import AUTH, NONE, RouteTable
from simulator.http.schema import ID, TOKEN, Obj, Str
from simulator.services import social

routes = RouteTable("Social and OIDC login")

ID_TOKEN_BODY = Obj(required={"idToken": TOKEN, "socialLoginProviderKind": Str(enum=("Oidc",))},
                    optional=ORG)
URI = Str(min_length=1, max_length=2000)
CODE_BODY = Obj(required={"code": TOKEN, "state": TOKEN})


@routes.route("POST", "/auth/registration/social", caller=NONE,
              operations=("Auth:Users:Create", "Auth:Users:Delegate", "Auth:Types:EndUser"),
              body=ID_TOKEN_BODY)
def social_registration(call: Call) -> Any:
    """Social registration."""
    return social.register(call.core, call.require_app(), org_id=_org(call),
                           id_token=call.body["idToken"])


@routes.route("POST", "/auth/login/social", caller=NONE,
              operations=("Auth:Users:Read", "Auth:Users:Delegate"),
              body=ID_TOKEN_BODY)
def social_login(call: Call) -> Any:
    """Social login."""
    return social.login(call.core, call.require_app(), org_id=_org(call),
                        id_token=call.body["idToken"])


@routes.route("POST", "/auth/login/oidc/init", caller=NONE, operations=("Auth:Users:Read",),
              body=Obj(required={"redirectUri": URI},
                       optional={**ORG, "nonce": Str(max_length=500)}))
def oidc_init(call: Call) -> Any:
    """Start OIDC login."""
    url = social.start(call.core, org_id=_org(call), flow="oidc",
                       redirect_uri=call.body["redirectUri"],
                       nonce=call.body.get("nonce"))
    return {"redirectUrl": url}


@routes.route("POST", "/auth/login/oidc", caller=NONE, operations=("Auth:Users:Read",),
              body=CODE_BODY)
def oidc_login(call: Call) -> Any:
    """Complete OIDC login."""
    return social.oidc_login(call.core, call.require_app(), code=call.body["code"],
                             state=call.body["state"])


@routes.route("POST", "/auth/login/oidc/credentials", caller=AUTH, app_only=True,
              operations=("Auth:Creds:Create",), body=CREATE_BODY)
def oidc_credential(call: Call) -> Any:
    """Create the first credential of an OIDC user."""
    return social.oidc_credential(call.core, call.require_app(), call.require_caller(), call.body)


@routes.route("POST", "/auth/login/sso/init", caller=NONE, operations=("Auth:Users:Read",),
              body=Obj(required={"clientId": ID, "redirectUri": URI}, optional=ORG))
def sso_init(call: Call) -> Any:
    """Start SSO login."""
    url = social.start(call.core, org_id=_org(call), flow="sso",
                       redirect_uri=call.body["redirectUri"],
                       client_id=call.body["clientId"])
    return {"ssoRedirectUrl": url}


@routes.route("POST", "/auth/login/sso", caller=NONE, operations=("Auth:Users:Read",),
              body=CODE_BODY)
def sso_login(call: Call) -> Any:
    """Complete SSO login."""
    _, result = social.finish(call.core, call.require_app(), flow="sso", code=call.body["code"],
                              state=call.body["state"])
    return result
