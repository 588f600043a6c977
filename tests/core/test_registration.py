"""Registration challenge × every credential kind: happy paths and every rejection."""

from __future__ import annotations

import pytest

from scenarios.client import DfnsApi, ok
from simulator import Simulator, errors
from tests.core.helpers import (
    REGISTRATION_FAULTS,
    SIGNING_KINDS,
    assert_error,
    faults_for,
    faulty_attestation,
    make_device,
)

CASES = [(kind, fault) for kind in SIGNING_KINDS for fault in faults_for(kind)]


def _challenge(sa: DfnsApi, username: str = "new@example.com", kind: str = "EndUser") -> dict:
    return ok(sa.signed("POST", "/auth/registration/delegated", {"email": username, "kind": kind}))


def _complete(api: DfnsApi, challenge: dict, body: dict):
    return api.request("POST", "/auth/registration", body,
                       token=challenge["temporaryAuthenticationToken"])


@pytest.mark.parametrize("kind", SIGNING_KINDS)
def test_registration_succeeds_for_each_first_factor_kind(sa: DfnsApi, kind: str) -> None:
    challenge = _challenge(sa)
    assert challenge["rp"] == {"id": "localhost", "name": "dfns-sim"}
    assert challenge["pubKeyCredParams"] == challenge["pubKeyCredParam"]
    device = make_device(kind, "new@example.com")
    body = ok(_complete(sa, challenge, {"firstFactorCredential": device.register(challenge)}))
    assert body["credential"]["kind"] == body["credential"]["credentialKind"] == kind
    assert body["user"]["username"] == "new@example.com"


def test_recovery_key_registers_as_recovery_credential(sa: DfnsApi) -> None:
    challenge = _challenge(sa)
    first, recovery = make_device("Key"), make_device("RecoveryKey", "new@example.com")
    ok(_complete(sa, challenge, {"firstFactorCredential": first.register(challenge),
                                 "recoveryCredential": recovery.register(challenge)}))


@pytest.mark.parametrize(("kind", "fault"), CASES)
def test_registration_rejects_faulty_attestation(sa: DfnsApi, kind: str, fault: str) -> None:
    challenge = _challenge(sa)
    attestation = faulty_attestation(kind, make_device(kind, "new@example.com"), challenge, fault)
    status, message = REGISTRATION_FAULTS[fault]
    assert_error(_complete(sa, challenge, {"firstFactorCredential": attestation}), status, message)


@pytest.mark.parametrize("fault", ["wrong-type", "wrong-challenge", "bad-signature"])
def test_registration_rejects_faulty_recovery_credential(sa: DfnsApi, fault: str) -> None:
    challenge = _challenge(sa)
    recovery = faulty_attestation("RecoveryKey", make_device("RecoveryKey", "new@example.com"),
                                  challenge, fault)
    status, message = REGISTRATION_FAULTS[fault]
    body = {"firstFactorCredential": make_device("Key").register(challenge),
            "recoveryCredential": recovery}
    assert_error(_complete(sa, challenge, body), status, message)


def test_recovery_credential_must_be_a_recovery_key(sa: DfnsApi) -> None:
    challenge = _challenge(sa)
    body = {"firstFactorCredential": make_device("Key").register(challenge),
            "recoveryCredential": make_device("Key").register(challenge)}
    assert_error(_complete(sa, challenge, body), 400,
                 "recoveryCredential must be of kind RecoveryKey")


def test_recovery_key_cannot_be_first_factor(sa: DfnsApi) -> None:
    challenge = _challenge(sa)
    body = {"firstFactorCredential": make_device("RecoveryKey",
                                                 "new@example.com").register(challenge)}
    response = _complete(sa, challenge, body)
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("invalid firstFactorCredential.credentialKind")


def test_password_protected_key_needs_its_encrypted_private_key(sa: DfnsApi) -> None:
    challenge = _challenge(sa)
    attestation = make_device("PasswordProtectedKey", "new@example.com").register(challenge)
    del attestation["encryptedPrivateKey"]
    assert_error(_complete(sa, challenge, {"firstFactorCredential": attestation}), 400,
                 "encryptedPrivateKey is required for PasswordProtectedKey credentials")


def test_registration_token_is_single_use(sa: DfnsApi) -> None:
    challenge = _challenge(sa)
    device = make_device("Key")
    ok(_complete(sa, challenge, {"firstFactorCredential": device.register(challenge)}))
    again = _complete(sa, challenge,
                      {"firstFactorCredential": make_device("Key").register(challenge)})
    assert_error(again, 401, errors.NOT_AUTHORIZED)


def test_registration_challenge_expires(sa: DfnsApi, sim: Simulator) -> None:
    challenge = _challenge(sa)
    sim.clock.advance(3601)
    body = {"firstFactorCredential": make_device("Key").register(challenge)}
    assert_error(_complete(sa, challenge, body), 401, errors.NOT_AUTHORIZED)


