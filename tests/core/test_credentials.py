"""Credential challenge × every kind, both creation flows, and credential lifecycle."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from scenarios.client import DfnsApi, login, ok
from simulator import Simulator, errors
from tests.core.conftest import Enrolled
from tests.core.helpers import (
    REGISTRATION_FAULTS,
    SIGNING_KINDS,
    assert_error,
    faults_for,
    faulty_attestation,
    make_device,
)

ALL_KINDS = (*SIGNING_KINDS, "RecoveryKey")
CASES = [(kind, fault) for kind in SIGNING_KINDS for fault in faults_for(kind)]


def _create_body(challenge: dict, attestation: dict, name: str = "second") -> dict:
    return {"challengeIdentifier": challenge["challengeIdentifier"], "credentialName": name,
            **attestation}


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_regular_creation(enroll: Callable[..., Enrolled], kind: str) -> None:
    user = enroll("Key")
    challenge = ok(user.api.request("POST", "/auth/credentials/init", {"kind": kind}))
    assert challenge["kind"] == kind
    device = make_device(kind, user.username)
    info = ok(user.api.signed("POST", "/auth/credentials",
                              _create_body(challenge, device.register(challenge))))
    assert info["kind"] == kind and info["isActive"] and info["publicKey"].startswith("SHA256:")
    kinds = [c["kind"] for c in ok(user.api.request("GET", "/auth/credentials"))["items"]]
    assert kinds == ["Key", kind]


@pytest.mark.parametrize(("kind", "fault"), CASES)
def test_creation_rejects_faulty_attestation(enroll: Callable[..., Enrolled], kind: str,
                                             fault: str) -> None:
    user = enroll("Key")
    challenge = ok(user.api.request("POST", "/auth/credentials/init", {"kind": kind}))
    attestation = faulty_attestation(kind, make_device(kind, user.username), challenge, fault)
    status, message = REGISTRATION_FAULTS[fault]
    assert_error(user.api.signed("POST", "/auth/credentials", _create_body(challenge, attestation)),
                 status, message)


def test_creation_needs_a_user_action(enroll: Callable[..., Enrolled]) -> None:
    user = enroll("Key")
    challenge = ok(user.api.request("POST", "/auth/credentials/init", {"kind": "Key"}))
    body = _create_body(challenge, make_device("Key").register(challenge))
    assert_error(user.api.request("POST", "/auth/credentials", body), 403,
                 errors.USER_ACTION_INVALID)


def test_kind_must_match_the_challenge(enroll: Callable[..., Enrolled]) -> None:
    user = enroll("Key")
    challenge = ok(user.api.request("POST", "/auth/credentials/init", {"kind": "Fido2"}))
    body = _create_body(challenge, make_device("Key").register(challenge))
    assert_error(user.api.signed("POST", "/auth/credentials", body), 400,
                 "credentialKind Key does not match the challenge (Fido2)")


def test_credential_challenge_expires_and_is_single_use(enroll: Callable[..., Enrolled],
                                                        sim: Simulator) -> None:
    user = enroll("Key")
    challenge = ok(user.api.request("POST", "/auth/credentials/init", {"kind": "Key"}))
    body = _create_body(challenge, make_device("Key").register(challenge))
    ok(user.api.signed("POST", "/auth/credentials", body))
    again = _create_body(challenge, make_device("Key").register(challenge), "third")
    assert_error(user.api.signed("POST", "/auth/credentials", again), 400, errors.CHALLENGE_INVALID)
    late = ok(user.api.request("POST", "/auth/credentials/init", {"kind": "Key"}))
    sim.clock.advance(301)
    body = _create_body(late, make_device("Key").register(late))
    assert_error(user.api.signed("POST", "/auth/credentials", body), 400, errors.CHALLENGE_INVALID)


def test_unknown_kind(enroll: Callable[..., Enrolled]) -> None:
    user = enroll("Key")
    response = user.api.request("POST", "/auth/credentials/init", {"kind": "Password2"})
    assert response.status_code == 400 and "invalid kind" in response.json()["error"]["message"]


# -- creation with a one-time code (App 1 → App 2) ----------------------------------------------
def _code(user: Enrolled, sim: Simulator, seconds: float = 30) -> str:
    return ok(user.api.signed("POST", "/auth/credentials/code",
                              {"expiration": sim.clock.now() + seconds}))["code"]


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_creation_with_code(enroll: Callable[..., Enrolled], anon: DfnsApi, sim: Simulator,
                            bootstrap: dict, kind: str) -> None:
    user = enroll("Key")
    code = _code(user, sim)
    challenge = ok(anon.request("POST", "/auth/credentials/code/init",
                                {"code": code, "credentialKind": kind}))
    device = make_device(kind, user.username)
    info = ok(anon.request("POST", "/auth/credentials/code/verify",
                           _create_body(challenge, device.register(challenge))))
    assert info["kind"] == kind
    if kind in ("Fido2", "Key"):
        assert login(anon, org_id=bootstrap["orgId"], username=user.username, device=device)


def test_code_after_one_minute(enroll: Callable[..., Enrolled], anon: DfnsApi,
                               sim: Simulator) -> None:
    user = enroll("Key")
    sim.clock.freeze()
    code = _code(user, sim, seconds=60)
    sim.clock.advance(61)
    response = anon.request("POST", "/auth/credentials/code/init",
                            {"code": code, "credentialKind": "Key"})
    assert_error(response, 403, errors.INVALID_CODE)


def test_code_is_single_use(enroll: Callable[..., Enrolled], anon: DfnsApi, sim: Simulator) -> None:
    user = enroll("Key")
    code = _code(user, sim)
    ok(anon.request("POST", "/auth/credentials/code/init", {"code": code, "credentialKind": "Key"}))
    response = anon.request("POST", "/auth/credentials/code/init",
                            {"code": code, "credentialKind": "Key"})
    assert_error(response, 403, errors.INVALID_CODE)


@pytest.mark.parametrize(("offset", "message"), [
    (61, "invalid expiration: must be at most 1 minute in the future"),
    (-1, "invalid expiration: must be in the future"),
])
def test_code_expiration_bounds(enroll: Callable[..., Enrolled], sim: Simulator, offset: int,
                                message: str) -> None:
    user = enroll("Key")
    sim.clock.freeze()
    response = user.api.signed("POST", "/auth/credentials/code",
                               {"expiration": sim.clock.now() + offset})
    assert_error(response, 400, message)


def test_code_expiration_as_iso_string(enroll: Callable[..., Enrolled], sim: Simulator) -> None:
    user = enroll("Key")
    expiration = sim.clock.iso(sim.clock.now() + 30)
    assert ok(user.api.signed("POST", "/auth/credentials/code",
                              {"expiration": expiration}))["expiration"] == expiration


def test_regular_challenge_cannot_complete_the_code_flow(enroll: Callable[..., Enrolled],
                                                         anon: DfnsApi) -> None:
    user = enroll("Key")
    challenge = ok(user.api.request("POST", "/auth/credentials/init", {"kind": "Key"}))
    body = _create_body(challenge, make_device("Key").register(challenge))
    assert_error(anon.request("POST", "/auth/credentials/code/verify", body), 400,
                 errors.CHALLENGE_INVALID)


# -- lifecycle ---------------------------------------------------------------------------------
def test_activate_deactivate_and_delete(enroll: Callable[..., Enrolled]) -> None:
    user = enroll("Key")
    challenge = ok(user.api.request("POST", "/auth/credentials/init", {"kind": "Key"}))
    second = ok(user.api.signed("POST", "/auth/credentials",
                                _create_body(challenge, make_device("Key").register(challenge))))
    uuid = second["credentialUuid"]
    ok(user.api.signed("PUT", "/auth/credentials/deactivate", {"credentialUuid": uuid}))
    states = {c["credentialUuid"]: c["isActive"]
              for c in ok(user.api.request("GET", "/auth/credentials"))["items"]}
    assert states[uuid] is False
    ok(user.api.signed("PUT", "/auth/credentials/activate", {"credentialUuid": uuid}))
    ok(user.api.signed("DELETE", f"/auth/credentials/{uuid}"))
    assert uuid not in {c["credentialUuid"]
                        for c in ok(user.api.request("GET", "/auth/credentials"))["items"]}


def test_cannot_touch_another_users_credential(enroll: Callable[..., Enrolled]) -> None:
    alice, bob = enroll("Key"), enroll("Key")
    uuid = ok(bob.api.request("GET", "/auth/credentials"))["items"][0]["credentialUuid"]
    response = alice.api.signed("PUT", "/auth/credentials/deactivate", {"credentialUuid": uuid})
    assert_error(response, 404, "credential not found")
