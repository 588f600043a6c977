"""``X-DFNS-NONCE``: base64url JSON ``{uuid, date}``, single use (challenges.md §1)."""

from __future__ import annotations

import json

from simulator import errors
from simulator.clock import parse_iso8601
from simulator.encoding import DecodeError, b64url_decode
from simulator.services.core import Core

# A nonce is base64url of a small JSON object: a uuid and an ISO date take ~100 characters.
# Anything far longer is not a nonce, and is refused before it is decoded (which also keeps
# its JSON too short to nest anywhere near the recursion limit).
MAX_NONCE_CHARS = 512


def check_nonce(core: Core, header: str | None) -> None:
    if not header or len(header) > MAX_NONCE_CHARS:
        raise errors.bad_request(errors.NONCE_INVALID)
    try:
        value = json.loads(b64url_decode(header))
        uuid, date = value["uuid"], value["date"]
        if not isinstance(uuid, str) or len(uuid) < 13 or not isinstance(date, str):
            raise ValueError
        moment = parse_iso8601(date)
    except (DecodeError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise errors.bad_request(errors.NONCE_INVALID) from None
    policy = core.config.policy
    if abs(moment - core.now()) > core.config.nonce_tolerance and policy.on("nonce.window"):
        raise errors.bad_request(errors.NONCE_INVALID)
    with core.store.transaction() as tx:
        if tx.get("nonces", uuid) is not None and policy.on("nonce.single_use"):
            raise errors.bad_request(errors.NONCE_USED)
        tx.put("nonces", uuid, moment)