def test_registered_user_cannot_register_again(sa: DfnsApi) -> None:
    challenge = _challenge(sa)
    ok(_complete(sa, challenge, {"firstFactorCredential": make_device("Key").register(challenge)}))
    response = sa.signed("POST", "/auth/registration/delegated",
                         {"email": "new@example.com", "kind": "EndUser"})
    assert_error(response, 401, errors.USER_EXISTS)


def test_duplicate_credential_id_is_rejected(sa: DfnsApi) -> None:
    device = make_device("Key")
    first = _challenge(sa, "a@example.com")
    ok(_complete(sa, first, {"firstFactorCredential": device.register(first)}))
    second = _challenge(sa, "b@example.com")
    assert_error(_complete(sa, second, {"firstFactorCredential": device.register(second)}), 400,
                 "credential id already registered")


def test_restart_gives_a_fresh_challenge(sa: DfnsApi) -> None:
    first = _challenge(sa)
    restarted = ok(sa.signed("POST", "/auth/registration/delegated/restart",
                             {"email": "new@example.com", "kind": "EndUser"}))
    assert restarted["challenge"] != first["challenge"]
    ok(_complete(sa, restarted, {"firstFactorCredential": make_device("Key").register(restarted)}))


def test_restart_of_unknown_user(sa: DfnsApi) -> None:
    response = sa.signed("POST", "/auth/registration/delegated/restart",
                         {"email": "nobody@example.com", "kind": "EndUser"})
    assert_error(response, 401, errors.USER_NOT_FOUND)


def test_only_service_accounts_register_delegated(sa: DfnsApi) -> None:
    from scenarios.client import delegated_login, register_delegated

    device = make_device("Key")
    user = register_delegated(sa, "human@example.com", device)
    human = sa.as_(delegated_login(sa, "human@example.com"), device)
    response = human.signed("POST", "/auth/registration/delegated",
                            {"email": "x@example.com", "kind": "EndUser"})
    assert_error(response, 403, f"EndUser {user['user']['id']} is not authorized to perform "
                                "operation (Auth:Register:Delegated)")


# -- direct registration with the e-mailed code --------------------------------------------------
def _employee(sa: DfnsApi, sim: Simulator, email: str = "emp@example.com") -> str:
    ok(sa.signed("POST", "/auth/users", {"email": email, "kind": "CustomerEmployee"}))
    return sim.last_code(email, "registration-code")


def _direct_init(anon: DfnsApi, org_id: str, email: str, code: str):
    return anon.request("POST", "/auth/registration/init",
                        {"username": email, "registrationCode": code, "orgId": org_id})


@pytest.mark.parametrize("kind", SIGNING_KINDS)
def test_direct_registration_with_emailed_code(sa: DfnsApi, anon: DfnsApi, sim: Simulator,
                                               bootstrap: dict, kind: str) -> None:
    code = _employee(sa, sim)
    challenge = ok(_direct_init(anon, bootstrap["orgId"], "emp@example.com", code))
    device = make_device(kind, "emp@example.com")
    ok(_complete(anon, challenge, {"firstFactorCredential": device.register(challenge)}))


def test_wrong_registration_code(sa: DfnsApi, anon: DfnsApi, sim: Simulator,
                                 bootstrap: dict) -> None:
    _employee(sa, sim)
    assert_error(_direct_init(anon, bootstrap["orgId"], "emp@example.com", "0000-0000-0000-0000"),
                 403, errors.INVALID_CODE)


def test_expired_registration_code(sa: DfnsApi, anon: DfnsApi, sim: Simulator,
                                   bootstrap: dict) -> None:
    code = _employee(sa, sim)
    sim.clock.advance(4 * 3600 + 1)
    assert_error(_direct_init(anon, bootstrap["orgId"], "emp@example.com", code), 400,
                 errors.REGISTRATION_CODE_EXPIRED)


def test_resent_code_invalidates_the_old_one(sa: DfnsApi, anon: DfnsApi, sim: Simulator,
                                             bootstrap: dict) -> None:
    old = _employee(sa, sim)
    ok(anon.request("PUT", "/auth/registration/code",
                    {"username": "emp@example.com", "orgId": bootstrap["orgId"]}))
    new = sim.last_code("emp@example.com", "registration-code")
    assert new != old
    assert_error(_direct_init(anon, bootstrap["orgId"], "emp@example.com", old), 403,
                 errors.INVALID_CODE)
    ok(_direct_init(anon, bootstrap["orgId"], "emp@example.com", new))


def test_registration_init_for_unknown_user(anon: DfnsApi, bootstrap: dict) -> None:
    assert_error(_direct_init(anon, bootstrap["orgId"], "ghost@example.com", "1234"), 401,
                 errors.USER_NOT_FOUND)
