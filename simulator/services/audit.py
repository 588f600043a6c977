"""The user-action audit log: append-only, one hash chain per org.

Every request that redeemed an ``X-DFNS-USERACTION`` token is appended, success or failure:
who (user, token, credential), what (method, path, SHA-256 of the payload), when (signed,
resolved) and the outcome (status, error message). Each entry's hash is SHA-256 over the
canonical JSON (sorted keys, compact) of the entry including the previous entry's hash, so a
modified, removed or reordered entry breaks the chain (:func:`verify_chain`).

Retention (``SimulatorConfig.audit_max_entries``) keeps the newest entries of each org and
drops the oldest, so a soak run stays bounded. The chain head then also records where the kept
chain starts and the hash it must start from (the last dropped entry's), so removing an entry
at the start is still detected.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from simulator import errors
from simulator.clock import iso8601, parse_iso8601
from simulator.models import AuditEntry
from simulator.services.core import Core

GENESIS_HASH = "0" * 64
MAX_ROWS = 100_000
CSV_COLUMNS = (
    "id", "sequence", "userId", "username", "tokenId", "credentialUuid", "method", "path",
    "payloadSha256", "dateSigned", "dateResolved", "responseStatus", "responseError",
    "previousHash", "entryHash",
)


@dataclass(frozen=True, kw_only=True)
class AuditHead:
    """The newest entry of an org's chain: its sequence number and hash."""

    org_id: str
    sequence: int
    entry_hash: str
    # Where the kept chain starts: retention dropped every entry before ``first_sequence``, and
    # the first kept entry's previous hash must be ``anchor_hash``.
    first_sequence: int = 1
    anchor_hash: str = GENESIS_HASH

    @property
    def kept(self) -> int:
        return self.sequence - self.first_sequence + 1


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> bytes:
    return _CANONICAL.encode(value).encode()  # one encoder, not one per entry (hot path)


def entry_hash(*, entry_id: str, org_id: str, sequence: int, data: dict[str, Any],
               previous_hash: str) -> str:
    document = {"id": entry_id, "orgId": org_id, "sequence": sequence, "data": data,
                "previousHash": previous_hash}
    return hashlib.sha256(canonical_json(document)).hexdigest()


def append(core: Core, org_id: str, data: dict[str, Any]) -> AuditEntry:
    """Append one entry to the org's chain (atomically with the chain head)."""
    with core.store.transaction() as tx:
        head: AuditHead | None = tx.get("audit_heads", org_id)
        sequence = head.sequence + 1 if head else 1
        previous = head.entry_hash if head else GENESIS_HASH
        entry_id = core.new_id("al")
        digest = entry_hash(entry_id=entry_id, org_id=org_id, sequence=sequence, data=data,
                            previous_hash=previous)
        entry = AuditEntry(id=entry_id, org_id=org_id, sequence=sequence, data=data,
                           previous_hash=previous, entry_hash=digest)
        tx.put("audit", entry_id, entry)
        new_head = AuditHead(org_id=org_id, sequence=sequence, entry_hash=digest,
                             first_sequence=head.first_sequence if head else 1,
                             anchor_hash=head.anchor_hash if head else GENESIS_HASH)
        limit = core.config.audit_max_entries
        if limit is not None and new_head.kept > max(limit, 1):
            new_head = _drop_oldest(tx, new_head, new_head.kept - max(limit, 1))
        tx.put("audit_heads", org_id, new_head)
    return entry


def _drop_oldest(tx: Any, head: AuditHead, count: int) -> AuditHead:
    """Delete the ``count`` oldest entries of ``head``'s chain; the head that then applies."""
    first, anchor = head.first_sequence, head.anchor_hash
    for _ in range(count):
        oldest = _entry_at(tx, head.org_id, first)
        if oldest is not None:
            anchor = oldest.entry_hash
            tx.delete("audit", oldest.id)
        first += 1
    return replace(head, first_sequence=first, anchor_hash=anchor)


def _entry_at(tx: Any, org_id: str, sequence: int) -> AuditEntry | None:
    # The stores rebuild index rows when the declarations change (index signature), so
    # entries written before "position" existed are found here too.
    found = tx.find("audit", "position", f"{org_id}#{sequence}")
    return found[0] if found else None


def record_user_action(core: Core, call: Any, status: int, body: Any) -> AuditEntry:
    """The ``after_user_action`` hook of the HTTP endpoint."""
    token = call.user_action
    caller = call.caller
    error = ""
    if status >= 400 and isinstance(body, dict):
        error = str(body.get("message", ""))
    data = {
        "userId": token.user_id,
        "username": caller.user.username if caller is not None else "",
        "tokenId": token.token_id,
        "credentialUuid": token.credential_uuid,
        "userActionId": token.id,
        "appId": call.app.id if call.app is not None else "",
        "method": call.method.upper(),
        "path": call.path,
        "payloadSha256": hashlib.sha256(call.raw_body or b"").hexdigest(),
        "dateSigned": iso8601(token.date_signed),
        "dateResolved": iso8601(core.now()),
        "responseStatus": status,
        "responseError": error,
    }
    return append(core, token.org_id, data)


def install(core: Core) -> None:
    core.extensions["after_user_action"] = record_user_action


def entries(core: Core, org_id: str) -> list[AuditEntry]:
    return sorted(core.store.find("audit", "org", org_id), key=lambda e: e.sequence)


def head(core: Core, org_id: str) -> AuditHead | None:
    return core.store.get("audit_heads", org_id)


