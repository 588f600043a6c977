"""credentials.md §10 worked examples A–D, verbatim."""

from __future__ import annotations

import base64
import hashlib

from simulator.verification import (
    RelyingParty,
    VerificationPolicy,
    decode_client_data,
    load_public_key_pem,
    recovery_challenge_matches,
    verify_key_assertion,
    verify_key_attestation,
    verify_passkey_assertion,
    verify_passkey_attestation,
)
from simulator.verification.key_kinds import fingerprint_message

from .helpers import b64

PEM_A = ("-----BEGIN PUBLIC KEY-----\n"
         "MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n"
         "-----END PUBLIC KEY-----\n")
CD_A = ("eyJjaGFsbGVuZ2UiOiJZMmd0TTJ0eE4yTXRPR0V4WkhRdE9YSXdiVFZ0TW1nMFpUWnNNM0EzY1EiLCJjcm9zc09y"
        "aWdpbiI6ZmFsc2UsIm9yaWdpbiI6Imh0dHBzOi8vYXBwLmV4YW1wbGUuY29tIiwidHlwZSI6ImtleS5jcmVhdGUifQ")
ATT_A = ("eyJwdWJsaWNLZXkiOiItLS0tLUJFR0lOIFBVQkxJQyBLRVktLS0tLVxuTUNvd0JRWURLMlZ3QXlFQUE2RUh2L1BP"
         "RUw0ZGNOMFk1MHZBbVdmazFqQ2JwUTFmSGR5R1pCSlZNYmc9XG4tLS0tLUVORCBQVUJMSUMgS0VZLS0tLS1cbiIs"
         "InNpZ25hdHVyZSI6ImE4MjA4MWFmYTgzMGIyZTZmODQwZDI5NGM1YTJmMTY4MTQwZWE5ZDg5ODg2ODI2OWQ1YzJl"
         "ZWM1ODZiMWQzMjllMTZhZDNkZGYwNTk4OTEwMTQ1NmY2OTI4ZTg3MGM2ZDVjOTcxNTdkZjEzM2Y3MjM1OWFiNWRm"
         "MmFjYzA3MTA2In0")
CH_A = "Y2gtM2txN2MtOGExZHQtOXIwbTVtMmg0ZTZsM3A3cQ"
CD_B = ("eyJ0eXBlIjoia2V5LmdldCIsImNoYWxsZW5nZSI6IlkyZ3ROWFJ4TW0wdE5HczRjR1l0T0hNemJqRmpOMlV5WWps"
        "Mk1IZzBjZyIsIm9yaWdpbiI6Imh0dHBzOi8vYXBwLmV4YW1wbGUuY29tIiwiY3Jvc3NPcmlnaW4iOmZhbHNlfQ")
CH_B = "Y2gtNXRxMm0tNGs4cGYtOHMzbjFjN2UyYjl2MHg0cg"
PEM_C = ("-----BEGIN PUBLIC KEY-----\n"
         "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEvUcnJLk8cXXv1N0r88b8mkGA00Dm\n"
         "UxSmUm07dXG9+Dukef6oHkOWBfvunMWKz6r4bqxRBAf3xqVPcg4cZhj9uQ==\n-----END PUBLIC KEY-----\n")
RP_D = RelyingParty(rp_id="app.example.com", origin="https://app.example.com")
ATT_D = "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YViUKAWYKbEFHwTvAxGQZ8DOCeBSd2EokPjgh08djs4a4DRFAAAAAAAAAAAAAAAAAAAAAAAAAAAAEF0Hoo1qAZ1ja-vdBuKkE_OlAQIDJiABIVggWHsQ1zMgJN_Cvjo2dAuZ61Ih0ItuJcavtDf1P1St0hwiWCB-PV8TAJ73lCrpsnuK-s-D2AHJtPWXd-zVjp965RO2-Q"  # noqa: E501
CDJ_D = ('{"type":"webauthn.create",'
         '"challenge":"WTJndE4yWjNNbVF0TVdzNWMyVXRPSEEwY2paME1HMHpZekpvTlc0eGNR",'
         '"origin":"https://app.example.com","crossOrigin":false}')
CDJ_D_GET = ('{"type":"webauthn.get",'
             '"challenge":"WTJndE5HZHJPSG90TUhFeWQyMHRPV1EyWWpGdU5YUTNjak41T0dVeWRR",'
             '"origin":"https://app.example.com","crossOrigin":false}')


def test_example_a_registration() -> None:
    reg = verify_key_attestation(
        {"credId": "APa6ZvpUdstJf91Ce8ElIPK-WKzDMHueMWL57RW_SNs", "clientData": CD_A,
         "attestationData": ATT_A}, challenge=CH_A)
    assert reg.public_key.key_type == "Ed25519"
    assert reg.public_key.fingerprint == "SHA256:oFCDfYUHBYLM9zlLCYiEfMMSy4glm4lImfbyOc8XkaU"
    assert reg.cred_id == "APa6ZvpUdstJf91Ce8ElIPK-WKzDMHueMWL57RW_SNs"
    assert reg.public_key.pem() == PEM_A
    assert hashlib.sha256(reg.client_data.raw).hexdigest() == (
        "1a66773614de517ff179f47c29ebabde3160e21bc6dd7e8be0894dc214cbecbc")


def test_example_a_padded_values_accepted() -> None:
    padded = CD_A + "=" * (-len(CD_A) % 4)
    verify_key_attestation({"credId": "x=", "clientData": padded, "attestationData": ATT_A},
                           challenge=CH_A)


