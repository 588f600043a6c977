"""Login challenge × every signing kind: happy paths and every rejection."""

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
    faulty_assertion,
    make_device,
)

# origin / rpId faults only exist for passkeys; key kinds do not bind an origin (row 8)
CASES = [(kind, fault) for kind in SIGNING_KINDS for fault in faults_for(kind)]


def _init(anon: DfnsApi, org_id: str, user: Enrolled, code: str | None = None):
    body = {"username": user.username, "orgId": org_id}
    if code is not None:
        body["loginCode"] = code
    return anon.request("POST", "/auth/login/init", body)


def _login_code(anon: DfnsApi, sim: Simulator, org_id: str, user: Enrolled) -> str:
    ok(anon.request("POST", "/auth/login/code", {"username": user.username, "orgId": org_id}))
    return sim.last_code(user.username, "login-code")


def _challenge(anon: DfnsApi, sim: Simulator, org_id: str, user: Enrolled, kind: str) -> dict:
    code = _login_code(anon, sim, org_id, user) if kind == "PasswordProtectedKey" else None
    return ok(_init(anon, org_id, user, code))


def _complete(anon: DfnsApi, challenge: dict, factor: dict):
    return anon.request("POST", "/auth/login",
                        {"challengeIdentifier": challenge["challengeIdentifier"],
                         "firstFactor": factor})


@pytest.mark.parametrize("kind", SIGNING_KINDS)
def test_login_succeeds(enroll: Callable[..., Enrolled], anon: DfnsApi, sim: Simulator,
                        bootstrap: dict, kind: str) -> None:
    user = enroll(kind)
    challenge = _challenge(anon, sim, bootstrap["orgId"], user, kind)
    token = ok(_complete(anon, challenge, user.device.sign(challenge)))["token"]
    assert token.startswith("eyJ0eXAiOiJKV1Qi")
    items = ok(anon.as_(token).request("GET", "/auth/credentials"))["items"]
    assert [c["kind"] for c in items] == [kind]


@pytest.mark.parametrize(("kind", "fault"), CASES)
def test_login_rejects_faulty_assertion(enroll: Callable[..., Enrolled], anon: DfnsApi,
                                        sim: Simulator,
                                        bootstrap: dict, kind: str, fault: str) -> None:
    user = enroll(kind)
    challenge = _challenge(anon, sim, bootstrap["orgId"], user, kind)
    status, message = REGISTRATION_FAULTS[fault]
    assert_error(_complete(anon, challenge, faulty_assertion(kind, user.device, challenge, fault)),
                 status, message)


@pytest.mark.parametrize("kind", SIGNING_KINDS)
def test_login_challenge_is_single_use(enroll: Callable[..., Enrolled], anon: DfnsApi,
                                       sim: Simulator,
                                       bootstrap: dict, kind: str) -> None:
    user = enroll(kind)
    challenge = _challenge(anon, sim, bootstrap["orgId"], user, kind)
    ok(_complete(anon, challenge, user.device.sign(challenge)))
    assert_error(_complete(anon, challenge, user.device.sign(challenge)), 400,
                 errors.CHALLENGE_INVALID)


@pytest.mark.parametrize("kind", SIGNING_KINDS)
def test_login_challenge_expires(enroll: Callable[..., Enrolled], anon: DfnsApi, sim: Simulator,
                                 bootstrap: dict, kind: str) -> None:
    user = enroll(kind)
    challenge = _challenge(anon, sim, bootstrap["orgId"], user, kind)
    sim.clock.advance(5 * 60 + 1)
    assert_error(_complete(anon, challenge, user.device.sign(challenge)), 400,
                 errors.CHALLENGE_INVALID)


@pytest.mark.parametrize("kind", SIGNING_KINDS)
def test_inactive_credential_cannot_sign(enroll: Callable[..., Enrolled], anon: DfnsApi,
                                         sim: Simulator,
                                         bootstrap: dict, kind: str) -> None:
    user = enroll(kind)
    challenge = _challenge(anon, sim, bootstrap["orgId"], user, kind)
    uuid = ok(user.api.request("GET", "/auth/credentials"))["items"][0]["credentialUuid"]
    assertion = user.device.sign(challenge)
    ok(user.api.signed("PUT", "/auth/credentials/deactivate", {"credentialUuid": uuid}))
    assert_error(_complete(anon, challenge, assertion), 401, errors.INVALID_CREDENTIAL)
    assert_error(_init(anon, bootstrap["orgId"], user), 401, errors.NO_USABLE_CREDENTIAL)


@pytest.mark.parametrize("kind", SIGNING_KINDS)
def test_another_users_credential_is_refused(enroll: Callable[..., Enrolled], anon: DfnsApi,
                                             sim: Simulator,
                                             bootstrap: dict, kind: str) -> None:
    victim, intruder = enroll(kind), enroll(kind)
    challenge = _challenge(anon, sim, bootstrap["orgId"], victim, kind)
    # the intruder signs the victim's challenge with its own (registered, active) credential
    forged = dict(challenge)
    code = (_login_code(anon, sim, bootstrap["orgId"], intruder)
            if kind == "PasswordProtectedKey" else None)
    forged["allowCredentials"] = ok(_init(anon, bootstrap["orgId"], intruder,
                                          code))["allowCredentials"]
    assert_error(_complete(anon, challenge, intruder.device.sign(forged)), 401,
                 errors.INVALID_CREDENTIAL)


