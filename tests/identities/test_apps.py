"""Applications (endpoints.md §9): client- and server-side apps, X-DFNS-APPID / APPSECRET."""

from __future__ import annotations

from scenarios.client import DfnsApi, login, ok, register_delegated
from simulator import Simulator, errors
from tests.identities.helpers import error, new_permission, pem_pair
from virtual_authenticators import PasskeyAuthenticator

SECRET_INVALID = "application secret is missing or invalid"


def _client_app(sa: DfnsApi, name: str, host: str, **fields: object) -> dict:
    body = {"name": name, "kind": "ClientSideApplication", "relyingPartyId": host,
            "origin": f"https://{host}", **fields}
    return ok(sa.signed("POST", "/auth/apps", body))


def test_client_side_app_crud(sim: Simulator, sa: DfnsApi) -> None:
    app = _client_app(sa, "web", "app.example.test", externalId="e-1")
    assert app["kind"] == "ClientSideApplication" and app["accessTokens"] == []
    assert app["expectedRpId"] == "app.example.test" and app["expectedOrigin"] == "https://app.example.test"
    assert app["isActive"] is True and app["externalId"] == "e-1" and app["permissionAssignments"]
    path = f"/auth/apps/{app['appId']}"
    assert ok(sa.request("GET", path))["appId"] == app["appId"]
    assert app["appId"] in [a["appId"] for a in ok(sa.request("GET", "/auth/apps"))["items"]]
    assert ok(sa.signed("PUT", path, {"name": "web-2"}))["name"] == "web-2"
    assert ok(sa.signed("POST", path, {"externalId": "e-2"}))["externalId"] == "e-2"
    assert ok(sa.signed("PUT", f"{path}/deactivate"))["isActive"] is False
    assert ok(sa.signed("PUT", f"{path}/activate"))["isActive"] is True
    assert ok(sa.signed("DELETE", path))["isActive"] is False
    assert error(sa.request("GET", path)) == (404, errors.APP_NOT_FOUND)
    for method, suffix in (("PUT", ""), ("POST", ""), ("PUT", "/activate"), ("PUT", "/deactivate"),
                           ("DELETE", "")):
        assert error(sa.signed(method, f"/auth/apps/ap-unknown{suffix}",
                               {} if suffix == "" and method != "DELETE" else None)) == (
            404, errors.APP_NOT_FOUND)


def test_app_validation(sim: Simulator, sa: DfnsApi) -> None:
    _client_app(sa, "taken", "a.example.test")
    base = {"name": "x", "kind": "ClientSideApplication", "relyingPartyId": "b.example.test",
            "origin": "https://b.example.test"}
    cases = [
        ({**base, "name": "taken"}, 409, "an application with this name already exists"),
        ({**base, "origin": "b.example.test"}, 400,
         "invalid origin: expected a URL such as https://app.example.com"),
        ({**base, "relyingPartyId": "https://b.example.test"}, 400,
         "invalid relyingPartyId: expected a domain such as example.com"),
        ({**base, "origin": "https://evil.test"}, 400,
         "invalid origin: its host must be the relyingPartyId or a subdomain of it"),
        ({**base, "kind": "ServerSideApplication"}, 400,
         "publicKey is required for a ServerSideApplication"),
        ({**base, "kind": "Other"}, 400,
         "invalid kind: expected one of ClientSideApplication, ServerSideApplication"),
        ({**base, "permissionId": "pm-nope"}, 404, "permission not found"),
    ]
    for body, status, message in cases:
        assert error(sa.signed("POST", "/auth/apps", body)) == (status, message), body


def test_an_app_cannot_modify_its_own_state(sim: Simulator, sa: DfnsApi, bootstrap: dict) -> None:
    app = _client_app(sa, "self", "self.example.test")
    as_app = DfnsApi(sa.http, sa.token, sa.signer, app_id=app["appId"])
    for method, suffix in (("PUT", "/deactivate"), ("PUT", "/activate"), ("DELETE", "")):
        assert error(as_app.signed(method, f"/auth/apps/{app['appId']}{suffix}")) == (
            400, errors.APP_SELF_MODIFY)
    # without X-DFNS-APPID the org's default app is the request's app
    assert error(sa.signed("PUT", f"/auth/apps/{bootstrap['appId']}/deactivate")) == (
        400, errors.APP_SELF_MODIFY)
    # another app may do it, and a deactivated app no longer admits requests
    ok(sa.signed("PUT", f"/auth/apps/{app['appId']}/deactivate"))
    assert error(as_app.request("GET", "/auth/users")) == (401, errors.APP_INVALID)


