"""dfns-sdk Signer protocol, soft-webauthn interop, Dfns ↔ WebAuthn mapping, determinism."""

from __future__ import annotations

import base64
import inspect
import json
import os
from typing import Any

import httpx
import pytest
from dfns_sdk import DfnsClient, DfnsClientConfig

from virtual_authenticators import (
    KeyAuthenticator,
    NotAllowedError,
    PasskeyAuthenticator,
    PasswordProtectedKeyAuthenticator,
    RecoveryKeyAuthenticator,
    SoftWebauthnDevice,
    dfns_challenge_to_webauthn_options,
)

from ._referees import (
    ORIGIN,
    RP_ID,
    Fido2Rp,
    PyWebauthnRp,
    b64u,
    reference_key_assertion,
    unb64u,
)

USER = "us-2ba0h-lvp2q-8v1860pcj1bh5irf"
REGISTRATION_CHALLENGE = {
    "user": {"id": USER, "name": "jane@example.com", "displayName": "jane@example.com"},
    "temporaryAuthenticationToken": "jwt",
    "challenge": "Y2gtN2Z3MmQtMWs5c2UtOHA0cjZ0MG0zYzJoNW4xcQ",
    "rp": {"id": RP_ID, "name": "Example"},
    "supportedCredentialKinds": {"firstFactor": ["Fido2", "Key"], "secondFactor": ["Fido2"]},
    "pubKeyCredParams": [{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -257}],
    "attestation": "direct",
    "excludeCredentials": [],
    "authenticatorSelection": {"residentKey": "required", "requireResidentKey": True,
                               "userVerification": "required"},
}


def action_challenge(**allow: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "challenge": "Y2gtNGdrOHotMHEyd20tOWQ2YjFuNXQ3cjN5OGUydQ",
        "challengeIdentifier": "jwt-id",
        "supportedCredentialKinds": [{"kind": "Key", "factor": "either"}],
        "allowCredentials": {"key": [], "webauthn": [], "passwordProtectedKey": [], **allow},
        "rp": {"id": RP_ID, "name": "Example"},
        "userVerification": "required",
        "externalAuthenticationUrl": "",
    }


# --------------------------------------------------------------------- dfns-sdk Signer


def test_every_authenticator_has_the_signer_shape() -> None:
    from dfns_sdk.auth import Signer

    for cls in (KeyAuthenticator, PasswordProtectedKeyAuthenticator, RecoveryKeyAuthenticator,
                PasskeyAuthenticator):
        assert list(inspect.signature(cls.sign).parameters)[:2] == ["self", "challenge"]
        assert callable(cls.register)
    DfnsClientConfig(auth_token="t", signer=KeyAuthenticator(seed=1))  # type-compatible
    assert hasattr(Signer, "sign")


def test_key_authenticator_drives_dfns_client_user_action() -> None:
    """A DfnsClient configured with our signer completes the user-action dance."""
    signer = KeyAuthenticator("Ed25519", "python-sdk", "https://app.dfns.io", seed=2)
    seen: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        if request.url.path == "/auth/action/init":
            seen["init"] = body
            return httpx.Response(200, json=action_challenge(
                key=[{"type": "public-key", "id": signer.credential_id}]))
        if request.url.path == "/auth/action":
            seen["firstFactor"] = body["firstFactor"]
            return httpx.Response(200, json={"userAction": "ua-token"})
        seen["final"] = dict(request.headers)
        return httpx.Response(200, json={"ok": True})

    client = DfnsClient(DfnsClientConfig(auth_token="t", base_url="https://api.test",
                                         signer=signer))
    client._http._client = httpx.Client(transport=httpx.MockTransport(handler))
    token = client._http._get_user_action_token("POST", "/wallets", {"network": "Ethereum"})
    assert token == "ua-token"
    first = seen["firstFactor"]
    assert first["kind"] == "Key"
    assert set(first["credentialAssertion"]) == {"credId", "clientData", "signature"}
    reference_key_assertion(first["credentialAssertion"], action_challenge()["challenge"],
                            signer.public_key_pem)