def test_kind_must_match_the_credential(enroll: Callable[..., Enrolled], anon: DfnsApi,
                                        sim: Simulator,
                                        bootstrap: dict) -> None:
    user = enroll("Key")
    challenge = _challenge(anon, sim, bootstrap["orgId"], user, "Key")
    factor = user.device.sign(challenge)
    factor["kind"] = "Fido2"
    assert_error(_complete(anon, challenge, factor), 401, errors.INVALID_CREDENTIAL)


def test_recovery_key_cannot_log_in(enroll: Callable[..., Enrolled], anon: DfnsApi, sim: Simulator,
                                    bootstrap: dict) -> None:
    recovery = make_device("RecoveryKey", "r@example.com")
    user = enroll("Key", recovery=recovery)
    challenge = _challenge(anon, sim, bootstrap["orgId"], user, "Key")
    assert all(recovery.credential_id != c["id"] for c in challenge["allowCredentials"]["key"])
    factor = {"kind": "RecoveryKey",
              "credentialAssertion": recovery.assertion(challenge["challenge"])}
    assert_error(_complete(anon, challenge, factor), 401, errors.INVALID_CREDENTIAL)


def test_password_protected_key_needs_a_login_code(enroll: Callable[..., Enrolled], anon: DfnsApi,
                                                  bootstrap: dict) -> None:
    user = enroll("PasswordProtectedKey")
    assert_error(_init(anon, bootstrap["orgId"], user), 401, errors.NO_USABLE_CREDENTIAL)


def test_login_code_wrong_reused_and_expired(enroll: Callable[..., Enrolled], anon: DfnsApi,
                                             sim: Simulator,
                                             bootstrap: dict) -> None:
    user = enroll("PasswordProtectedKey")
    org = bootstrap["orgId"]
    assert_error(_init(anon, org, user, "0000-0000-0000-0000"), 403, errors.INVALID_CODE)
    code = _login_code(anon, sim, org, user)
    challenge = ok(_init(anon, org, user, code))
    assert challenge["allowCredentials"]["passwordProtectedKey"][0]["encryptedPrivateKey"]
    assert_error(_init(anon, org, user, code), 403, errors.INVALID_CODE)
    late = _login_code(anon, sim, org, user)
    sim.clock.advance(10 * 60 + 1)
    assert_error(_init(anon, org, user, late), 403, errors.INVALID_CODE)


def test_unknown_user(anon: DfnsApi, bootstrap: dict) -> None:
    response = anon.request("POST", "/auth/login/init",
                            {"username": "ghost@example.com", "orgId": bootstrap["orgId"]})
    assert_error(response, 401, errors.USER_NOT_FOUND)


def test_key_login_accepts_every_client_data_layout(sa: DfnsApi, anon: DfnsApi,
                                                    bootstrap: dict) -> None:
    from scenarios.client import register_delegated
    from virtual_authenticators import KeyAuthenticator

    for i, layout in enumerate(("docs-sorted", "python-sdk", "ts-two-field")):
        for algorithm in ("P-256", "secp256k1", "Ed25519", "RSA-2048"):
            device = KeyAuthenticator(algorithm=algorithm, client_data_layout=layout)
            name = f"{layout}-{algorithm}-{i}@example.com".lower()
            register_delegated(sa, name, device)
            assert login(anon, org_id=bootstrap["orgId"], username=name, device=device)


def test_logout_revokes_the_token(enroll: Callable[..., Enrolled], anon: DfnsApi, sim: Simulator,
                                  bootstrap: dict) -> None:
    user = enroll("Key")
    token = login(anon, org_id=bootstrap["orgId"], username=user.username, device=user.device)
    me = anon.as_(token)
    ok(me.request("PUT", "/auth/logout"))
    assert_error(me.request("GET", "/auth/credentials"), 401, errors.NOT_AUTHORIZED)
    # all sessions
    t1 = login(anon, org_id=bootstrap["orgId"], username=user.username, device=user.device)
    t2 = login(anon, org_id=bootstrap["orgId"], username=user.username, device=user.device)
    ok(anon.as_(t1).request("POST", "/auth/logout", {"allSessions": True}))
    assert_error(anon.as_(t2).request("GET", "/auth/credentials"), 401, errors.NOT_AUTHORIZED)


def test_login_token_expires(enroll: Callable[..., Enrolled], anon: DfnsApi, sim: Simulator,
                             bootstrap: dict) -> None:
    user = enroll("Key")
    token = login(anon, org_id=bootstrap["orgId"], username=user.username, device=user.device)
    sim.clock.advance(3601)
    assert_error(anon.as_(token).request("GET", "/auth/credentials"), 401, errors.NOT_AUTHORIZED)


def test_delegated_login_only_for_service_accounts(enroll: Callable[..., Enrolled]) -> None:
    user = enroll("Key")
    response = user.api.signed("POST", "/auth/login/delegated", {"username": user.username})
    assert_error(response, 403,
                 f"EndUser {user.user_id} is not authorized to perform operation "
                 "(Auth:Login:Delegated)")


def test_delegated_login_unknown_user(sa: DfnsApi) -> None:
    assert_error(sa.signed("POST", "/auth/login/delegated", {"username": "ghost@example.com"}), 401,
                 errors.USER_NOT_FOUND)
