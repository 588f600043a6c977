"""The user-action audit log: recorded for every signed request, hash-chained, exported."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import replace

from scenarios.client import DfnsApi, ok
from simulator import Simulator
from simulator.services import audit

START, END = "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"


def _do_actions(sa: DfnsApi, n: int = 3) -> None:
    for i in range(n):
        ok(sa.signed("POST", "/permissions", {"name": f"p{i}", "operations": ["Wallets:Read"]}))


def test_signed_requests_are_logged_with_outcome(sim: Simulator, sa: DfnsApi,
                                                 bootstrap: dict) -> None:
    body = {"name": "logged", "operations": ["Wallets:Read"]}
    ok(sa.signed("POST", "/permissions", body))
    failed = sa.signed("POST", "/permissions", body)  # duplicate name → 409, still logged
    assert failed.status_code == 409
    entries = audit.entries(sim.core, sim.org_id)
    assert [e.data["responseStatus"] for e in entries] == [200, 409]
    first = entries[0].data
    account = bootstrap["serviceAccount"]
    assert first["userId"] == account["userId"] and first["tokenId"] == account["tokenId"]
    assert first["credentialUuid"] == account["credentialUuid"]
    assert (first["method"], first["path"]) == ("POST", "/permissions")
    canonical = json.dumps(body, separators=(",", ":")).encode()
    assert first["payloadSha256"] == hashlib.sha256(canonical).hexdigest()
    assert entries[1].data["responseError"] == "a permission with this name already exists"
    assert audit.verify_chain(entries,
                              expected_head=audit.head(sim.core, sim.org_id).entry_hash) == []

    view = ok(sa.request("GET", f"/auth/action/logs/{entries[0].id}"))
    assert view["id"] == entries[0].id and view["userId"] == account["userId"]
    assert view["responseStatus"] == 200 and view["entryHash"] == entries[0].entry_hash
    assert view["firstFactorCredential"]["credentialId"] == account["credentialId"]


def test_unsigned_and_rejected_tokens_are_not_logged(sim: Simulator, sa: DfnsApi) -> None:
    ok(sa.request("GET", "/permissions"))
    assert sa.request("POST", "/permissions",
                      {"name": "x", "operations": ["Wallets:Read"]}).status_code == 403
    assert audit.entries(sim.core, sim.org_id) == []


def test_csv_export_and_truncation(sim: Simulator, sa: DfnsApi, bootstrap: dict) -> None:
    _do_actions(sa, 3)
    response = sa.request("GET", f"/auth/action/logs?startTime={START}&endTime={END}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 3 and {r["path"] for r in rows} == {"/permissions"}
    assert "x-dfns-result-truncated" not in response.headers
    by_user = sa.request("GET",
                         f"/auth/action/logs?startTime={START}&endTime={END}&userId=us-other")
    assert len(list(csv.DictReader(io.StringIO(by_user.text)))) == 0
    sim.core.extensions["audit_max_rows"] = 2
    truncated = sa.request("GET", f"/auth/action/logs?startTime={START}&endTime={END}")
    assert truncated.headers["x-dfns-result-truncated"] == "true"
    assert truncated.text.splitlines()[-1].startswith("# TRUNCATED")
    window = sa.request("GET",
                        "/auth/action/logs?startTime=2000-01-01T00:00:00Z&endTime=2000-01-02T00:00:00Z")
    assert window.text.count("\n") == 1  # header only


def test_csv_export_rejections(sa: DfnsApi) -> None:
    missing = sa.request("GET", f"/auth/action/logs?startTime={START}")
    assert missing.status_code == 400
    bad = sa.request("GET", f"/auth/action/logs?startTime=yesterday&endTime={END}")
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "invalid startTime: expected an ISO-8601 date"
    reversed_ = sa.request("GET", f"/auth/action/logs?startTime={END}&endTime={START}")
    assert reversed_.json()["error"]["message"] == "endTime must not be before startTime"
    unknown = sa.request("GET", "/auth/action/logs/al-nothing")
    assert (unknown.status_code == 404
            and unknown.json()["error"]["message"] == "audit log entry not found")


# -- the verifier (must-show 3) ----------------------------------------------------------
def _chain(sim: Simulator, sa: DfnsApi) -> list:
    _do_actions(sa, 4)
    entries = audit.entries(sim.core, sim.org_id)
    assert len(entries) == 4 and audit.verify_chain(entries) == []
    return entries


def test_verifier_detects_a_modified_entry(sim: Simulator, sa: DfnsApi) -> None:
    entries = _chain(sim, sa)
    entries[1] = replace(entries[1], data={**entries[1].data, "responseStatus": 500})
    problems = audit.verify_chain(entries)
    assert len(problems) == 1 and "modified" in problems[0] and entries[1].id in problems[0]


def test_verifier_detects_a_modified_entry_even_with_recomputed_hash(sim: Simulator,
                                                                     sa: DfnsApi) -> None:
    entries = _chain(sim, sa)
    forged_data = {**entries[1].data, "path": "/elsewhere"}
    forged_hash = audit.entry_hash(entry_id=entries[1].id, org_id=entries[1].org_id, sequence=2,
                                   data=forged_data, previous_hash=entries[1].previous_hash)
    entries[1] = replace(entries[1], data=forged_data, entry_hash=forged_hash)
    problems = audit.verify_chain(entries)
    assert any("previous hash does not match" in p and entries[2].id in p for p in problems)


def test_verifier_detects_a_removed_entry(sim: Simulator, sa: DfnsApi) -> None:
    entries = _chain(sim, sa)
    removed = entries[:1] + entries[2:]
    problems = audit.verify_chain(removed)
    assert any("removed or reordered" in p for p in problems)
    head = audit.head(sim.core, sim.org_id).entry_hash
    assert audit.verify_chain(entries[:-1], expected_head=head) == [
        "chain does not end at the recorded head (entries removed at the end)"]


def test_verifier_detects_reordered_entries(sim: Simulator, sa: DfnsApi) -> None:
    entries = _chain(sim, sa)
    swapped = [entries[0], entries[2], entries[1], entries[3]]
    problems = audit.verify_chain(swapped)
    assert any("sequence 3 where 2 was expected" in p for p in problems)
    assert any("previous hash does not match" in p for p in problems)
