"""Bounds on request shapes whose cost, not size, is the danger: nesting, CBOR fields, typed-data
graphs, header values, and the journal's masking of planted text."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scenarios.client import DfnsApi, ok
from simulator import Simulator, errors
from simulator.admin.journal import mask_text
from simulator.encoding import nested_deeper_than
from simulator.errors import ApiError
from simulator.http.schema import CREDENTIAL_ATTESTATION
from simulator.services.actions import payload_matches
from simulator.verification.client_data import ClientData
from simulator.verification.key_kinds import _client_data_hashes
from tests.core.helpers import assert_error

TOO_DEEP = "request body is nested too deeply (at most 64 levels)"


def _nested(levels: int) -> str:
    """JSON arrays ``levels`` deep."""
    return "[" * levels + "]" * levels


def _with_member(levels: int) -> str:
    """A login body whose member ``x`` holds arrays ``levels`` deep (the object is level 1)."""
    return '{"username":"nobody","x":' + _nested(levels) + "}"


def _login_init(door: httpx.Client, raw: str) -> httpx.Response:
    return door.post("/auth/login/init", content=raw.encode(),
                     headers={"Content-Type": "application/json"})


# -- nesting ----------------------------------------------------------------------------------
def test_a_body_one_level_past_the_limit_is_refused(door: httpx.Client) -> None:
    # The object is level 1, so 63 arrays inside it make 64 levels: allowed (and then refused
    # for what it is, an unknown user); 64 arrays make 65.
    allowed = _login_init(door, _with_member(63))
    assert allowed.json()["message"] != TOO_DEEP
    assert_error(_login_init(door, _with_member(64)), 400, TOO_DEEP)
    assert_error(_login_init(door, _nested(900)), 400, TOO_DEEP)


def test_brackets_inside_strings_do_not_count(door: httpx.Client) -> None:
    # Only structure counts: 500 brackets inside a string nest nothing.
    response = _login_init(door, json.dumps({"username": "[" * 250 + "{" * 250}))
    assert response.json()["message"] != TOO_DEEP


def test_a_deep_member_of_a_signed_update_is_400_and_keeps_the_token(
        sa: DfnsApi, sim: Simulator) -> None:
    # Comparing the body with the signed payload recursed once per level: 400 levels in a
    # group update answered 500 before the limit existed.
    group = ok(sa.signed("POST", "/auth/user-groups", {"name": "g"}))
    path = f"/auth/user-groups/{group['id']}"
    body = {"name": "g2", "extra": json.loads(_nested(400))}
    token = sa.user_action("PUT", path, body)
    assert_error(sa.request("PUT", path, body, user_action=token), 400, TOO_DEEP)
    # Refused before the user-action token was looked at: it is still unused.
    claims = sim.core.tokens.decode(token, now=sim.core.now())
    assert claims is not None
    record = sim.core.store.get("user_actions", claims["jti"])
    assert record is not None and record.used is False


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="[]{}ab", max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                               max_size=3),
    max_leaves=30,
)


@given(value=JSON, limit=st.integers(min_value=0, max_value=8))
def test_nesting_check_agrees_with_a_recursive_depth(value: Any, limit: int) -> None:
    raw = json.dumps(value).encode()
    assert nested_deeper_than(raw, value, limit) == (_depth(value) > limit)


def test_nesting_check_is_not_recursive() -> None:
    value: list[Any] = []
    for _ in range(200_000):  # far past Python's recursion limit
        value = [value]
    assert nested_deeper_than(b"[" * 200_001, value, 64)


# -- values nested past the stack, elsewhere --------------------------------------------------
def test_a_signed_payload_nested_past_the_stack_is_a_mismatch() -> None:
    # A user may sign any text as the payload; one nested past the stack raised
    # RecursionError (500) when the action was redeemed.
    assert payload_matches(_nested(50_000), b"[]") is False


def test_key_client_data_nested_past_the_stack_keeps_its_raw_hash() -> None:
    fields: Any = "leaf"
    for _ in range(50_000):
        fields = {"x": fields}
    raw = b'{"type":"key.create"}'
    assert _client_data_hashes(ClientData(raw, fields)) == [hashlib.sha256(raw).hexdigest()]


def test_a_nonce_header_is_bounded_and_never_crashes(sa: DfnsApi) -> None:
    nested = base64.urlsafe_b64encode(_nested(190).encode()).decode()  # 508 characters
    for bad in ("A" * 513, nested, base64.urlsafe_b64encode(_nested(2000).encode()).decode()):
        assert_error(sa.request("GET", "/auth/credentials", headers={"X-DFNS-NONCE": bad}), 400,
                     errors.NONCE_INVALID)


# -- CBOR fields ------------------------------------------------------------------------------
def test_cbor_fields_have_bounds_real_devices_stay_far_below() -> None:
    # fido2's CBOR decoder takes time growing with the square of its input (~0.3 s for the
    # 200 KB every other base64 field may hold).
    def attestation(data: str) -> dict[str, Any]:
        return {"credentialKind": "Fido2",
                "credentialInfo": {"credId": "AA", "clientData": "AA", "attestationData": data}}

    CREDENTIAL_ATTESTATION.validate(attestation("A" * 32_768), "")
    with pytest.raises(ApiError) as refused:
        CREDENTIAL_ATTESTATION.validate(attestation("A" * 32_769), "")
    assert (refused.value.status, refused.value.message) == (
        400, "credentialInfo.attestationData is too long")


def test_login_authenticator_data_is_bounded(anon: DfnsApi) -> None:
    assertion = {"credId": "AA", "clientData": "AA", "signature": "AA",
                 "authenticatorData": "A" * 4_097}
    response = anon.request("POST", "/auth/login", {
        "challengeIdentifier": "x", "firstFactor": {"kind": "Fido2",
                                                    "credentialAssertion": assertion}})
    assert_error(response, 400, "firstFactor.credentialAssertion.authenticatorData is too long")


# -- the journal ------------------------------------------------------------------------------
def test_jwt_masking_starts_only_where_a_token_can_start() -> None:
    # Tried from every "eyJ" inside a dotless run, the pattern scanned to the run's end each
    # time: reading a journal holding 300 KB of "eyJeyJ…" took 36 s. A token begins where no
    # base64url character precedes it, so a run is tried once.
    jwt = "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"
    assert mask_text(f"token {jwt} end") == "token *** end"
    assert mask_text(f'"{jwt}"') == '"***"'
    assert mask_text("x" + jwt) == "x" + jwt  # glued to other text: not a token of its own
    planted = "eyJ" * 100_000
    assert mask_text(planted) == planted


def test_a_planted_run_reads_back_from_the_journal(door: httpx.Client, sim: Simulator) -> None:
    planted = "eyJ" * 100_000
    _login_init(door, json.dumps({"username": planted}))
    entry = sim.journal(1)[0]
    assert entry["requestBody"] == {"username": planted}
