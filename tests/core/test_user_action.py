"""User-action challenge × every signing kind; binding, single use and expiry of the token."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from scenarios.client import DfnsApi, ok
from simulator import Simulator, errors
from tests.core.conftest import Enrolled
from tests.core.helpers import (
    REGISTRATION_FAULTS,
    SIGNING_KINDS,
    assert_error,
    faults_for,
    faulty_assertion,
)

CASES = [(kind, fault) for kind in SIGNING_KINDS for fault in faults_for(kind)]
PATH = "/auth/credentials/code"


def _body(sim: Simulator) -> dict:
    return {"expiration": sim.clock.now() + 30}


@pytest.mark.parametrize("kind", SIGNING_KINDS)
def test_user_action_succeeds(enroll: Callable[..., Enrolled], sim: Simulator, kind: str) -> None:
    user = enroll(kind)
    challenge = user.api.action_challenge("POST", PATH, _body(sim))
    assert challenge["userVerification"] == "required"
    code = ok(user.api.signed("POST", PATH, _body(sim)))["code"]
    assert len(code) == 11


@pytest.mark.parametrize(("kind", "fault"), CASES)
def test_action_rejects_faulty_assertion(enroll: Callable[..., Enrolled], sim: Simulator,
                                         kind: str, fault: str) -> None:
    user = enroll(kind)
    challenge = user.api.action_challenge("POST", PATH, _body(sim))
    factor = faulty_assertion(kind, user.device, challenge, fault)
    response = user.api.request("POST", "/auth/action",
                                {"challengeIdentifier": challenge["challengeIdentifier"],
                                 "firstFactor": factor})
    status, message = REGISTRATION_FAULTS[fault]
    assert_error(response, status, message)


@pytest.mark.parametrize("kind", SIGNING_KINDS)
def test_user_action_token_is_single_use(enroll: Callable[..., Enrolled], sim: Simulator,
                                         kind: str) -> None:
    user = enroll(kind)
    body = _body(sim)
    token = user.api.user_action("POST", PATH, body)
    ok(user.api.request("POST", PATH, body, user_action=token))
    assert_error(user.api.request("POST", PATH, body, user_action=token), 400,
                 errors.USER_ACTION_USED)


@pytest.mark.parametrize("kind", SIGNING_KINDS)
def test_action_challenge_is_single_use(enroll: Callable[..., Enrolled], sim: Simulator,
                                        kind: str) -> None:
    user = enroll(kind)
    challenge = user.api.action_challenge("POST", PATH, _body(sim))
    factor = user.device.sign(challenge)
    body = {"challengeIdentifier": challenge["challengeIdentifier"], "firstFactor": factor}
    ok(user.api.request("POST", "/auth/action", body))
    assert_error(user.api.request("POST", "/auth/action", body), 400, errors.CHALLENGE_INVALID)


@pytest.mark.parametrize("kind", SIGNING_KINDS)
def test_action_challenge_expires(enroll: Callable[..., Enrolled], sim: Simulator,
                                  kind: str) -> None:
    user = enroll(kind)
    challenge = user.api.action_challenge("POST", PATH, _body(sim))
    sim.clock.advance(301)
    body = {"challengeIdentifier": challenge["challengeIdentifier"],
            "firstFactor": user.device.sign(challenge)}
    assert_error(user.api.request("POST", "/auth/action", body), 400, errors.CHALLENGE_INVALID)


@pytest.mark.parametrize("kind", SIGNING_KINDS)
def test_user_action_token_expires(enroll: Callable[..., Enrolled], sim: Simulator,
                                   kind: str) -> None:
    user = enroll(kind)
    sim.clock.freeze()
    body = _body(sim)
    token = user.api.user_action("POST", PATH, body)
    sim.clock.advance(301)
    assert_error(user.api.request("POST", PATH, body, user_action=token), 403,
                 errors.USER_ACTION_INVALID)


@pytest.mark.parametrize("mismatch", ["path", "payload", "method"])
def test_token_is_bound_to_method_path_and_payload(enroll: Callable[..., Enrolled], sim: Simulator,
                                                   mismatch: str) -> None:
    user = enroll("Key")
    uuid = ok(user.api.request("GET", "/auth/credentials"))["items"][0]["credentialUuid"]
    body = {"credentialUuid": uuid}
    token = user.api.user_action("PUT", "/auth/credentials/activate", body)
    if mismatch == "path":
        response = user.api.request("PUT", "/auth/credentials/deactivate", body, user_action=token)
    elif mismatch == "payload":
        response = user.api.request("PUT", "/auth/credentials/activate",
                                    {"credentialUuid": uuid + "x"},
                                    user_action=token)
    else:
        response = user.api.request("DELETE", f"/auth/credentials/{uuid}", None, user_action=token)
    assert_error(response, 403, errors.USER_ACTION_INVALID)
    # the mismatched attempts did not consume the token
    ok(user.api.request("PUT", "/auth/credentials/activate", body, user_action=token))


def test_missing_and_malformed_token(enroll: Callable[..., Enrolled], sim: Simulator) -> None:
    user = enroll("Key")
    assert_error(user.api.request("POST", PATH, _body(sim)), 403, errors.USER_ACTION_INVALID)
    assert_error(user.api.request("POST", PATH, _body(sim), user_action="not-a-token"), 403,
                 errors.USER_ACTION_INVALID)


def test_token_of_another_identity(enroll: Callable[..., Enrolled], sa: DfnsApi,
                                   sim: Simulator) -> None:
    user = enroll("Key")
    body = _body(sim)
    token = sa.user_action("POST", PATH, body)
    assert_error(user.api.request("POST", PATH, body, user_action=token), 403,
                 errors.USER_ACTION_INVALID)


def test_action_challenge_of_another_identity(enroll: Callable[..., Enrolled],
                                              sim: Simulator) -> None:
    alice, bob = enroll("Key"), enroll("Key")
    challenge = alice.api.action_challenge("POST", PATH, _body(sim))
    factor = alice.device.sign(challenge)
    response = bob.api.request("POST", "/auth/action",
                               {"challengeIdentifier": challenge["challengeIdentifier"],
                                "firstFactor": factor})
    assert_error(response, 400, errors.CHALLENGE_INVALID)


@pytest.mark.parametrize("signed_payload", [
    '{ "expiration" : EXP }',                          # docs-style spacing
    '{"expiration":EXP}',                              # Python SDK compact
])
def test_payload_is_compared_as_json(enroll: Callable[..., Enrolled], sim: Simulator,
                                     signed_payload: str) -> None:
    user = enroll("Key")
    expiration = sim.clock.now() + 30
    payload = signed_payload.replace("EXP", json.dumps(expiration))
    challenge = ok(user.api.request("POST", "/auth/action/init", {
        "userActionPayload": payload, "userActionHttpMethod": "POST",
        "userActionHttpPath": PATH + "?x=1"}))
    token = ok(user.api.request("POST", "/auth/action", {
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": user.device.sign(challenge)}))["userAction"]
    # the request body is sent with other separators, and the signed path had a query string
    raw = json.dumps({"expiration": expiration}, indent=2).encode()
    response = user.api.http.request("POST", PATH, content=raw, headers={
        **user.api._headers(token), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text


def test_empty_payload_matches_empty_body(enroll: Callable[..., Enrolled]) -> None:
    user = enroll("Key")
    uuid = ok(user.api.request("GET", "/auth/credentials"))["items"][0]["credentialUuid"]
    for signed, sent in (("", None), ("{}", None), ("", {})):
        challenge = ok(user.api.request("POST", "/auth/action/init", {
            "userActionPayload": signed, "userActionHttpMethod": "DELETE",
            "userActionHttpPath": f"/auth/credentials/{uuid}"}))
        token = ok(user.api.request("POST", "/auth/action", {
            "challengeIdentifier": challenge["challengeIdentifier"],
            "firstFactor": user.device.sign(challenge)}))["userAction"]
        # deleting the only credential is refused by the business rule, after the token passed
        response = user.api.request("DELETE", f"/auth/credentials/{uuid}", sent, user_action=token)
        assert_error(response, 400, "cannot remove the last active first-factor credential")


def test_service_account_signs_only_with_its_key(sa: DfnsApi, sim: Simulator) -> None:
    challenge = sa.action_challenge("POST", PATH, _body(sim))
    assert challenge["allowCredentials"]["webauthn"] == []
    assert len(challenge["allowCredentials"]["key"]) == 1
