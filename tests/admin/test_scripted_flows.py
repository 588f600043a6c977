"""The control plane in use: clock-driven expiry and outbox-scripted direct registration."""

from __future__ import annotations

import httpx

from scenarios.client import DfnsApi, complete_registration, login, ok
from simulator import Simulator
from tests.admin.helpers import admin, error_of
from virtual_authenticators import KeyAuthenticator


def _employee_with_registration_code(sa: DfnsApi, door: httpx.Client, email: str) -> str:
    """Direct registration starts with the system e-mailing a code; read it from the outbox."""
    ok(sa.signed("POST", "/auth/users", {"email": email, "kind": "CustomerEmployee"}))
    (mail,) = admin(door, "GET", "outbox", to=email, kind="registration-code")["items"]
    return str(mail["code"])


def test_direct_registration_scripted_through_the_outbox(door: httpx.Client, sa: DfnsApi,
                                                         anon: DfnsApi, bootstrap: dict) -> None:
    email = "direct@example.com"
    code = _employee_with_registration_code(sa, door, email)
    challenge = ok(anon.request("POST", "/auth/registration/init", {
        "username": email, "registrationCode": code, "orgId": bootstrap["orgId"]}))
    device = KeyAuthenticator()
    result = complete_registration(anon, challenge, device)
    assert result["user"]["username"] == email
    assert login(anon, org_id=bootstrap["orgId"], username=email, device=device)


def test_registration_code_expires_when_the_clock_advances(door: httpx.Client, sim: Simulator,
                                                           sa: DfnsApi, anon: DfnsApi,
                                                           bootstrap: dict) -> None:
    code = _employee_with_registration_code(sa, door, "late@example.com")
    admin(door, "POST", "clock", {"action": "advance", "seconds": 4 * 3600 + 1})
    response = anon.request("POST", "/auth/registration/init", {
        "username": "late@example.com", "registrationCode": code, "orgId": bootstrap["orgId"]})
    assert error_of(response, 400) == "Registration code expired"


def test_login_challenge_expires_after_advance(door: httpx.Client, sim: Simulator, sa: DfnsApi,
                                               anon: DfnsApi, bootstrap: dict) -> None:
    from scenarios.client import register_delegated

    device = KeyAuthenticator()
    register_delegated(sa, "clock@example.com", device)
    body = {"username": "clock@example.com", "orgId": bootstrap["orgId"]}
    admin(door, "POST", "clock", {"action": "freeze"})
    fresh = ok(anon.request("POST", "/auth/login/init", body))
    admin(door, "POST", "clock", {"action": "advance", "seconds": 299})
    assert ok(anon.request("POST", "/auth/login", {
        "challengeIdentifier": fresh["challengeIdentifier"],
        "firstFactor": device.sign(fresh)}))["token"]
    stale = ok(anon.request("POST", "/auth/login/init", body))
    admin(door, "POST", "clock", {"action": "advance", "seconds": 301})
    response = anon.request("POST", "/auth/login", {
        "challengeIdentifier": stale["challengeIdentifier"], "firstFactor": device.sign(stale)})
    assert error_of(response, 400) == "Challenge token is not valid."
