"""clientData decoding and the challenge comparison rule (credentials.md §3.1, §7)."""

from __future__ import annotations

from base64 import urlsafe_b64encode
from collections.abc import Mapping
from typing import Any, NamedTuple

from simulator.encoding import loads_json
from simulator.errors import (
    CHALLENGE_MISMATCH,
    CROSS_ORIGIN,
    INVALID_CLIENT_DATA,
    INVALID_CLIENT_DATA_TYPE,
)

from ._codec import INVALID_CREDENTIAL_INFO, CodecError, b64_bytes, fail
from .policy import VerificationPolicy


class ClientData(NamedTuple):
    # A named tuple rather than a frozen dataclass: built once per assertion on the hot path,
    # and a frozen dataclass's __init__ (object.__setattr__ per field) costs twice as much.
    raw: bytes  # the exact decoded bytes: what was signed / hashed
    fields: dict[str, Any]


def decode_client_data(b64: Any, policy: VerificationPolicy | None = None) -> ClientData:
    """base64url -> bytes -> UTF-8 JSON object; 400 ``invalid clientData`` otherwise."""
    try:
        raw = b64_bytes(b64)
        fields = loads_json(raw.decode("utf-8"))
    except (CodecError, UnicodeDecodeError, ValueError, RecursionError):
        return _undecodable(policy)
    if type(fields) is not dict:
        return _undecodable(policy)
    return ClientData(raw, fields)


def _undecodable(policy: VerificationPolicy | None) -> ClientData:
    if policy is None or policy.on("clientdata.encoding"):
        fail(400, INVALID_CLIENT_DATA, "clientdata.encoding")
    # Mutant (rule off, TEST-ONLY): read as an empty clientData; the type rule rejects it next.
    return ClientData(b"", {})


def challenge_matches(value: Any, challenge: str) -> bool:
    """``value`` equals C, or base64url(UTF-8(C)) with or without padding (§7)."""
    if type(value) is not str:
        return False
    if value == challenge:
        return True
    encoded = urlsafe_b64encode(challenge.encode("utf-8")).decode("ascii")
    return value.rstrip("=") == encoded.rstrip("=")


def check_client_data(
    cd: ClientData, *, expected_type: str, challenge: str, policy: VerificationPolicy,
    prefix: str,
) -> None:
    """Type, challenge and crossOrigin checks shared by the key kinds and Fido2.

    ``prefix`` is ``"key"`` or ``"fido2"``: the rule ids differ so each can be switched off.
    """
    fields = cd.fields
    if fields.get("type") != expected_type and policy.on(prefix + ".clientdata.type"):
        fail(401, INVALID_CLIENT_DATA_TYPE, prefix + ".clientdata.type")
    value = fields.get("challenge")
    if value != challenge and not challenge_matches(value, challenge) and policy.on(
        prefix + ".clientdata.challenge"
    ):
        fail(401, CHALLENGE_MISMATCH, prefix + ".clientdata.challenge")
    if "crossOrigin" in fields:
        cross = fields["crossOrigin"]
        # Key kinds: present means false (§3.1). Fido2: "not true" (§8.1), unless configured.
        bad = (cross is not False) if prefix == "key" else (
            cross is True and not policy.allow_cross_origin
        )
        if bad and policy.on(prefix + ".clientdata.cross_origin"):
            fail(401, CROSS_ORIGIN, prefix + ".clientdata.cross_origin")


def open_credential_info(
    credential_info: Any, *, expected_type: str, challenge: str, policy: VerificationPolicy,
    prefix: str,
) -> tuple[str, ClientData]:
    """The start every registration shares: a mapping with a non-empty ``credId`` and a
    clientData of ``expected_type`` over ``challenge``; returns (credId, clientData)."""
    if not isinstance(credential_info, Mapping):
        fail(400, INVALID_CREDENTIAL_INFO)
    cred_id = credential_info.get("credId")
    if not isinstance(cred_id, str) or not cred_id:
        fail(400, INVALID_CREDENTIAL_INFO)
    cd = decode_client_data(credential_info.get("clientData"), policy)
    check_client_data(cd, expected_type=expected_type, challenge=challenge, policy=policy,
                      prefix=prefix)
    return cred_id, cd
