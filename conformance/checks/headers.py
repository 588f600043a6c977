"""Headers and the error envelope (challenges.md §1, errors.md §1, §3.1): every authenticated
route refuses a missing or unknown bearer with 401 in the Dfns envelope."""

from __future__ import annotations

from typing import Any

from conformance.registry import add
from simulator import errors as E

# Every authenticated route of endpoints.md (stable order: ids never move; append only).
AUTH_ROUTES: list[tuple[str, str]] = [
    ("PUT", "/auth/logout"), ("POST", "/auth/action/init"), ("POST", "/auth/action"),
    ("POST", "/auth/credentials/init"), ("POST", "/auth/credentials"),
    ("POST", "/auth/credentials/code"), ("PUT", "/auth/credentials/activate"),
    ("PUT", "/auth/credentials/deactivate"), ("GET", "/auth/credentials"),
    ("DELETE", "/auth/credentials/{credentialUuid}"), ("GET", "/auth/users"),
    ("POST", "/auth/users"), ("GET", "/auth/users/{userId}"),
    ("PUT", "/auth/users/{userId}/activate"), ("PUT", "/auth/users/{userId}/deactivate"),
    ("DELETE", "/auth/users/{userId}"), ("GET", "/auth/service-accounts"),
    ("POST", "/auth/service-accounts"), ("GET", "/auth/service-accounts/{serviceAccountId}"),
    ("PUT", "/auth/service-accounts/{serviceAccountId}"),
    ("PUT", "/auth/service-accounts/{serviceAccountId}/activate"),
    ("PUT", "/auth/service-accounts/{serviceAccountId}/deactivate"),
    ("DELETE", "/auth/service-accounts/{serviceAccountId}"), ("GET", "/auth/pats"),
    ("POST", "/auth/pats"), ("GET", "/auth/pats/{tokenId}"), ("PUT", "/auth/pats/{tokenId}"),
    ("PUT", "/auth/pats/{tokenId}/activate"), ("PUT", "/auth/pats/{tokenId}/deactivate"),
    ("DELETE", "/auth/pats/{tokenId}"), ("GET", "/auth/apps"), ("POST", "/auth/apps"),
    ("GET", "/auth/apps/{appId}"), ("PUT", "/auth/apps/{appId}/activate"),
    ("PUT", "/auth/apps/{appId}/deactivate"), ("DELETE", "/auth/apps/{appId}"),
    ("POST", "/auth/registration/delegated"), ("POST", "/auth/registration/delegated/restart"),
    ("POST", "/auth/login/delegated"), ("POST", "/auth/recover/user/delegated"),
    ("GET", "/permissions"), ("POST", "/permissions"), ("GET", "/permissions/assignments"),
    ("POST", "/permissions/assignments"), ("POST", "/wallets"), ("GET", "/wallets"),
    ("GET", "/wallets/{walletId}"), ("POST", "/wallets/{walletId}/signatures"),
]
FAKE_IDS = {"credentialUuid": "cr-00000-00000-0000000000000000",
            "userId": "us-00000-00000-0000000000000000",
            "serviceAccountId": "us-00000-00000-0000000000000000",
            "tokenId": "to-00000-00000-0000000000000000",
            "appId": "ap-00000-00000-0000000000000000",
            "walletId": "wa-00000-00000-0000000000000000"}


def _concrete(path: str) -> str:
    for name, value in FAKE_IDS.items():
        path = path.replace("{" + name + "}", value)
    return path


def _call(method: str, path: str, token: str | None) -> Any:
    def run(ctx: Any) -> Any:
        body: dict[str, Any] | None = {} if method in ("POST", "PUT") else None
        return ctx.anon.request(method, _concrete(path), body, token=token or "")
    return run


for method, path in AUTH_ROUTES:
    add("HDR", "HDR-NOAUTH", "F", f"{method} {path} without Authorization is 401",
        "errors.md §3.1", _call(method, path, None), status=401, message=E.NOT_AUTHORIZED,
        guards=("auth.bearer",), routes=[(method, path)])
    add("HDR", "HDR-BADTOKEN", "F", f"{method} {path} with an unknown bearer is 401",
        "errors.md §3.1", _call(method, path, "eyJhbGciOiJFUzI1NiJ9.e30.bm90LWEtc2lnbmF0dXJl"),
        status=401, message=E.NOT_AUTHORIZED, guards=("token.signature",),
        routes=[(method, path)])


def _temp_token_on_normal(ctx: Any) -> Any:
    challenge = ctx.registration_challenge()
    return ctx.anon.request("GET", "/auth/credentials",
                            token=challenge["temporaryAuthenticationToken"])


def _normal_token_on_registration(ctx: Any) -> Any:
    actor = ctx.user("Key")
    ctx.registration_challenge()  # another user's open registration session it must not reach
    return ctx.anon.request("POST", "/auth/registration",
                            {"firstFactorCredential": actor.device.register({"challenge": "x"})},
                            token=actor.token)