def test_passkey_sign_and_register_via_dfns_challenges() -> None:
    passkey = PasskeyAuthenticator(origin=ORIGIN, attestation="packed", seed=3)
    registration = passkey.register(REGISTRATION_CHALLENGE)
    assert registration["credentialKind"] == "Fido2"
    info = registration["credentialInfo"]
    assert set(info) == {"credId", "clientData", "attestationData"}
    client_data = json.loads(unb64u(info["clientData"]))
    # browser SDK: clientData carries base64url(UTF-8(C)) (credentials.md §7)
    assert client_data["challenge"] == b64u(REGISTRATION_CHALLENGE["challenge"].encode())
    challenge = action_challenge(webauthn=[{"type": "public-key", "id": info["credId"]}])
    signed = passkey.sign(challenge)
    assert signed["kind"] == "Fido2"
    assertion = signed["credentialAssertion"]
    assert unb64u(assertion["userHandle"]) == USER.encode()
    # verify with py_webauthn, mapping the Dfns shapes back to WebAuthn JSON
    rp = PyWebauthnRp(root_pem=passkey.attestation_root_pem)
    rp.register({"id": info["credId"], "rawId": info["credId"], "type": "public-key",
                 "response": {"clientDataJSON": info["clientData"],
                              "attestationObject": info["attestationData"]}},
                REGISTRATION_CHALLENGE["challenge"].encode(), uv=True)
    rp.authenticate({"id": assertion["credId"], "rawId": assertion["credId"], "type": "public-key",
                     "response": {"clientDataJSON": assertion["clientData"],
                                  "authenticatorData": assertion["authenticatorData"],
                                  "signature": assertion["signature"],
                                  "userHandle": assertion["userHandle"]}},
                    challenge["challenge"].encode(), uv=True)
    with pytest.raises(ValueError, match="allowCredentials.webauthn"):
        passkey.sign(action_challenge(webauthn=[{"type": "public-key", "id": "b3RoZXI"}]))


def test_android_challenge_encoding_copies_the_challenge() -> None:
    passkey = PasskeyAuthenticator(origin=ORIGIN, challenge_encoding="android", seed=4)
    info = passkey.register(REGISTRATION_CHALLENGE)["credentialInfo"]
    client_data = json.loads(unb64u(info["clientData"]))
    assert client_data["challenge"] == REGISTRATION_CHALLENGE["challenge"]


def test_dfns_challenge_mapping() -> None:
    creation = dfns_challenge_to_webauthn_options(
        {**REGISTRATION_CHALLENGE, "excludeCredentials": [{"type": "public-key", "id": "QUJD",
                                                             "transports": "usb"}]}
    )
    assert unb64u(creation["user"]["id"]) == USER.encode()
    assert creation["rp"] == {"id": RP_ID, "name": "Example"}
    assert creation["excludeCredentials"] == [{"type": "public-key", "id": "QUJD",
                                               "transports": ["usb"]}]
    request = dfns_challenge_to_webauthn_options(
        action_challenge(webauthn=[{"type": "public-key", "id": "QUJD"}]),
        challenge_encoding="android")
    assert request == {"challenge": "Y2gtNGdrOHotMHEyd20tOWQ2YjFuNXQ3cjN5OGUydQ",
                       "allowCredentials": [{"type": "public-key", "id": "QUJD"}],
                       "userVerification": "required", "rpId": RP_ID}


# --------------------------------------------------------------------- passkey knobs


def _create(passkey: PasskeyAuthenticator, **extra: Any) -> dict[str, Any]:
    options = dfns_challenge_to_webauthn_options(REGISTRATION_CHALLENGE)
    options.update(extra)
    return passkey.create(options)


def test_passkey_knobs() -> None:
    full = PasskeyAuthenticator(origin=ORIGIN, resident_key_capacity=1, seed=5)
    first = _create(full)
    with pytest.raises(NotAllowedError, match="InvalidStateError"):
        _create(full, excludeCredentials=[{"type": "public-key", "id": first["id"]}])
    # same user again replaces the discoverable credential rather than filling storage
    _create(full)
    with pytest.raises(NotAllowedError, match="full"):
        _create(full, user={"id": b64u(b"us-other"), "name": "o", "displayName": "o"})
    u2f = PasskeyAuthenticator(origin=ORIGIN, protocol="u2f", transport="usb", seed=6)
    with pytest.raises(NotAllowedError):
        _create(u2f)  # residentKey required, U2F has none
    response = _create(u2f, authenticatorSelection={"residentKey": "discouraged"})
    assert response["authenticatorAttachment"] == "cross-platform"
    assert response["response"]["transports"] == ["usb"]
    with pytest.raises(NotAllowedError):
        _create(PasskeyAuthenticator(origin=ORIGIN, automatic_presence_simulation=False))
    with pytest.raises(NotAllowedError, match="NotSupportedError"):
        _create(PasskeyAuthenticator(origin=ORIGIN, algorithms=(-8,)))


@pytest.mark.parametrize(("mode", "expected"), [
    ("per-credential", [0, 1, 2]), ("zero", [0, 0, 0]), ("global", [1, 2, 3]),
    ("regressing", [999_999, 999_998, 999_997]),
])
def test_counter_modes(mode: str, expected: list[int]) -> None:
    from virtual_authenticators.passkey import sign_count_of

    passkey = PasskeyAuthenticator(origin=ORIGIN, counter_mode=mode, seed=7)
    registration = _create(passkey)
    counts = [sign_count_of(registration)]
    for _ in range(2):
        counts.append(sign_count_of(passkey.get({"rpId": RP_ID, "challenge": b64u(os.urandom(16)),
                                                 "allowCredentials": []})))
    assert counts == expected


