"""The FAQ's multi-device flow (flows.md §8): two applications, a server in the middle.

Device A holds passkey A on App A's rpId; device B creates passkey B on App B's rpId; the
customer's server adds passkey B to the user with a user action signed by passkey A.
"""

from __future__ import annotations

from scenarios.client import DfnsApi, delegated_login, login, ok, register_delegated
from simulator import errors
from tests.core.helpers import assert_error
from virtual_authenticators import PasskeyAuthenticator

APP_B = {"name": "Mobile app", "kind": "ClientSideApplication",
         "relyingPartyId": "mobile.example.com", "origin": "https://mobile.example.com"}


def test_passkey_on_device_b_added_with_device_a_signing(sa: DfnsApi, bootstrap: dict) -> None:
    app_a = bootstrap["appId"]
    app_b = ok(sa.signed("POST", "/auth/apps", APP_B))["appId"]
    device_a = PasskeyAuthenticator(origin=bootstrap["origin"])
    device_b = PasskeyAuthenticator(origin=APP_B["origin"])
    register_delegated(sa, "multi@example.com", device_a)

    # 1. the server keeps the user's delegated token (read-only on its own)
    server = sa.as_(delegated_login(sa, "multi@example.com"))
    # 2-4. credential challenge; device B answers it on its own rpId
    challenge = ok(server.request("POST", "/auth/credentials/init", {"kind": "Fido2"}))
    body = {"challengeIdentifier": challenge["challengeIdentifier"], "credentialName": "Device B",
            **device_b.register({**challenge, "rp": {"id": APP_B["relyingPartyId"], "name": "B"}})}
    # 5-7. the user action is signed on device A under App A
    on_app_a = DfnsApi(server.http, server.token, device_a, app_id=app_a)
    created = ok(on_app_a.signed("POST", "/auth/credentials", body))
    assert created["relyingPartyId"] == APP_B["relyingPartyId"]
    assert created["origin"] == APP_B["origin"]

    # 8. one passkey per device: each logs in on its own app only
    anon_b = DfnsApi(sa.http, app_id=app_b)
    assert login(anon_b, org_id=bootstrap["orgId"], username="multi@example.com", device=device_b)
    anon_a = DfnsApi(sa.http, app_id=app_a)
    challenge_a = ok(anon_a.request("POST", "/auth/login/init",
                                    {"username": "multi@example.com", "orgId": bootstrap["orgId"]}))
    assert len(challenge_a["allowCredentials"]["webauthn"]) == 1
    assert login(anon_a, org_id=bootstrap["orgId"], username="multi@example.com", device=device_a)


def test_passkey_of_another_rp_cannot_sign_the_action(sa: DfnsApi, bootstrap: dict) -> None:
    app_b = ok(sa.signed("POST", "/auth/apps", APP_B))["appId"]
    device_a = PasskeyAuthenticator(origin=bootstrap["origin"])
    register_delegated(sa, "single@example.com", device_a)
    on_app_b = DfnsApi(sa.http, delegated_login(sa, "single@example.com"), device_a, app_id=app_b)
    response = on_app_b.request("POST", "/auth/action/init", {
        "userActionPayload": "", "userActionHttpMethod": "GET",
        "userActionHttpPath": "/auth/credentials"})
    assert_error(response, 401, errors.NO_USABLE_CREDENTIAL)
