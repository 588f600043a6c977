"""Property: whatever arrives in any field, the verifier raises ApiError or nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.errors import ApiError
from simulator.verification import (
    decode_client_data,
    load_public_key_pem,
    recovery_challenge_matches,
    verify_key_assertion,
    verify_key_attestation,
    verify_passkey_assertion,
    verify_passkey_attestation,
)

from . import helpers as h

PUB = load_public_key_pem(h.pem_of(h.keys()["P-256"]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=10,
)
b64_of_bytes = st.binary(max_size=300).map(h.b64)
field_values = json_values | b64_of_bytes | st.text(max_size=60) | st.binary(max_size=40)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def _only_api_errors(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except ApiError:
        pass


def _mutate(base: dict[str, Any], key: str, value: Any) -> Any:
    return {**base, key: value}


BASES = {
    "key_att": h.key_attestation(),
    "key_get": h.key_assertion(),
    "pk_reg": h.passkey_registration(),
    "pk_get": h.passkey_assertion(),
}


def _call(kind: str, info: Any) -> Any:
    if kind == "key_att":
        return verify_key_attestation(info, challenge=h.CHALLENGE)
    if kind == "key_get":
        return verify_key_assertion(info, challenge=h.CHALLENGE, public_key=PUB)
    if kind == "pk_reg":
        return verify_passkey_attestation(info, challenge=h.CHALLENGE, relying_parties=[h.RP])
    return verify_passkey_assertion(info, challenge=h.CHALLENGE, relying_parties=[h.RP],
                                    public_key=PUB, cose_alg=-7, stored_sign_count=0,
                                    user_id=h.USER_ID)


@FUZZ
@given(kind=st.sampled_from(sorted(BASES)), data=st.data())
def test_any_field_value(kind: str, data: st.DataObject) -> None:
    base = BASES[kind]
    key = data.draw(st.sampled_from(sorted(base) + ["algorithm", "userHandle", "extra"]))
    value = data.draw(field_values)
    _only_api_errors(lambda: _call(kind, _mutate(base, key, value)))


@FUZZ
@given(kind=st.sampled_from(sorted(BASES)), whole=json_values | st.binary(max_size=20))
def test_any_whole_body(kind: str, whole: Any) -> None:
    _only_api_errors(lambda: _call(kind, whole))


@FUZZ
@given(kind=st.sampled_from(["key_att", "key_get", "pk_reg", "pk_get"]),
       fields=st.dictionaries(st.sampled_from(["type", "challenge", "origin", "crossOrigin"]),
                              json_values))
def test_any_client_data_json(kind: str, fields: dict[str, Any]) -> None:
    import json
    try:
        raw = json.dumps(fields).encode()
    except ValueError:
        return
    _only_api_errors(lambda: _call(kind, _mutate(BASES[kind], "clientData", h.b64(raw))))


@FUZZ
@given(blob=st.binary(max_size=400), flip=st.integers(min_value=0, max_value=10_000))
def test_mutated_attestation_object_bytes(blob: bytes, flip: int) -> None:
    import base64
    base = BASES["pk_reg"]
    raw = bytearray(base64.urlsafe_b64decode(base["attestationData"] + "=="))
    raw[flip % len(raw)] ^= 0xFF
    for att in (bytes(raw), bytes(raw[: flip % len(raw)]) + blob, blob):
        _only_api_errors(lambda att=att: _call("pk_reg", _mutate(base, "attestationData",
                                                               h.b64(att))))


@FUZZ
@given(blob=st.binary(max_size=80))
def test_mutated_authenticator_data(blob: bytes) -> None:
    _only_api_errors(lambda: _call("pk_get", _mutate(BASES["pk_get"], "authenticatorData",
                                                     h.b64(blob))))


@FUZZ
@given(text=st.text(max_size=200), body=st.binary(max_size=120))
def test_pem_inputs(text: str, body: bytes) -> None:
    import base64
    _only_api_errors(lambda: load_public_key_pem(text))
    pem = f"-----BEGIN PUBLIC KEY-----\n{base64.b64encode(body).decode()}\n-----END PUBLIC KEY-----"
    _only_api_errors(lambda: load_public_key_pem(pem))


@FUZZ
@given(challenge=field_values, new=json_values)
def test_recovery_challenge(challenge: Any, new: Any) -> None:
    cd = decode_client_data(h.b64(b'{"type":"key.get"}'))._replace(
        fields={"challenge": challenge})
    assert recovery_challenge_matches(cd, new) in (True, False)
