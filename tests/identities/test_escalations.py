"""Refusals found by trying to get more than was granted (a review pass): each test is a way in
that used to work."""

from __future__ import annotations

from scenarios.client import DfnsApi, ok
from simulator import Simulator, errors
from simulator.services.bootstrap import create_org
from tests.identities.helpers import create_pat, error, human


def test_a_user_action_signed_through_a_pat_is_good_for_that_pat_only(sim: Simulator,
                                                                       sa: DfnsApi) -> None:
    owner = human(sim, sa, "owner@example.com")
    permission = ok(owner.api.signed("POST", "/permissions", {
        "name": "read-only", "operations": ["Auth:Users:Read", "Auth:Action:Sign"]}))
    _, pat = create_pat(owner.api, permissionId=permission["id"])
    body = {"name": "escalated", "operations": ["Wallets:Read"]}
    token = pat.user_action("POST", "/permissions", body)
    # the owner's own session holds Auth:Permissions:Create; the PAT-signed action must not
    # lend the PAT those rights through it
    response = owner.api.request("POST", "/permissions", body,
                                 headers={"X-DFNS-USERACTION": token})
    assert error(response) == (403, errors.USER_ACTION_INVALID)


def test_a_service_account_never_logs_in(sim: Simulator, sa: DfnsApi, bootstrap: dict) -> None:
    anon = DfnsApi(sa.http)
    body = {"username": bootstrap["serviceAccount"].get("username", "dfns-sim-bootstrap"),
            "orgId": sim.org_id}
    assert error(anon.request("POST", "/auth/login/init", body, token="")) == (
        401, errors.USER_NOT_FOUND)
    assert error(anon.request("POST", "/auth/login/code", body, token="")) == (
        401, errors.USER_NOT_FOUND)


def test_another_orgs_application_is_refused_before_login(sim: Simulator, sa: DfnsApi) -> None:
    human(sim, sa, "jane@example.com")
    _, other_app = create_org(sim.core, name="Elsewhere", rp_id="evil.example",
                              origin="https://evil.example", app_name="Elsewhere")
    anon = DfnsApi(sa.http)
    response = anon.request("POST", "/auth/login/init",
                            {"username": "jane@example.com", "orgId": sim.org_id},
                            token="", headers={"X-DFNS-APPID": other_app.id})
    assert error(response) == (401, errors.APP_INVALID)


def test_the_signature_counter_never_goes_down(sim: Simulator, sa: DfnsApi) -> None:
    from virtual_authenticators import PasskeyAuthenticator

    device = PasskeyAuthenticator(origin=sim.config.origin, counter_mode="per-credential")
    user = human(sim, sa, "counter@example.com")
    challenge = ok(user.api.request("POST", "/auth/credentials/init", {"kind": "Fido2"}))
    ok(user.api.signed("POST", "/auth/credentials", {
        "credentialKind": "Fido2", "challengeIdentifier": challenge["challengeIdentifier"],
        "credentialName": "key", "credentialInfo": device.register(challenge)["credentialInfo"]}))
    passkey_user = user.api.as_(user.api.token, device)
    for _ in range(3):  # counters 1, 2, 3
        ok(passkey_user.signed("POST", "/permissions",
                               {"name": f"p{_}", "operations": ["Wallets:Read"]}))
    stored = next(c for c in sim.core.store.scan("credentials") if c.kind == "Fido2")
    assert stored.sign_count == 3
    device.counter_mode = "zero"  # an authenticator may answer 0 (legal), but may not reset it
    ok(passkey_user.signed("POST", "/permissions", {"name": "z", "operations": ["Wallets:Read"]}))
    assert sim.core.store.get("credentials", stored.uuid).sign_count == 3


END_USERS_ONLY = ("Auth:Users:Create", "Auth:Users:Delegate", "Auth:Types:EndUser",
                  "Auth:Users:Read", "Auth:Action:Sign")


def test_a_service_account_for_end_users_cannot_take_over_an_employee(sim: Simulator,
                                                                        sa: DfnsApi) -> None:
    from tests.identities.helpers import service_account_with

    limited, limited_id = service_account_with(sim, sa.http, END_USERS_ONLY)
    refused = (403, f"CustomerEmployee {limited_id} is not authorized to perform operation "
                    "(Auth:Types:Employee)")
    # a new employee through delegated registration: the same type check as POST /auth/users
    assert error(limited.signed("POST", "/auth/registration/delegated",
                                {"email": "boss@example.com", "kind": "CustomerEmployee"})
                 ) == refused
    # an existing employee, pending its e-mailed registration code, asked for as an EndUser
    ok(sa.signed("POST", "/auth/users", {"email": "cfo@example.com", "kind": "CustomerEmployee"}))
    assert error(limited.signed("POST", "/auth/registration/delegated",
                                {"email": "cfo@example.com", "kind": "EndUser"})) == refused
    assert error(limited.signed("POST", "/auth/login/delegated",
                                {"username": "cfo@example.com"})) == refused
    # even with the type right, a user who registers directly is not the service account's
    assert error(sa.signed("POST", "/auth/registration/delegated",
                           {"email": "cfo@example.com", "kind": "CustomerEmployee"})) == (
        403, "this user registers directly: a service account cannot act for it")
    # and an existing user's kind cannot be restated
    ok(sa.signed("POST", "/auth/users", {"email": "kim@example.com", "kind": "EndUser"}))
    assert error(sa.signed("POST", "/auth/registration/delegated",
                           {"email": "kim@example.com", "kind": "CustomerEmployee"})) == (
        400, "kind must be the existing user's kind (EndUser)")


def test_no_delegated_session_before_registration(sim: Simulator, sa: DfnsApi) -> None:
    ok(sa.signed("POST", "/auth/registration/delegated",
                 {"email": "pending@example.com", "kind": "EndUser"}))
    assert error(sa.signed("POST", "/auth/login/delegated",
                           {"username": "pending@example.com"})) == (
        400, "the user has not completed registration")


def test_the_oidc_credential_route_takes_an_oidc_session_only(sim: Simulator,
                                                              sa: DfnsApi) -> None:
    user = human(sim, sa, "oidc@example.com")
    challenge = ok(user.api.request("POST", "/auth/credentials/init", {"kind": "Key"}))
    from virtual_authenticators import KeyAuthenticator

    body = {"credentialKind": "Key", "challengeIdentifier": challenge["challengeIdentifier"],
            "credentialName": "k",
            "credentialInfo": KeyAuthenticator().register(challenge)["credentialInfo"]}
    assert error(user.api.request("POST", "/auth/login/oidc/credentials", body)) == (
        403, "this endpoint takes the token of POST /auth/login/oidc only")


def test_a_pat_cannot_add_or_switch_off_its_users_credentials(sim: Simulator,
                                                              sa: DfnsApi) -> None:
    owner = human(sim, sa, "patowner@example.com")
    _, pat = create_pat(owner.api)
    refused = "is not authorized to perform operation (Auth:Creds:Create)"
    response = pat.request("POST", "/auth/credentials/init", {"kind": "Key"})
    assert response.status_code == 403 and refused in response.json()["message"]
    own = next(c for c in sim.core.store.scan("credentials")
               if c.user_id == owner.user_id and c.kind == "Key" and not c.token_id)
    response = pat.signed("PUT", "/auth/credentials/deactivate", {"credentialUuid": own.uuid})
    assert response.status_code == 403
    assert response.json()["message"].endswith("(Auth:Creds:Update)")
    assert sim.core.store.get("credentials", own.uuid).is_active