def test_backup_flags() -> None:
    passkey = PasskeyAuthenticator(origin=ORIGIN, default_backup_eligibility=True,
                                   default_backup_state=True, seed=8)
    flags = unb64u(_create(passkey)["response"]["authenticatorData"])[32]
    assert flags & 0x18 == 0x18


# --------------------------------------------------------------------- soft-webauthn


def _bytes_options(challenge: bytes) -> dict[str, Any]:
    return {"publicKey": {
        "rp": {"id": RP_ID, "name": "Example"},
        "user": {"id": USER.encode(), "name": "jane", "displayName": "Jane"},
        "challenge": challenge,
        "pubKeyCredParams": [{"alg": -7, "type": "public-key"}],
        "attestation": "none",
    }}


def _to_json(result: dict[str, Any]) -> dict[str, Any]:
    """soft-webauthn's byte dicts → WebAuthn JSON for the verifiers."""
    raw = b64u(result["rawId"])
    response = {k: b64u(v) for k, v in result["response"].items() if v is not None}
    return {"id": raw, "rawId": raw, "type": "public-key", "response": response}


def _run_soft_device(device: Any) -> None:
    rp = Fido2Rp(verify_attestation=False)
    challenge = os.urandom(32)
    created = device.create(_bytes_options(challenge), ORIGIN)
    assert isinstance(created["rawId"], bytes) and created["id"] == base64.urlsafe_b64encode(
        created["rawId"])
    rp.register(_to_json(created), challenge)
    challenge = os.urandom(32)
    asserted = device.get({"publicKey": {"rpId": RP_ID, "challenge": challenge}}, ORIGIN)
    assert asserted["response"]["userHandle"] == USER.encode()
    rp.authenticate(_to_json(asserted), challenge)
    # the same bytes as a Dfns Fido2 assertion pass the simulator-style reference checks too
    from ._referees import reference_passkey_rules

    reference_passkey_rules(_to_json(asserted), stored_count=0)


def test_soft_webauthn_output_verifies() -> None:
    soft_webauthn = pytest.importorskip(
        "soft_webauthn",
        reason="soft-webauthn not installed (pip install --no-deps soft-webauthn==0.1.4)",
    )
    _run_soft_device(soft_webauthn.SoftWebauthnDevice())


def test_facade_has_soft_webauthn_call_shape() -> None:
    device = SoftWebauthnDevice(seed=9)
    _run_soft_device(device)
    assert device.sign_count == 1 and device.rp_id == RP_ID
    assert device.cred_as_attested().credential_id == device.credential_id
    try:
        import soft_webauthn
    except ImportError:
        return
    for name in ("create", "get", "cred_init", "cred_as_attested"):
        theirs = inspect.signature(getattr(soft_webauthn.SoftWebauthnDevice, name))
        ours = inspect.signature(getattr(SoftWebauthnDevice, name))
        assert list(theirs.parameters) == list(ours.parameters), name
    with pytest.raises(ValueError, match="Only none attestation"):
        device.create({"publicKey": {**_bytes_options(b"x" * 32)["publicKey"],
                                     "attestation": "direct"}}, ORIGIN)


# --------------------------------------------------------------------- determinism


def test_seeded_authenticators_are_identical() -> None:
    for make in (
        lambda: KeyAuthenticator("secp256k1", seed=42),
        lambda: KeyAuthenticator("RSA-2048", seed=42),
        lambda: PasswordProtectedKeyAuthenticator(password="p", username="u", seed=42,
                                                  iterations=2),
        lambda: RecoveryKeyAuthenticator("u", seed=42, iterations=2),
    ):
        a, b = make(), make()
        assert a.private_key_pem == b.private_key_pem
        assert a.credential_id == b.credential_id
        assert a.register({"challenge": "c"}) == b.register({"challenge": "c"})
    assert KeyAuthenticator(seed=1).credential_id != KeyAuthenticator(seed=2).credential_id
    assert KeyAuthenticator().credential_id != KeyAuthenticator().credential_id

    a, b = (PasskeyAuthenticator(origin=ORIGIN, attestation="packed-self", seed=42)
            for _ in range(2))
    assert a.aaguid == b.aaguid and len(a.aaguid) == 16
    ra, rb = _create(a), _create(b)
    assert ra == rb  # keys, ids, AAGUID and (RFC 6979) signatures replay byte for byte
    assert PasskeyAuthenticator(origin=ORIGIN, seed=43).aaguid != a.aaguid
