"""Social registration / login and OIDC / SSO login against a test identity provider."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from scenarios.client import DfnsApi, complete_registration, ok
from simulator import Simulator
from simulator.services import social
from virtual_authenticators import KeyAuthenticator, PasskeyAuthenticator


@pytest.fixture
def idp(sim: Simulator) -> social.TestIdentityProvider:
    return social.install(sim.core, social.TestIdentityProvider())


def _error(response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"] == message


def _social(anon: DfnsApi, path: str, token: str, org_id: str):
    return anon.request("POST", path,
                        {"idToken": token, "socialLoginProviderKind": "Oidc", "orgId": org_id})


def test_social_registration_then_login(sim: Simulator, anon: DfnsApi,
                                        idp: social.TestIdentityProvider) -> None:
    challenge = ok(_social(anon, "/auth/registration/social", idp.mint("sam@example.com"),
                           sim.org_id))
    assert challenge["user"]["name"] == "sam@example.com"
    complete_registration(anon, challenge, KeyAuthenticator())
    result = ok(_social(anon, "/auth/login/social", idp.mint("sam@example.com"), sim.org_id))
    me = ok(anon.as_(result["token"]).request("GET", "/auth/credentials"))
    assert [c["kind"] for c in me["items"]] == ["Key"]
    _error(_social(anon, "/auth/registration/social", idp.mint("sam@example.com"), sim.org_id),
           401, "User already exists.")


def test_id_token_rejections(sim: Simulator, anon: DfnsApi,
                             idp: social.TestIdentityProvider) -> None:
    path, org = "/auth/login/social", sim.org_id
    other_key = ec.generate_private_key(ec.SECP256R1())
    _error(_social(anon, path, idp.mint("a@example.com", key=other_key), org), 401,
           "invalid id token: bad signature")
    _error(_social(anon, path, idp.mint("a@example.com", issued_at=time.time() - 7200), org), 401,
           "invalid id token: expired")
    _error(_social(anon, path, idp.mint("a@example.com", audience="someone-else"), org), 401,
           "invalid id token: wrong audience")
    stranger = social.TestIdentityProvider(issuer="https://evil.example")
    _error(_social(anon, path, stranger.mint("a@example.com"), org), 401,
           "invalid id token: untrusted issuer")
    _error(_social(anon, path, "not-a-jwt", org), 401, "invalid id token: malformed token")
    header, payload, signature = idp.mint("a@example.com").split(".")
    tampered = idp.mint("b@example.com").split(".")[1]
    _error(_social(anon, path, f"{header}.{tampered}.{signature}", org), 401,
           "invalid id token: bad signature")
    # valid token, unknown user
    _error(_social(anon, path, idp.mint("nobody@example.com"), org), 401, "User not found")


def test_oidc_login_with_first_credential(sim: Simulator, anon: DfnsApi, sa: DfnsApi,
                                          idp: social.TestIdentityProvider) -> None:
    ok(sa.signed("POST", "/auth/users", {"email": "olga@example.com", "kind": "CustomerEmployee",
                                         "registration": "Delegated"}))
    start = ok(anon.request("POST", "/auth/login/oidc/init",
                            {"orgId": sim.org_id, "redirectUri": "https://app.example/cb",
                             "nonce": "n-1"}))
    redirect = idp.authorize(start["redirectUrl"], "olga@example.com")
    result = ok(anon.request("POST", "/auth/login/oidc", redirect))
    assert "credentialChallenge" in result
    device = PasskeyAuthenticator(origin=sim.config.origin)
    attestation = device.register(result["credentialChallenge"])
    body = {"challengeIdentifier": result["credentialChallenge"]["challengeIdentifier"],
            "credentialName": "first", **attestation}
    user = anon.as_(result["token"])
    created = ok(user.request("POST", "/auth/login/oidc/credentials", body))
    assert created["kind"] == "Fido2" and created["isActive"] is True
    _error(user.request("POST", "/auth/login/oidc/credentials", body), 400,
           "user already has an active first-factor credential")
    # state and code are single use
    _error(anon.request("POST", "/auth/login/oidc", redirect), 401, "invalid or expired state")


def test_oidc_nonce_and_code_checks(sim: Simulator, anon: DfnsApi, sa: DfnsApi,
                                    idp: social.TestIdentityProvider) -> None:
    ok(sa.signed("POST", "/auth/users", {"email": "nick@example.com", "kind": "CustomerEmployee",
                                         "registration": "Delegated"}))
    start = ok(anon.request("POST", "/auth/login/oidc/init",
                            {"orgId": sim.org_id, "redirectUri": "https://app.example/cb",
                             "nonce": "n-2"}))
    redirect = idp.authorize(start["redirectUrl"], "nick@example.com", nonce="other")
    _error(anon.request("POST", "/auth/login/oidc", redirect), 401,
           "invalid id token: nonce mismatch")
    start = ok(anon.request("POST", "/auth/login/oidc/init",
                            {"orgId": sim.org_id, "redirectUri": "https://a/cb"}))
    state = idp.authorize(start["redirectUrl"], "nick@example.com")["state"]
    _error(anon.request("POST", "/auth/login/oidc", {"code": "forged", "state": state}), 401,
           "invalid or expired authorization code")


def test_sso_login(sim: Simulator, anon: DfnsApi, sa: DfnsApi,
                   idp: social.TestIdentityProvider) -> None:
    ok(sa.signed("POST", "/auth/users", {"email": "sso@example.com", "kind": "CustomerEmployee",
                                         "registration": "Delegated"}))
    start = ok(anon.request("POST", "/auth/login/sso/init",
                            {"orgId": sim.org_id, "clientId": "corp-sso",
                             "redirectUri": "https://app.example/cb"}))
    assert "client_id=corp-sso" in start["ssoRedirectUrl"]
    result = ok(anon.request("POST", "/auth/login/sso",
                             idp.authorize(start["ssoRedirectUrl"], "sso@example.com")))
    assert result["token"]


def test_no_identity_provider_configured(sim: Simulator, anon: DfnsApi) -> None:
    _error(anon.request("POST", "/auth/login/sso/init",
                        {"orgId": sim.org_id, "clientId": "c", "redirectUri": "https://a/cb"}),
           400, "no identity provider is configured for this organization")
    _error(_social(anon, "/auth/login/social", "a.b.c", sim.org_id), 401,
           "invalid id token: malformed token")