def verify_chain(chain: Sequence[AuditEntry], *, expected_head: str | None = None,
                 expected_start: str | None = None) -> list[str]:
    """Problems found walking ``chain`` in order; empty when it is intact.

    Detects modified entries (hash mismatch), removed or reordered ones (broken links and
    sequence gaps), and — given the head kept apart — truncation at the end
    (``expected_head``: its entry hash) and at the start (``expected_start``: its anchor hash,
    the hash the oldest kept entry must link to; see :class:`AuditHead`).
    """
    problems: list[str] = []
    previous_hash = GENESIS_HASH
    expected_sequence = chain[0].sequence if chain else 1
    if chain and chain[0].sequence == 1 and chain[0].previous_hash != GENESIS_HASH:
        problems.append(f"entry {chain[0].id}: first entry does not start from the genesis hash")
    elif chain and expected_start is not None and chain[0].previous_hash != expected_start:
        problems.append(f"entry {chain[0].id}: chain does not start at the recorded anchor "
                        "(entries removed at the start)")
    for index, entry in enumerate(chain):
        recomputed = entry_hash(entry_id=entry.id, org_id=entry.org_id, sequence=entry.sequence,
                                data=entry.data, previous_hash=entry.previous_hash)
        if recomputed != entry.entry_hash:
            problems.append(f"entry {entry.id} (sequence {entry.sequence}): content modified "
                            "(hash mismatch)")
        if entry.sequence != expected_sequence:
            problems.append(f"entry {entry.id}: sequence {entry.sequence} where "
                            f"{expected_sequence} was expected (entry removed or reordered)")
        if index > 0 and entry.previous_hash != previous_hash:
            problems.append(f"entry {entry.id} (sequence {entry.sequence}): previous hash does not "
                            "match the preceding entry (entry removed or reordered)")
        previous_hash = entry.entry_hash
        expected_sequence = entry.sequence + 1
    if expected_head is not None and previous_hash != expected_head:
        problems.append("chain does not end at the recorded head (entries removed at the end)")
    return problems


# -- views ------------------------------------------------------------------------------
def entry_view(core: Core, entry: AuditEntry) -> dict[str, Any]:
    """``GET /auth/action/logs/{id}`` (endpoints.md §4.3)."""
    data = entry.data
    credential = core.store.get("credentials", data.get("credentialUuid", ""))
    first_factor: dict[str, Any] = {"credentialUuid": data.get("credentialUuid", "")}
    if credential is not None:
        first_factor.update({"kind": credential.kind, "credentialId": credential.cred_id})
    return {
        "id": entry.id,
        "action": {"method": data["method"], "path": data["path"],
                   "payloadSha256": data["payloadSha256"]},
        "actionToken": data.get("userActionId", ""),
        "userId": data["userId"],
        "username": data.get("username", ""),
        "tokenId": data.get("tokenId", ""),
        "datePerformed": data["dateResolved"],
        "dateSigned": data["dateSigned"],
        "dateResolved": data["dateResolved"],
        "responseStatus": data["responseStatus"],
        "responseError": data.get("responseError") or None,
        "firstFactorCredential": first_factor,
        "sequence": entry.sequence,
        "previousHash": entry.previous_hash,
        "entryHash": entry.entry_hash,
    }


def get_entry(core: Core, org_id: str, entry_id: str) -> AuditEntry:
    entry: AuditEntry | None = core.store.get("audit", entry_id)
    if entry is None or entry.org_id != org_id:
        raise errors.not_found("audit log entry not found", id=entry_id)
    return entry


def _time(value: str, field: str) -> float:
    try:
        return parse_iso8601(value)
    except (ValueError, TypeError):
        raise errors.bad_request(f"invalid {field}: expected an ISO-8601 date",
                                 field=field) from None


def export_csv(core: Core, org_id: str, *, start_time: str, end_time: str, user_id: str | None,
               max_rows: int = MAX_ROWS) -> tuple[str, bool]:
    """CSV of the entries resolved in ``[startTime, endTime]``; ``(text, truncated)``."""
    start, end = _time(start_time, "startTime"), _time(end_time, "endTime")
    if end < start:
        raise errors.bad_request("endTime must not be before startTime", field="endTime")
    rows = []
    chain = entries(core, org_id)
    for entry in chain:
        resolved = parse_iso8601(entry.data["dateResolved"])
        if not start <= resolved <= end:
            continue
        if user_id and entry.data["userId"] != user_id:
            continue
        rows.append(entry)
    truncated = len(rows) > max_rows
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in rows[:max_rows]:
        d = entry.data
        writer.writerow([entry.id, entry.sequence, d["userId"], d.get("username", ""),
                         d.get("tokenId", ""),
                         d.get("credentialUuid", ""), d["method"], d["path"], d["payloadSha256"],
                         d["dateSigned"], d["dateResolved"], d["responseStatus"],
                         d.get("responseError", ""),
                         entry.previous_hash, entry.entry_hash])
    if truncated:
        out.write(f"# TRUNCATED: {len(rows) - max_rows} more rows; narrow startTime/endTime\n")
    chain_head = head(core, org_id)
    if chain and chain_head is not None and chain_head.first_sequence > 1 \
            and start < parse_iso8601(chain[0].data["dateResolved"]):
        # The window reaches back before the oldest kept entry: say what retention dropped.
        out.write(f"# PRUNED: entries 1-{chain_head.first_sequence - 1} were dropped by audit "
                  f"retention (the newest {chain_head.kept} are kept)\n")
    return out.getvalue(), truncated
