"""The applications group (APP): the origin and rpId of an org's applications, X-DFNS-APPID
and X-DFNS-APPSECRET, and what a request may do to its own application (endpoints.md §9,
flows.md §8, errors.md §3.1). Checks are numbered in registration order: append only."""

from __future__ import annotations

from typing import Any

from conformance.registry import add
from scenarios.client import ok
from simulator import errors as E


# -- applications (origin / rpId) -----------------------------------------------------------
def app_passkey_other_origin(ctx: Any) -> Any:
    device = ctx.device("Fido2")
    device.origin = "https://not-an-app-of-this-org.example"
    challenge = ctx.registration_challenge()
    return ctx.complete_registration(challenge, device.register(challenge))


def app_passkey_other_rp(ctx: Any) -> Any:
    device = ctx.device("Fido2")
    challenge = ctx.registration_challenge()
    forged = dict(challenge)
    forged["rp"] = {"id": "elsewhere.example", "name": "x"}
    return ctx.complete_registration(challenge, device.register(forged))


def app_login_other_app_header(ctx: Any) -> Any:
    return ctx.anon.request("POST", "/auth/login/init", {"username": "x@y.z", "orgId": ctx.org_id},
                            token="", headers={"X-DFNS-APPID": "ap-nope"})


add("APP", "APP", "F", "a passkey created on an origin of no app of the org is refused",
    "flows.md §8; errors.md §3.3", app_passkey_other_origin, status=401,
    message=E.ORIGIN_MISMATCH, guards=("fido2.clientdata.origin",),
    cells=[("registration", "Fido2")])
add("APP", "APP", "F", "a passkey scoped to an rpId of no app of the org is refused",
    "flows.md §8", app_passkey_other_rp, status=401, message=E.RPID_MISMATCH,
    guards=("fido2.authdata.rp_id_hash",), cells=[("registration", "Fido2")])
add("APP", "APP", "F", "an unknown X-DFNS-APPID on an unauthenticated call is 401",
    "errors.md §3.1", app_login_other_app_header, status=401, message=E.APP_INVALID,
    guards=("app.valid",))


def _admin(ctx: Any) -> Any:
    from conformance.target import admin_user

    return admin_user(ctx)


def create_app(ctx: Any, admin: Any, *, server_side: bool = False, rp_id: str | None = None,
               origin: str | None = None, permission_id: str | None = None) -> Any:
    from virtual_authenticators import KeyAuthenticator

    kind = "ServerSideApplication" if server_side else "ClientSideApplication"
    body: dict[str, Any] = {"name": ctx.name("app"), "relyingPartyId": rp_id or ctx.rp_id,
                            "origin": origin or ctx.origin, "kind": kind}
    if server_side:
        body["publicKey"] = KeyAuthenticator().public_key_pem
    if permission_id:
        body["permissionId"] = permission_id
    return admin.api.signed("POST", "/auth/apps", body)


def _with_app(admin: Any, app_id: str, secret: str | None = None) -> Any:
    headers = {"X-DFNS-APPID": app_id}
    if secret is not None:
        headers["X-DFNS-APPSECRET"] = secret
    return admin.api.request("GET", "/auth/credentials", headers=headers)


def app_client_side_header(ctx: Any) -> Any:
    admin = _admin(ctx)
    return _with_app(admin, ok(create_app(ctx, admin))["appId"])


def app_deactivated_header(ctx: Any) -> Any:
    admin = _admin(ctx)
    app_id = ok(create_app(ctx, admin))["appId"]
    ok(admin.api.signed("PUT", f"/auth/apps/{app_id}/deactivate", None))
    return _with_app(admin, app_id)


def app_server_side(ctx: Any, secret: str) -> Any:
    admin = _admin(ctx)
    info = ok(create_app(ctx, admin, server_side=True))
    real = info["accessTokens"][0]["accessToken"]
    return _with_app(admin, info["appId"], {"real": real, "none": None,
                                            "wrong": real[:-4] + "AAAA"}[secret])


def app_origin_outside_rp(ctx: Any) -> Any:
    return create_app(ctx, _admin(ctx), rp_id="example.com", origin="https://example.org")


def app_modify_own_default(ctx: Any, action: str) -> Any:
    admin = _admin(ctx)
    method, path = ("DELETE", f"/auth/apps/{ctx.app_id}") if action == "delete" else (
        "PUT", f"/auth/apps/{ctx.app_id}/deactivate")
    return admin.api.signed(method, path, None)


def app_modify_own_named(ctx: Any) -> Any:
    admin = _admin(ctx)
    app_id = ok(create_app(ctx, admin))["appId"]
    path = f"/auth/apps/{app_id}/deactivate"
    token = admin.api.user_action("PUT", path, None)
    return admin.api.request("PUT", path, None, user_action=token, headers={"X-DFNS-APPID": app_id})


APPS = (("POST", "/auth/apps"),)
for rule, status, message, fn, guards in [
    ("an X-DFNS-APPID of a deactivated application is 401", 401, E.APP_INVALID,
     app_deactivated_header, ("app.valid",)),
    ("a server-side application without X-DFNS-APPSECRET is 401", 401, "application secret",
     lambda ctx: app_server_side(ctx, "none"), ("app.secret",)),
    ("a server-side application with a wrong X-DFNS-APPSECRET is 401", 401, "application secret",
     lambda ctx: app_server_side(ctx, "wrong"), ("app.secret",)),
    ("an application's origin host must be its rpId or a subdomain of it", 400, "invalid origin",
     app_origin_outside_rp, ("app.relying_party",)),
    ("a request cannot deactivate its own (default) application", 400, E.APP_SELF_MODIFY,
     lambda ctx: app_modify_own_default(ctx, "deactivate"), ("app.self_modify",)),
    ("a request cannot delete its own (default) application", 400, E.APP_SELF_MODIFY,
     lambda ctx: app_modify_own_default(ctx, "delete"), ("app.self_modify",)),
    ("a request cannot deactivate the application named in its X-DFNS-APPID", 400,
     E.APP_SELF_MODIFY, app_modify_own_named, ("app.self_modify",)),
]:
    # Against a shared server a non-conforming answer would disable the org's default app
    # for every other check: the default-app variants run on the embedded simulator only.
    add("APP", "APP", "F", rule, "endpoints.md §9; errors.md §3.1", fn, status=status,
        message=message, guards=guards, routes=APPS,
        needs=("sim",) if "(default)" in rule else ())
add("APP", "APP", "P", "a client-side application's X-DFNS-APPID is accepted", "endpoints.md §9",
    app_client_side_header, routes=APPS)
add("APP", "APP", "P", "a server-side application with its app secret is accepted",
    "endpoints.md §9", lambda ctx: app_server_side(ctx, "real"), routes=APPS)
