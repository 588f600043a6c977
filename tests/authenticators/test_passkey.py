"""PasskeyAuthenticator against two independent verifiers (python-fido2, py_webauthn)."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor

from virtual_authenticators import (
    Fault,
    PasskeyAuthenticator,
)
from virtual_authenticators._base import CREATE_FAULTS, GET_FAULTS

from ._referees import (
    ORIGIN,
    RP_ID,
    USER_ID,
    Fido2Rp,
    PyWebauthnRp,
    b64u,
    reference_passkey_rules,
    unb64u,
)


def creation_options(challenge: bytes, alg: int, **extra: Any) -> dict[str, Any]:
    return {
        "rp": {"id": RP_ID, "name": "Example"},
        "user": {"id": b64u(USER_ID), "name": "jane", "displayName": "Jane"},
        "challenge": b64u(challenge),
        "pubKeyCredParams": [{"type": "public-key", "alg": alg}],
        **extra,
    }


def request_options(challenge: bytes, cred_id: str | None, uv: str = "required") -> dict[str, Any]:
    allow = [{"type": "public-key", "id": cred_id}] if cred_id else []
    return {"rpId": RP_ID, "challenge": b64u(challenge), "allowCredentials": allow,
            "userVerification": uv}


MATRIX = [
    (alg, fmt)
    for alg in (-7, -8, -257)
    for fmt in ("none", "packed-self", "packed", "fido-u2f")
    if fmt != "fido-u2f" or alg == -7  # fido-u2f statements are P-256 only
]


@pytest.mark.parametrize(("alg", "fmt"), MATRIX, ids=[f"alg{a}-{f}" for a, f in MATRIX])
def test_registration_and_assertion_accepted_by_both(alg: int, fmt: str) -> None:
    authenticator = PasskeyAuthenticator(origin=ORIGIN, attestation=fmt, seed=alg)
    full_chain = fmt in ("packed", "fido-u2f")
    fido2_rp = Fido2Rp(root_der=authenticator.pki.root_der if full_chain else None,
                       verify_attestation=fmt != "none")
    pyw_rp = PyWebauthnRp(root_pem=authenticator.attestation_root_pem if full_chain else None)

    challenge = os.urandom(32)
    registration = authenticator.create(creation_options(challenge, alg))
    att = cbor.decode(unb64u(registration["response"]["attestationObject"]))
    assert att["fmt"] == ("packed" if fmt == "packed-self" else fmt)
    assert registration["response"]["publicKeyAlgorithm"] == alg
    fido2_rp.register(registration, challenge, uv="required")
    pyw_rp.register(registration, challenge, uv=True)
    reference_passkey_rules(registration)

    for round_ in range(2):  # two assertions: the counter must keep increasing
        challenge = os.urandom(32)
        assertion = authenticator.get(request_options(challenge, registration["id"]))
        assert unb64u(assertion["response"]["userHandle"]) == USER_ID
        fido2_rp.authenticate(assertion, challenge, uv="required")
        before = pyw_rp.sign_count
        pyw_rp.authenticate(assertion, challenge, uv=True)
        reference_passkey_rules(assertion, stored_count=before)
        assert pyw_rp.sign_count == round_ + 1


# Which referee is expected to reject each fault.  "both" = Fido2Server and py_webauthn;
# "webauthn+ref" = py_webauthn and our reference check (Fido2Server leaves counters, backup
# flags and certificate validity to the RP); "dfns-only" = a Dfns rule (credentials.md §8:
# crossOrigin must not be true) that only our reference check enforces.
REJECTED_BY = {
    Fault.COUNTER_NOT_INCREASED: "webauthn+ref",
    Fault.BS_WITHOUT_BE: "webauthn+ref",
    Fault.X5C_EXPIRED: "webauthn+ref",
    Fault.CROSS_ORIGIN_TRUE: "dfns-only",
}
FAULT_CASES = [
    (ceremony, fault, REJECTED_BY.get(fault, "both"))
    for ceremony, faults in (("create", CREATE_FAULTS), ("get", GET_FAULTS))
    for fault in Fault
    if fault in faults
]


def _rejects(check: Any) -> bool:
    try:
        check()
    except Exception:  # noqa: BLE001 - any refusal counts, the verifiers raise various types
        return True
    return False


@pytest.mark.parametrize(
    ("ceremony", "fault", "referee"),
    FAULT_CASES,
    ids=[f"{c}-{f.value}" + ("" if r == "both" else f"-{r}") for c, f, r in FAULT_CASES],
)
def test_fault_rejected(ceremony: str, fault: Fault, referee: str) -> None:
    authenticator = PasskeyAuthenticator(origin=ORIGIN, attestation="packed", seed=7)
    fido2_rp = Fido2Rp(root_der=authenticator.pki.root_der)
    pyw_rp = PyWebauthnRp(root_pem=authenticator.attestation_root_pem)
    challenge = os.urandom(32)
    options = creation_options(challenge, -7)
    if ceremony == "create":
        response = authenticator.create(options, faults={fault})
        fido2_check = lambda: fido2_rp.register(response, challenge, uv="required")  # noqa: E731
        pyw_check = lambda: pyw_rp.register(response, challenge, uv=True)  # noqa: E731
        ref_check = lambda: reference_passkey_rules(response)  # noqa: E731
    else:
        registration = authenticator.create(options)
        fido2_rp.register(registration, challenge)
        pyw_rp.register(registration, challenge)
        # one good assertion first, so a counter that fails to move is detectable
        first = os.urandom(32)
        good = authenticator.get(request_options(first, registration["id"]))
        fido2_rp.authenticate(good, first, uv="required")
        pyw_rp.authenticate(good, first, uv=True)
        stored = pyw_rp.sign_count
        challenge = os.urandom(32)
        response = authenticator.get(request_options(challenge, registration["id"]),
                                     faults={fault})
        fido2_check = lambda: fido2_rp.authenticate(response, challenge, uv="required")  # noqa: E731
        pyw_check = lambda: pyw_rp.authenticate(response, challenge, uv=True)  # noqa: E731
        ref_check = lambda: reference_passkey_rules(response, stored_count=stored)  # noqa: E731

    if referee == "both":
        assert _rejects(fido2_check), "Fido2Server accepted a faulty response"
        assert _rejects(pyw_check), "py_webauthn accepted a faulty response"
    elif referee == "webauthn+ref":
        assert _rejects(pyw_check), "py_webauthn accepted a faulty response"
        assert _rejects(ref_check), "reference check accepted a faulty response"
        assert not _rejects(fido2_check), "Fido2Server now enforces this: promote to 'both'"
    else:
        assert _rejects(ref_check), "reference check accepted a faulty response"
        assert not _rejects(fido2_check) and not _rejects(pyw_check), "now enforced upstream"


def test_default_faults_apply_and_unknown_fault_for_ceremony_is_refused() -> None:
    authenticator = PasskeyAuthenticator(origin=ORIGIN, faults={Fault.WRONG_ORIGIN}, seed=1)
    challenge = os.urandom(32)
    response = authenticator.create(creation_options(challenge, -7))
    assert json.loads(unb64u(response["response"]["clientDataJSON"]))["origin"] != ORIGIN
    with pytest.raises(ValueError, match="do not apply to get"):
        authenticator.get(request_options(challenge, response["id"]), faults={Fault.X5C_EMPTY})
    with pytest.raises(ValueError, match="need attestation"):
        authenticator.create(creation_options(challenge, -7), faults={Fault.X5C_EXPIRED})


def test_worked_example_d_reproduced() -> None:
    """credentials.md §10 D, byte for byte."""
    authenticator = PasskeyAuthenticator(origin="https://app.example.com", aaguid=b"\0" * 16,
                                         seed=0)
    key = ec.derive_private_key(
        int.from_bytes(hashlib.sha256(b"fido2-virtual-authenticator-key").digest(), "big"),
        ec.SECP256R1(),
    )
    registration = authenticator.create(
        {
            "rp": {"id": "app.example.com", "name": "Example"},
            "user": {"id": b64u(b"us-2ba0h-lvp2q-8v1860pcj1bh5irf"), "name": "j",
                     "displayName": "j"},
            "challenge": b64u(b"Y2gtN2Z3MmQtMWs5c2UtOHA0cjZ0MG0zYzJoNW4xcQ"),
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        },
        private_key=ec.derive_private_key(
            int.from_bytes(hashlib.sha256(b"fido2-virtual-authenticator-key").digest(), "big"),
            ec.SECP256R1(),
        ),
        credential_id=hashlib.sha256(b"virtual-cred-1").digest()[:16],
    )
    assert registration["id"] == "XQeijWoBnWNr690G4qQT8w"
    assert registration["response"]["attestationObject"] == (
        "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YViUKAWYKbEFHwTvAxGQZ8DOCeBSd2EokPjgh08djs4a4DRFAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAEF0Hoo1qAZ1ja-vdBuKkE_OlAQIDJiABIVggWHsQ1zMgJN_Cvjo2dAuZ61Ih0ItuJcavtDf1"
        "P1St0hwiWCB-PV8TAJ73lCrpsnuK-s-D2AHJtPWXd-zVjp965RO2-Q"
    )
    assert unb64u(registration["response"]["clientDataJSON"]) == (
        b'{"type":"webauthn.create","challenge":"WTJndE4yWjNNbVF0TVdzNWMyVXRPSEEwY2paME1HMHpZekpvTl'
        b'c0eGNR","origin":"https://app.example.com","crossOrigin":false}'
    )
    authenticator.credentials.clear()  # the same credential again, through import_credential
    cred = authenticator.import_credential(
        rp_id="app.example.com", user_handle=b"us-2ba0h-lvp2q-8v1860pcj1bh5irf",
        private_key=key, credential_id=hashlib.sha256(b"virtual-cred-1").digest()[:16],
    )
    assert b64u(cred.credential_id) == "XQeijWoBnWNr690G4qQT8w"
    assert cbor.encode(cred.cose_key).hex() == (
        "a5010203262001215820587b10d7332024dfc2be3a36740b99eb5221d08b6e25c6afb437f53f54add21c"
        "2258207e3d5f13009ef7942ae9b27b8afacf83d801c9b4f59777ecd58e9f7ae513b6f9"
    )
    challenge = {
        "challenge": "Y2gtNGdrOHotMHEyd20tOWQ2YjFuNXQ3cjN5OGUydQ",
        "rp": {"id": "app.example.com", "name": "Example"},
        "allowCredentials": {"webauthn": [{"type": "public-key", "id": "XQeijWoBnWNr690G4qQT8w"}]},
        "userVerification": "discouraged",
    }
    assertion = authenticator.sign(challenge)["credentialAssertion"]
    assert unb64u(assertion["clientData"]) == (
        b'{"type":"webauthn.get","challenge":"WTJndE5HZHJPSG90TUhFeWQyMHRPV1EyWWpGdU5YUTNjak41T0dV'
        b'eWRR","origin":"https://app.example.com","crossOrigin":false}'
    )
    assert assertion["authenticatorData"] == "KAWYKbEFHwTvAxGQZ8DOCeBSd2EokPjgh08djs4a4DQFAAAAAQ"
    assert assertion["signature"] == (
        "MEUCIQDlF-zGUTGHzic3YxknI6S7WRauW-rWnJPF0LIcESZsJgIgX8jSySlyBJCsQNblxAEuOxA41VdreBRleThdzZLTwdY"
    )
    assert assertion["userHandle"] == "dXMtMmJhMGgtbHZwMnEtOHYxODYwcGNqMWJoNWlyZg"


# -- faults that would pass silently are refused ---------------------------------------------
def test_statement_faults_given_as_defaults_are_checked_at_construction() -> None:
    for fault in ("x5c-expired", "x5c-missing", "x5c-empty", "x5c-wrong-key"):
        with pytest.raises(ValueError, match=f"faults \\['{fault}'\\] need attestation"):
            PasskeyAuthenticator(origin=ORIGIN, faults={fault})  # attestation "none"
    with pytest.raises(ValueError, match="bogus-signature on create needs a signed"):
        PasskeyAuthenticator(origin=ORIGIN, faults={Fault.BOGUS_SIGNATURE})


def test_expired_certificate_needs_packed() -> None:
    # fido-u2f verification (WebAuthn §8.6) has no validity-period step
    with pytest.raises(ValueError, match="'x5c-expired' needs attestation 'packed'"):
        PasskeyAuthenticator(origin=ORIGIN, attestation="fido-u2f", faults={"x5c-expired"})
    u2f = PasskeyAuthenticator(origin=ORIGIN, attestation="fido-u2f")
    with pytest.raises(ValueError, match="'x5c-expired' needs attestation 'packed'"):
        u2f.create(creation_options(os.urandom(32), -7), faults={Fault.X5C_EXPIRED})


@pytest.mark.parametrize("mode", ["per-credential", "zero"])
def test_counter_not_increased_needs_a_counter_that_moved(mode: str) -> None:
    authenticator = PasskeyAuthenticator(origin=ORIGIN, counter_mode=mode, seed=3)
    challenge = os.urandom(32)
    registration = authenticator.create(creation_options(challenge, -7))
    options = request_options(challenge, registration["id"])
    with pytest.raises(ValueError, match="counter-not-increased needs a credential"):
        authenticator.get(options, faults={Fault.COUNTER_NOT_INCREASED})
    if mode == "per-credential":
        authenticator.get(options)  # counter 1
        replayed = authenticator.get(options, faults={Fault.COUNTER_NOT_INCREASED})
        assert unb64u(replayed["response"]["authenticatorData"])[33:37] == b"\0\0\0\1"


@pytest.mark.parametrize("attestation", ["packed", "fido-u2f", "packed-self", "none"])
def test_seeded_passkeys_replay_their_attestation_byte_for_byte(attestation: str) -> None:
    def run() -> tuple[dict[str, Any], bytes]:
        authenticator = PasskeyAuthenticator(origin=ORIGIN, attestation=attestation, seed=11)
        response = authenticator.create(creation_options(b"c" * 32, -7))
        root = authenticator.attestation_root_pem if attestation in ("packed", "fido-u2f") \
            else b""
        return response, root

    assert run() == run()