def _unknown_app(ctx: Any) -> Any:
    actor = ctx.user("Key")
    return actor.api.request("GET", "/auth/credentials",
                             headers={"X-DFNS-APPID": "ap-00000-00000-0000000000000000"})


def _not_json(ctx: Any) -> Any:
    return ctx.http.post("/auth/login/init", content=b"{not json",
                         headers={"Content-Type": "application/json"})


def _missing_field(ctx: Any) -> Any:
    return ctx.anon.request("POST", "/auth/login/init", {"orgId": ctx.org_id}, token="")


def _wrong_enum(ctx: Any) -> Any:
    return ctx.sa.signed("POST", "/auth/registration/delegated",
                         {"email": ctx.name(), "kind": "Overlord"})


def _body_array(ctx: Any) -> Any:
    return ctx.anon.request("POST", "/auth/login/init", [1, 2, 3], token="")


def _malformed_bearer(ctx: Any) -> Any:
    return ctx.http.get("/auth/credentials", headers={"Authorization": "Basic dXNlcjpwYXNz"})


def _valid_envelope_on_success(ctx: Any) -> Any:
    actor = ctx.user("Key")
    response = actor.api.request("GET", "/auth/credentials")
    assert response.headers.get("content-type", "").startswith("application/json")
    return response


def _padded_app_header_absent(ctx: Any) -> Any:
    # current SDKs send no X-DFNS-APPID (spec README): the default app applies
    actor = ctx.user("Key")
    return actor.api.request("GET", "/auth/credentials")


for rule, status, message, fn, *guards in [
    ("a registration temp token on a normal endpoint is 401", 401, E.NOT_AUTHORIZED,
     _temp_token_on_normal, "token.kind"),
    ("a login token cannot complete a registration", 401, E.NOT_AUTHORIZED,
     _normal_token_on_registration, "token.kind"),
    ("X-DFNS-APPID unknown is 401", 401, E.APP_INVALID, _unknown_app, "app.valid"),
    ("a body that is not JSON is 400", 400, "not valid JSON", _not_json, "json.body"),
    ("a required field missing is 400", 400, "is required", _missing_field, "schema.required"),
    ("a wrong enum value is 400", 400, "invalid kind", _wrong_enum, "schema.enum"),
    ("a JSON body that is not an object is 400", 400, "must be a JSON object", _body_array,
     "schema.object"),
    ("a non-Bearer Authorization scheme is 401", 401, E.NOT_AUTHORIZED, _malformed_bearer,
     "auth.bearer"),
]:
    add("HDR", "HDR-ENV", "F", rule, "errors.md §1, §3.1", fn, status=status, message=message,
        guards=guards)

add("HDR", "HDR-ENV", "P", "responses are JSON", "errors.md §1", _valid_envelope_on_success)
add("HDR", "HDR-ENV", "P", "requests without X-DFNS-APPID use the default application",
    "spec README row 3", _padded_app_header_absent)


# -- appended: X-DFNS-NONCE (challenges.md §1) ------------------------------------------------
def _nonce(ctx: Any, *, date: str | None = None) -> str:
    import json
    import uuid

    from conformance.checks._contexts import soon
    from virtual_authenticators import b64url_encode

    value = {"uuid": str(uuid.uuid4()), "date": date or soon(ctx, 0)}
    return b64url_encode(json.dumps(value).encode())


def _nonce_fresh(ctx: Any) -> Any:
    return ctx.user("Key").api.request("GET", "/auth/credentials",
                                       headers={"X-DFNS-NONCE": _nonce(ctx)})


def _nonce_reused(ctx: Any) -> Any:
    from scenarios.client import ok

    actor = ctx.user("Key")
    nonce = _nonce(ctx)
    ok(actor.api.request("GET", "/auth/credentials", headers={"X-DFNS-NONCE": nonce}))
    return actor.api.request("GET", "/auth/credentials", headers={"X-DFNS-NONCE": nonce})


def _nonce_stale(ctx: Any) -> Any:
    stale = _nonce(ctx, date="2001-01-01T00:00:00Z")
    return ctx.user("Key").api.request("GET", "/auth/credentials", headers={"X-DFNS-NONCE": stale})


add("HDR", "HDR-ENV", "F", "an X-DFNS-NONCE is accepted once", "challenges.md §1", _nonce_reused,
    status=400, message=E.NONCE_USED, guards=("nonce.single_use",))
add("HDR", "HDR-ENV", "F", "an X-DFNS-NONCE dated far from now is refused", "challenges.md §1",
    _nonce_stale, status=400, message=E.NONCE_INVALID, guards=("nonce.window",))
add("HDR", "HDR-ENV", "P", "a fresh X-DFNS-NONCE is accepted", "challenges.md §1", _nonce_fresh)
