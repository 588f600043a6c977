"""The TEST-ONLY ``VerificationPolicy(disabled_rules=...)`` reaches every service that parses a
public key or a clientData, not only the login and user-action verifiers: a rule switched off
is off on every path (the mutation proof relies on it)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from scenarios.client import DfnsApi, ok, service_account_api
from simulator import Simulator, errors
from simulator.verification.policy import VerificationPolicy
from tests.recovery.test_recovery import Account, _direct_challenge

RSA_1024_PEM = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key() \
    .public_bytes(serialization.Encoding.PEM,
                  serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _api(*disabled: str) -> tuple[Simulator, DfnsApi]:
    sim = Simulator(policy=VerificationPolicy(disabled_rules=frozenset(disabled)))
    return sim, service_account_api(sim.client(), sim.bootstrap())


def _app(api: DfnsApi) -> Any:
    return api.signed("POST", "/auth/apps", {
        "name": "backend", "kind": "ServerSideApplication", "relyingPartyId": "api.example.test",
        "origin": "https://api.example.test", "publicKey": RSA_1024_PEM})


def _sa_credential(api: DfnsApi) -> Any:
    return api.signed("POST", "/auth/service-accounts/credentials",
                      {"publicKey": RSA_1024_PEM, "name": "rotated"})


@pytest.mark.parametrize("call", [_app, _sa_credential], ids=["app", "sa-credential"])
def test_rsa_size_rule(call: Any) -> None:
    _, strict = _api()
    refused = call(strict)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == errors.INVALID_PUBLIC_KEY
    _, mutant = _api("key.public_key.rsa_size")
    ok(call(mutant))


def test_clientdata_encoding_rule_on_recovery() -> None:
    def recover(sim: Simulator, sa: DfnsApi) -> Any:
        anon = DfnsApi(sa.http)
        account = Account(sim, sa, "gina@example.com")
        challenge = _direct_challenge(anon, sim, account)
        body, _ = account.completion_body(challenge)
        body["recovery"]["credentialAssertion"]["clientData"] = "%%% not base64 %%%"
        return anon.request("POST", "/auth/recover/user", body,
                            token=challenge["temporaryAuthenticationToken"])

    strict = recover(*_api())
    assert (strict.status_code, strict.json()["error"]["message"]) == (
        400, errors.INVALID_CLIENT_DATA)
    mutant = recover(*_api("clientdata.encoding"))
    assert (mutant.status_code, mutant.json()["error"]["message"]) == (
        401, errors.CHALLENGE_MISMATCH)
