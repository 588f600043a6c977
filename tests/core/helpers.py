"""Devices for every credential kind and the bad inputs the core must refuse."""

from __future__ import annotations

import json
from typing import Any

from simulator import errors
from virtual_authenticators import (
    Fault,
    authenticator_for,
    b64url_decode,
    b64url_encode,
    credential_info_fingerprint,
)
from virtual_authenticators._base import sign_bytes

ORIGIN = "http://localhost:3000"
SIGNING_KINDS = ("Fido2", "Key", "PasswordProtectedKey")
PASSWORD = "correct horse battery staple"


def make_device(kind: str, username: str = "user@example.com") -> Any:
    knobs: dict[str, Any] = {}
    if kind == "Fido2":
        # packed self-attestation, so registration signatures are really checked too
        knobs["attestation"] = "packed-self"
    elif kind in ("PasswordProtectedKey", "RecoveryKey"):
        knobs["iterations"] = 1000
    return authenticator_for(kind, origin=ORIGIN, username=username, password=PASSWORD, **knobs)


# -- faulty registrations --------------------------------------------------------------------
def key_attestation(device: Any, challenge: dict, *, type_: str = "key.create",
                    challenge_value: str | None = None, bogus: bool = False) -> dict:
    client_data = device.client_data(type_, challenge_value or challenge["challenge"])
    pem = device.public_key_pem
    signature = sign_bytes(device.private_key, credential_info_fingerprint(client_data, pem))
    if bogus:
        signature = bytes([signature[0]]) + signature[1:-1] + bytes([signature[-1] ^ 1])
    attestation = device.register(challenge)
    attestation["credentialInfo"] = {
        "credId": device.credential_id,
        "clientData": b64url_encode(client_data),
        "attestationData": b64url_encode(json.dumps({"publicKey": pem,
                                                     "signature": signature.hex()}).encode()),
    }
    return attestation


# fault name -> (status, message) expected from the verifier
REGISTRATION_FAULTS: dict[str, tuple[int, str]] = {
    "wrong-type": (401, errors.INVALID_CLIENT_DATA_TYPE),
    "wrong-challenge": (401, errors.CHALLENGE_MISMATCH),
    "bad-signature": (401, errors.INVALID_SIGNATURE),
    "wrong-origin": (401, errors.ORIGIN_MISMATCH),
    "wrong-rpid": (401, errors.RPID_MISMATCH),
}
KEY_FAULTS = ("wrong-type", "wrong-challenge", "bad-signature")
PASSKEY_FAULT_FLAGS = {
    "wrong-type": Fault.WRONG_TYPE,
    "wrong-challenge": Fault.WRONG_CHALLENGE,
    "bad-signature": Fault.BOGUS_SIGNATURE,
    "wrong-origin": Fault.WRONG_ORIGIN,
    "wrong-rpid": Fault.WRONG_RP_ID_HASH,
}


def faults_for(kind: str) -> tuple[str, ...]:
    return tuple(PASSKEY_FAULT_FLAGS) if kind == "Fido2" else KEY_FAULTS


def faulty_attestation(kind: str, device: Any, challenge: dict, fault: str) -> dict:
    if kind == "Fido2":
        return device.register(challenge, faults={PASSKEY_FAULT_FLAGS[fault]})
    if fault == "wrong-type":
        return key_attestation(device, challenge, type_="key.get")
    if fault == "wrong-challenge":
        return key_attestation(device, challenge,
                               challenge_value=b64url_encode(b"ch-another-challenge"))
    return key_attestation(device, challenge, bogus=True)


# -- faulty assertions -------------------------------------------------------------------------
def faulty_assertion(kind: str, device: Any, challenge: dict, fault: str) -> dict:
    if kind == "Fido2":
        return device.sign(challenge, faults={PASSKEY_FAULT_FLAGS[fault]})
    good = device.sign(challenge)
    allowed = challenge["allowCredentials"]
    key = (device.unwrap(allowed["passwordProtectedKey"][0]["encryptedPrivateKey"])
           if kind == "PasswordProtectedKey" else device.private_key)
    assertion = dict(good["credentialAssertion"])
    if fault == "wrong-type":
        client_data = device.client_data("key.create", challenge["challenge"])
    elif fault == "wrong-challenge":
        client_data = device.client_data("key.get", b64url_encode(b"ch-another-challenge"))
    else:
        client_data = b64url_decode(assertion["clientData"])
    signature = sign_bytes(key, client_data)
    if fault == "bad-signature":
        signature = signature[:-1] + bytes([signature[-1] ^ 1])
    assertion["clientData"] = b64url_encode(client_data)
    assertion["signature"] = b64url_encode(signature)
    return {"kind": good["kind"], "credentialAssertion": assertion}


def assert_error(response: Any, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["message"] == message, body
    assert body["error"]["status"] == status
    assert body["message"] == message
