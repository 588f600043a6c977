"""State invariants that must hold after any sequence of requests (fuzzing, races, load)."""

from __future__ import annotations

from typing import Any

from simulator.services.core import Core

SINGLE_USE_TABLES = ("challenges", "user_actions", "codes")


def used_items(core: Core) -> set[tuple[str, str]]:
    """Every consumed single-use item; a later state must still contain all of them as used."""
    out: set[tuple[str, str]] = set()
    for table in SINGLE_USE_TABLES:
        for item in core.store.scan(table):
            if getattr(item, "used", False):
                out.add((table, getattr(item, "id", None) or getattr(item, "code", "")))
    return out


def check_invariants(core: Core, *, used_before: set[tuple[str, str]] = frozenset()) -> list[str]:
    store = core.store
    problems: list[str] = []
    orgs = {o.id for o in store.scan("orgs")}
    users = {u.id: u for u in store.scan("users")}

    def need(condition: bool, message: str) -> None:
        if not condition:
            problems.append(message)

    for user in users.values():
        need(user.org_id in orgs, f"user {user.id} in missing org {user.org_id}")
    credentials_by_user: dict[str, list[Any]] = {}
    for credential in store.scan("credentials"):
        user = users.get(credential.user_id)
        need(user is not None, f"credential {credential.uuid} of missing user {credential.user_id}")
        need(user is None or user.org_id == credential.org_id,
             f"credential {credential.uuid} in another org than its user")
        credentials_by_user.setdefault(credential.user_id, []).append(credential)
    for user in users.values():
        if user.is_registered and not user.is_archived:
            need(bool(credentials_by_user.get(user.id)),
                 f"registered user {user.id} has no credential")
    for token in store.scan("tokens"):
        need(not token.user_id or token.user_id in users, f"token {token.id} of missing user")
    for app in store.scan("apps"):
        need(app.org_id in orgs, f"app {app.id} in missing org")
    permissions = {p.id for p in store.scan("permissions")}
    for assignment in store.scan("assignments"):
        need(assignment.permission_id in permissions,
             f"assignment {assignment.id} of missing permission")
    challenges = {c.id: c for c in store.scan("challenges")}
    for action in store.scan("user_actions"):
        challenge = challenges.get(action.challenge_id)
        need(challenge is not None and challenge.used,
             f"user action {action.id} issued from an unused or missing challenge")
    for table, key in used_before:
        item = store.get(table, key)
        need(item is not None and item.used, f"{table} {key} was used and is not any more")
    problems += audit_problems(core)
    return problems


def audit_problems(core: Core) -> list[str]:
    try:
        from simulator.services import audit
    except ImportError:  # the audit log is another engineer's; absent means nothing to check
        return []
    problems: list[str] = []
    for org in core.store.scan("orgs"):
        chain = audit.entries(core, org.id)
        head = audit.head(core, org.id)
        problems += audit.verify_chain(chain, expected_head=head.entry_hash if head else None,
                                       expected_start=head.anchor_hash if head else None)
    return problems