def test_example_b_assertion() -> None:
    key = load_public_key_pem(PEM_A)
    sig = ("bBT5f0LcvSV0hAZmMAuD3aBCL9dT9ihVcgBDjL0uplgDlzT7IBhXA7zhcbQDjxp5H975lFOS_acNjPwsDMZEA"
           "g")
    cd = verify_key_assertion({"credId": "c", "clientData": CD_B, "signature": sig},
                              challenge=CH_B, public_key=key)
    assert cd.fields["type"] == "key.get"


def test_example_c_p256_der_and_raw() -> None:
    key = load_public_key_pem(PEM_C)
    assert key.fingerprint == "SHA256:rVXwK1mebbDYyaNSxUQOE/XPU6DaNhmuz4j5IpJT7P0"
    der = ("MEUCIQDR25633x-wKZZSvULneZntX54Zgh7SRiv_4K4QpyFp2AIgNDAL2b6AQRzSqCYlUcQI1QR1_VLzdGxas"
           "eTn4ipy9b4")
    raw = bytes.fromhex("d1db9eb7df1fb0299652bd42e77999ed5f9e19821ed2462bffe0ae10a72169d834300bd9"
                        "be80411cd2a8262551c408d50475fd52f3746c5ab1e4e7e22a72f5be")
    for sig in (der, b64(raw), base64.b64encode(base64.urlsafe_b64decode(der + "=")).decode()):
        verify_key_assertion({"clientData": CD_B, "signature": sig}, challenge=CH_B,
                             public_key=key)


def test_example_d_registration_and_assertion() -> None:
    challenge = b64(b"ch-7fw2d-1k9se-8p4r6t0m3c2h5n1q")
    reg = verify_passkey_attestation(
        {"credId": "XQeijWoBnWNr690G4qQT8w", "clientData": b64(CDJ_D.encode()),
         "attestationData": ATT_D}, challenge=challenge, relying_parties=[RP_D])
    assert (reg.cose_alg, reg.sign_count, reg.fmt, reg.rp) == (-7, 0, "none", RP_D)
    assert reg.aaguid == "00000000-0000-0000-0000-000000000000"
    assert reg.user_verified and not reg.backup_eligible and not reg.backup_state
    cose = bytes.fromhex("a5010203262001215820587b10d7332024dfc2be3a36740b99eb5221d08b6e25c6afb437f"
                         "53f54add21c2258207e3d5f13009ef7942ae9b27b8afacf83d801c9b4f59777ecd58e9f7"
                         "ae513b6f9")
    assert cose in base64.urlsafe_b64decode(ATT_D + "==")
    count = verify_passkey_assertion(
        {"credId": "XQeijWoBnWNr690G4qQT8w", "clientData": b64(CDJ_D_GET.encode()),
         "authenticatorData": "KAWYKbEFHwTvAxGQZ8DOCeBSd2EokPjgh08djs4a4DQFAAAAAQ",
         "signature": ("MEUCIQDlF-zGUTGHzic3YxknI6S7WRauW-rWnJPF0LIcESZsJgIgX8jSySlyBJCsQNblxAE"
                       "uOxA41VdreBRleThdzZLTwdY"),
         "userHandle": "dXMtMmJhMGgtbHZwMnEtOHYxODYwcGNqMWJoNWlyZg"},
        challenge="Y2gtNGdrOHotMHEyd20tOWQ2YjFuNXQ3cjN5OGUydQ", relying_parties=[RP_D],
        public_key=reg.public_key, cose_alg=reg.cose_alg, stored_sign_count=reg.sign_count,
        user_id="us-2ba0h-lvp2q-8v1860pcj1bh5irf")
    assert count == 1


def test_docs_cross_check_client_data_hashes() -> None:
    docs = ('{"challenge":"Y2gtNzloaHQtbXJlb2stOGFwOHFtMmVpZWZ0amxhZw","crossOrigin":false,'
            '"origin":"https://app.dfns.ninja","type":"key.create"}')
    sdk = '{"challenge":"Y2gtNzloaHQtbXJlb2stOGFwOHFtMmVpZWZ0amxhZw","type":"key.create"}'
    for text, expected in (
        (docs, "db3828fcdf1782726a7c0c3977679be5fa5a69efa87b295a31b3579a0149edf3"),
        (sdk, "cba00cc2224e76aa12e42cd0e30a1a73e5525ed0dccb7e29e709fee3a1e98dec"),
    ):
        cd = decode_client_data(b64(text.encode()))
        assert hashlib.sha256(cd.raw).hexdigest() == expected


def test_fingerprint_message_of_example_a() -> None:
    msg = fingerprint_message("1a66773614de517ff179f47c29ebabde3160e21bc6dd7e8be0894dc214cbecbc",
                              PEM_A)
    assert msg.startswith(b'{"clientDataHash":"1a66') and b"-----\\nMCow" in msg


def test_example_f_recovery_challenge() -> None:
    new_credentials = {"firstFactorCredential": {"credentialKind": "Key", "credentialInfo": {
        "credId": "A", "clientData": "B", "attestationData": "C"}}}
    challenge = ("eyJmaXJzdEZhY3RvckNyZWRlbnRpYWwiOnsiY3JlZGVudGlhbEtpbmQiOiJLZXkiLCJjcmVkZW50aWFsS"
                 "W5mbyI6eyJjcmVkSWQiOiJBIiwiY2xpZW50RGF0YSI6IkIiLCJhdHRlc3RhdGlvbkRhdGEiOiJDIn19fQ")
    cd = decode_client_data(b64(f'{{"type":"key.get","challenge":"{challenge}"}}'.encode()))
    assert recovery_challenge_matches(cd, new_credentials)
    other = {"firstFactorCredential": {**new_credentials["firstFactorCredential"],
                                       "credentialKind": "Fido2"}}
    assert not recovery_challenge_matches(cd, other)
    assert recovery_challenge_matches(cd, other, policy=VerificationPolicy(
        disabled_rules=frozenset({"recovery.challenge"})))
