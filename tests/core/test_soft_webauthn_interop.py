"""soft-webauthn (an independent software authenticator) against the simulator.

soft-webauthn pins fido2 < 2, so it is installed without its dependencies (Makefile) and is
never a runtime dependency. Its device never sets the UV flag, which Dfns requires
(``userVerification: "required"``): the strict simulator refuses it, and the named leniency
``require_user_verification=False`` accepts it for registration and login.
"""

from __future__ import annotations

from typing import Any

import pytest

from scenarios.client import DfnsApi, ok, service_account_api
from simulator import Simulator, errors
from simulator.verification.policy import VerificationPolicy
from tests.core.helpers import assert_error
from virtual_authenticators import b64url_encode

soft_webauthn = pytest.importorskip("soft_webauthn",
                                    reason="soft-webauthn is installed by `make install`")

ORIGIN = "http://localhost:3000"


def _credential_info(response: dict[str, Any]) -> dict[str, str]:
    return {
        "credId": b64url_encode(response["rawId"]),
        "clientData": b64url_encode(response["response"]["clientDataJSON"]),
        "attestationData": b64url_encode(response["response"]["attestationObject"]),
    }


def _register(sa: DfnsApi, device: Any, username: str) -> Any:
    challenge = ok(sa.signed("POST", "/auth/registration/delegated",
                             {"email": username, "kind": "EndUser"}))
    options = {"publicKey": {
        # browsers (and the TS SDK) pass the UTF-8 bytes of the API challenge string
        "challenge": challenge["challenge"].encode(),
        "rp": challenge["rp"],
        "user": {**challenge["user"], "id": challenge["user"]["id"].encode()},
        "pubKeyCredParams": challenge["pubKeyCredParams"], "attestation": "none"}}
    body = {"firstFactorCredential": {
        "credentialKind": "Fido2",
        "credentialInfo": _credential_info(device.create(options, ORIGIN))}}
    return sa.request("POST", "/auth/registration", body,
                      token=challenge["temporaryAuthenticationToken"])


def test_strict_simulator_refuses_a_device_without_user_verification(sim: Simulator) -> None:
    sa = service_account_api(sim.client(), sim.bootstrap())
    response = _register(sa, soft_webauthn.SoftWebauthnDevice(), "soft@example.com")
    assert_error(response, 401, errors.USER_NOT_VERIFIED)


def test_lenient_simulator_accepts_soft_webauthn_registration_and_login() -> None:
    sim = Simulator(policy=VerificationPolicy(require_user_verification=False))
    boot = sim.bootstrap()
    http = sim.client()
    device = soft_webauthn.SoftWebauthnDevice()
    ok(_register(service_account_api(http, boot), device, "soft@example.com"))
    anon = DfnsApi(http)
    challenge = ok(anon.request("POST", "/auth/login/init",
                                {"username": "soft@example.com", "orgId": boot["orgId"]}))
    options = {"publicKey": {"challenge": challenge["challenge"].encode(),
                             "rpId": challenge["rp"]["id"]}}
    response = device.get(options, ORIGIN)
    assertion = {
        "credId": b64url_encode(response["rawId"]),
        "clientData": b64url_encode(response["response"]["clientDataJSON"]),
        "authenticatorData": b64url_encode(response["response"]["authenticatorData"]),
        "signature": b64url_encode(response["response"]["signature"]),
        "userHandle": b64url_encode(response["response"]["userHandle"]),
    }
    token = ok(anon.request("POST", "/auth/login",
                            {"challengeIdentifier": challenge["challengeIdentifier"],
                             "firstFactor": {"kind": "Fido2",
                                             "credentialAssertion": assertion}}))
    assert token["token"].startswith("eyJ")
