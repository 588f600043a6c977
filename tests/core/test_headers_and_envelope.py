"""Request headers (challenges.md §1) and the error envelope (errors.md §1, §3.1)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable

import pytest

from scenarios.client import DfnsApi, ok
from simulator import Simulator, errors
from tests.core.conftest import Enrolled
from tests.core.helpers import assert_error


def _nonce(sim: Simulator, value: str | None = None, date: str | None = None) -> str:
    doc = {"uuid": value or str(uuid.uuid4()), "date": date or sim.clock.iso()}
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def test_nonce_is_optional_validated_and_single_use(sa: DfnsApi, sim: Simulator) -> None:
    nonce = _nonce(sim)
    ok(sa.request("GET", "/auth/credentials", headers={"X-DFNS-NONCE": nonce}))
    assert_error(sa.request("GET", "/auth/credentials", headers={"X-DFNS-NONCE": nonce}), 400,
                 errors.NONCE_USED)
    for bad in ("not-base64-json", _nonce(sim, value="short"), _nonce(sim, date="yesterday"),
                _nonce(sim, date="2001-01-01T00:00:00.000Z")):
        assert_error(sa.request("GET", "/auth/credentials", headers={"x-dfns-nonce": bad}), 400,
                     errors.NONCE_INVALID)


def test_strict_mode_requires_the_nonce() -> None:
    sim = Simulator(require_nonce=True)
    api = DfnsApi(sim.client(), sim.bootstrap()["serviceAccount"]["accessToken"])
    assert_error(api.request("GET", "/auth/credentials"), 400, errors.NONCE_INVALID)
    ok(api.request("GET", "/auth/credentials", headers={"X-DFNS-NONCE": _nonce(sim)}))


def test_unknown_application_id(sa: DfnsApi) -> None:
    response = sa.request("GET", "/auth/credentials", headers={"X-DFNS-APPID": "ap-nope"})
    assert_error(response, 401, errors.APP_INVALID)


def test_application_id_is_optional_and_accepted(sa: DfnsApi, bootstrap: dict) -> None:
    ok(sa.request("GET", "/auth/credentials", headers={"X-DFNS-APPID": bootstrap["appId"]}))


@pytest.mark.parametrize("authorization",
                         ["", "Bearer", "Basic abc", "Bearer eyJ.bad.token", "Bearer " + "x" * 50])
def test_bad_bearer(anon: DfnsApi, authorization: str) -> None:
    response = anon.request("GET", "/auth/credentials", headers={"Authorization": authorization})
    assert_error(response, 401, errors.NOT_AUTHORIZED)


def test_unneeded_bearer_is_ignored_on_unauthenticated_routes(anon: DfnsApi,
                                                              bootstrap: dict) -> None:
    # the Python SDK sends its configured token on every call, even an expired or unknown one
    response = anon.request("POST", "/auth/login/init",
                            {"username": "ghost@example.com", "orgId": bootstrap["orgId"]},
                            headers={"Authorization": "Bearer stale-token"})
    assert_error(response, 401, errors.USER_NOT_FOUND)


def test_unneeded_user_action_is_ignored_and_not_consumed(enroll: Callable[..., Enrolled],
                                                          sim: Simulator) -> None:
    user = enroll("Key")
    body = {"expiration": sim.clock.now() + 30}
    token = user.api.user_action("POST", "/auth/credentials/code", body)
    ok(user.api.request("GET", "/auth/credentials", user_action=token))
    ok(user.api.request("POST", "/auth/credentials/code", body, user_action=token))


def test_unknown_route_and_method(anon: DfnsApi) -> None:
    response = anon.request("GET", "/auth/nowhere")
    assert_error(response, 404, "route not found")
    response = anon.request("DELETE", "/auth/login/init")
    assert_error(response, 405, "method not allowed")


@pytest.mark.parametrize(("raw", "message"), [
    (b"{not json", "request body is not valid JSON"),
    (b"[1, 2]", "body must be a JSON object"),
    (b'{"orgId": "x"}', "username is required"),
    (b'{"username": 42, "orgId": "x"}', "username must be a string"),
    (b'{"username": "", "orgId": "x"}', "username is required"),
    (b"\xff\xfe", "request body is not valid JSON"),
])
def test_malformed_bodies_are_400_with_a_precise_message(door, raw: bytes, message: str) -> None:
    response = door.post("/auth/login/init", content=raw,
                         headers={"Content-Type": "application/json"})
    assert_error(response, 400, message)


def test_wrong_enum(sa: DfnsApi) -> None:
    response = sa.request("POST", "/auth/action/init",
                          {"userActionPayload": "", "userActionHttpMethod": "FETCH",
                           "userActionHttpPath": "/x"})
    assert_error(response, 400,
                 "invalid userActionHttpMethod: expected one of POST, PUT, DELETE, GET, PATCH")


def test_envelope_shape(anon: DfnsApi) -> None:
    body = anon.request("GET", "/auth/credentials").json()
    assert set(body) == {"error", "message"}
    assert body["error"]["status"] == 401 and body["error"]["id"].isdigit()


def test_server_timing_reports_verification(enroll: Callable[..., Enrolled],
                                            sim: Simulator) -> None:
    user = enroll("Key")
    challenge = user.api.action_challenge("GET", "/auth/credentials")
    response = user.api.request("POST", "/auth/action",
                                {"challengeIdentifier": challenge["challengeIdentifier"],
                                 "firstFactor": user.device.sign(challenge)})
    timing = dict(part.strip().split(";dur=")
                  for part in response.headers["server-timing"].split(","))
    assert float(timing["verify"]) > 0 and float(timing["app"]) >= float(timing["verify"])


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_json_nested_past_the_stack_is_a_400(anon: DfnsApi, depth: int) -> None:
    body = b'{"username": "a", "x": ' + b"[" * depth + b"]" * depth + b"}"
    response = anon.http.post("/auth/login/init", content=body,
                              headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "request body is not valid JSON"
