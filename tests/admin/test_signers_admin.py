"""Taking simulated wallet signers down through the admin API (issue 4: signer network)."""

from __future__ import annotations

import httpx

from scenarios.client import DfnsApi, ok
from tests.core.helpers import assert_error


def test_signers_down_then_up(door: httpx.Client, sa: DfnsApi) -> None:
    status = ok(door.get("/_sim/signers"))
    assert status["threshold"] == 3 and status["total"] == 5 and status["canSign"]
    wallet = ok(sa.signed("POST", "/wallets", {"network": "KeyECDSA"}))
    body = {"kind": "Hash", "hash": "0x" + "11" * 32}
    for index in (1, 2, 3):
        status = ok(door.post("/_sim/signers", json={"index": index, "available": False}))
    assert status["available"] == 2 and not status["canSign"]
    response = sa.signed("POST", f"/wallets/{wallet['id']}/signatures", body)
    assert response.status_code == 503 and response.headers["retry-after"]
    ok(door.post("/_sim/signers", json={"index": 1, "available": True}))
    assert ok(sa.signed("POST", f"/wallets/{wallet['id']}/signatures", body))["status"] == "Signed"


def test_bad_signer_commands(door: httpx.Client) -> None:
    assert_error(door.post("/_sim/signers", json={"index": "x", "available": False}), 400,
                 "index must be an integer")
    assert_error(door.post("/_sim/signers", json={"index": 1}), 400, "available must be a boolean")
    assert_error(door.post("/_sim/signers", json={"index": 99, "available": False}), 404,
                 "signer not found")
