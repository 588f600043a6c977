"""``Lifetimes.access_token_days_max``: a configured maximum below the API's own 730 days is
enforced on service accounts, PATs and applications with the schema's own answer."""

from __future__ import annotations

import pytest

from scenarios.client import DfnsApi, ok, service_account_api
from simulator import Simulator
from simulator.config import Lifetimes
from tests.identities.helpers import error, human
from virtual_authenticators import KeyAuthenticator


@pytest.fixture
def short() -> DfnsApi:
    """A logged-in employee with every permission (PATs and service accounts need a human)."""
    sim = Simulator(lifetimes=Lifetimes(access_token_days_max=30,
                                         access_token_days_default=30))
    return human(sim, service_account_api(sim.client(), sim.bootstrap()), "ops@example.com").api


def _pem() -> str:
    return KeyAuthenticator().public_key_pem


@pytest.mark.parametrize(("path", "extra"), [
    ("/auth/service-accounts", {}),
    ("/auth/pats", {}),
    ("/auth/apps", {"kind": "ServerSideApplication", "relyingPartyId": "api.example.test",
                    "origin": "https://api.example.test"}),
])
def test_days_valid_past_the_configured_maximum_is_refused(short: DfnsApi, path: str,
                                                           extra: dict) -> None:
    body = {"name": "n", "publicKey": _pem(), "daysValid": 31, **extra}
    response = short.signed("POST", path, body)
    assert error(response) == (400, "invalid daysValid: must be at most 30")
    assert response.json()["error"]["details"] == {"field": "daysValid"}
    ok(short.signed("POST", path, {**body, "name": "m", "daysValid": 30}))


def test_seconds_valid_past_the_configured_maximum_is_refused(short: DfnsApi) -> None:
    body = {"name": "p", "publicKey": _pem(), "secondsValid": 30 * 86400 + 1}
    assert error(short.signed("POST", "/auth/pats", body)) == (
        400, "invalid secondsValid: must be at most 2592000")
    ok(short.signed("POST", "/auth/pats", {**body, "secondsValid": 30 * 86400}))


@pytest.mark.parametrize(("settings", "message"), [
    ({"access_token_days_max": 1000},
     "access_token_days_max must be between 1 and 730 (the API's own bound), not 1000"),
    ({"access_token_days_max": 0},
     "access_token_days_max must be between 1 and 730 (the API's own bound), not 0"),
    ({"access_token_days_max": 30},
     "access_token_days_default must be between 1 and access_token_days_max (30), not 730"),
])
def test_a_maximum_the_api_cannot_have_is_refused_at_construction(settings: dict,
                                                                  message: str) -> None:
    with pytest.raises(ValueError) as info:
        Lifetimes(**settings)
    assert str(info.value) == message