def test_app_permissions_intersect_the_callers(sim: Simulator, sa: DfnsApi) -> None:
    narrow = new_permission(sim, ["Auth:Users:Read", "Auth:Action:Sign"])
    app = _client_app(sa, "narrow", "narrow.example.test", permissionId=narrow)
    as_app = DfnsApi(sa.http, sa.token, sa.signer, app_id=app["appId"])
    assert ok(as_app.request("GET", "/auth/users"))["items"]
    assert error(as_app.signed("POST", "/auth/users",
                               {"email": "z@example.com", "kind": "CustomerEmployee"})) == (
        403,
        f"Application {app['appId']} is not authorized to perform operation (Auth:Users:Create)")


def test_server_side_app_secret(sim: Simulator, sa: DfnsApi) -> None:
    public, _ = pem_pair()
    app = ok(sa.signed("POST", "/auth/apps", {
        "name": "backend", "kind": "ServerSideApplication", "relyingPartyId": "api.example.test",
        "origin": "https://api.example.test", "publicKey": public, "daysValid": 10}))
    token = app["accessTokens"][0]
    assert (token["kind"] == "Application" and token["linkedAppId"] == app["appId"]
            and token["linkedUserId"] == "")
    assert token["accessToken"].startswith("eyJ") and token["publicKey"].startswith("SHA256:")
    secret = token["accessToken"]
    as_app = DfnsApi(sa.http, sa.token, sa.signer, app_id=app["appId"])
    assert error(as_app.request("GET", "/auth/users")) == (401, SECRET_INVALID)
    assert error(as_app.request("GET", "/auth/users",
                                headers={"X-DFNS-APPSECRET": secret[:-2] + "xx"})) == (
        401, SECRET_INVALID)
    assert error(as_app.request("GET", "/auth/users",
                                headers={"X-DFNS-APPSECRET": sa.token})) == (401, SECRET_INVALID)
    with_secret = DfnsApi(sa.http, sa.token, sa.signer, app_id=app["appId"],
                          headers={"X-DFNS-APPSECRET": secret})
    assert ok(with_secret.request("GET", "/auth/users"))["items"]
    assert ok(with_secret.signed("POST", "/auth/users",
                                 {"email": "srv@example.com", "kind": "CustomerEmployee"}))
    # the secret is shown once; the app token is no bearer token
    assert "accessToken" not in ok(sa.request("GET",
                                              f"/auth/apps/{app['appId']}"))["accessTokens"][0]
    assert error(DfnsApi(sa.http, secret).request("GET", "/auth/users")) == (
        401, errors.NOT_AUTHORIZED)
    # the secret expires with its token
    sim.clock.advance(10 * 86400 + 1)
    assert error(with_secret.request("GET", "/auth/apps")) == (401, SECRET_INVALID)


def test_passkey_of_one_app_is_rejected_under_another(sim: Simulator, sa: DfnsApi) -> None:
    app_a = _client_app(sa, "A", "a.example.test")
    app_b = _client_app(sa, "B", "b.example.test")
    device = PasskeyAuthenticator(origin="https://a.example.test")
    register_delegated(DfnsApi(sa.http, sa.token, sa.signer, app_id=app_a["appId"]),
                       "pk@example.com", device)
    under_b = DfnsApi(sa.http, app_id=app_b["appId"])
    response = under_b.request("POST", "/auth/login/init",
                               {"username": "pk@example.com", "orgId": sim.org_id})
    assert error(response) == (401, errors.NO_USABLE_CREDENTIAL)
    under_a = DfnsApi(sa.http, app_id=app_a["appId"])
    assert login(under_a, org_id=sim.org_id, username="pk@example.com", device=device)
