"""The check registry: every conformance check as data, in the FIDO conformance tool's style.

A check has a stable id (``<AREA>-<SUBJECT>-<P|F>-<n>``), a one-line rule, an expectation
(P: must succeed; F: must be rejected with ``status`` and a message containing ``message``),
the spec section it comes from, the verification rule ids it guards (the mutation proof
switches each one off and expects a guarding F-check to turn red), the challenge × credential
kind cells it exercises, and what it needs from the target (``sim``: simulator-only controls).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

CHALLENGES = ("registration", "login", "user action", "credential", "recovery")
KINDS = ("Fido2", "Key", "PasswordProtectedKey", "RecoveryKey")
# Cells where the kind does not apply (RecoveryKey never logs in or signs user actions; the
# recovery challenge is only ever answered by a RecoveryKey, though any kind can be created).
NOT_APPLICABLE = {("login", "RecoveryKey"), ("user action", "RecoveryKey")}

# group id -> (epic, feature title). Epics follow the FIDO server test tool's split plus Dfns.
GROUPS: dict[str, tuple[str, str]] = {
    "F2-STRUCT": ("FIDO2 server", "Attestation response structure"),
    "F2-CDATA": ("FIDO2 server", "Attestation client data"),
    "F2-ATTOBJ": ("FIDO2 server", "Attestation object and authenticator data"),
    "F2-ALG": ("FIDO2 server", "Algorithms"),
    "F2-FMT": ("FIDO2 server", "Attestation formats (packed, none, fido-u2f)"),
    "F2-ASTRUCT": ("FIDO2 server", "Assertion structure"),
    "F2-ACDATA": ("FIDO2 server", "Assertion client data"),
    "F2-AUTHDATA": ("FIDO2 server", "Assertion authenticator data"),
    "KEY": ("Dfns credentials", "Key registration and assertion"),
    "PPK": ("Dfns credentials", "PasswordProtectedKey registration and assertion"),
    "RK": ("Dfns credentials", "RecoveryKey registration"),
    "UA": ("Dfns protocol", "User-action binding and single use"),
    "EXP": ("Dfns protocol", "Challenge and token expiry"),
    "CODE": ("Dfns protocol", "Credential codes"),
    "CRED": ("Dfns protocol", "Credential lifecycle"),
    "APP": ("Dfns protocol", "Applications (origin / rpId)"),
    "SA": ("Dfns management", "Service accounts and personal access tokens"),
    "PERM": ("Dfns management", "Permissions"),
    "REC": ("Dfns management", "Recovery"),
    "HDR": ("Dfns protocol", "Headers and error envelope"),
    "PROP": ("Property-based", "Random mutations and random valid flows"),
}


class CheckFn(Protocol):
    """What a check runs: ``fn(ctx)`` -> a response (or raises).

    A callback protocol rather than ``Callable[[Any], Any]``: the check tables bind loop values
    with default arguments (``lambda ctx, k=kind: ...``), which mypy cannot infer against a
    ``Callable`` context (python/mypy#12557, #15459) but checks fine against this protocol.
    """

    def __call__(self, ctx: Any, /) -> Any: ...


@dataclass(frozen=True, kw_only=True)
class Check:
    id: str
    group: str
    rule: str
    expect: str  # "P" or "F"
    section: str
    fn: CheckFn = field(repr=False, compare=False)
    status: int | None = None
    message: str | None = None
    guards: tuple[str, ...] = ()
    cells: tuple[tuple[str, str], ...] = ()
    needs: frozenset[str] = frozenset()  # "sim": clock / outbox / policy of the embedded sim
    routes: tuple[tuple[str, str], ...] = ()  # routes that must exist (else: pending-on-route)
    self_judged: bool = False  # property checks assert inside (any clean 4xx, many inputs)

    @property
    def epic(self) -> str:
        return GROUPS[self.group][0]

    @property
    def feature(self) -> str:
        return GROUPS[self.group][1]


REGISTRY: dict[str, Check] = {}
_counters: dict[str, int] = {}


def add(group: str, subject: str, expect: str, rule: str, section: str, fn: CheckFn,
        *, status: int | None = None, message: str | None = None,
        guards: Iterable[str] = (), cells: Iterable[tuple[str, str]] = (),
        needs: Iterable[str] = (), routes: Iterable[tuple[str, str]] = (),
        self_judged: bool = False) -> Check:
    """Register one check; ids number per (subject, expectation) in registration order, so a
    check keeps its id as long as the tables it comes from are only appended to."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group}")
    if expect not in ("P", "F"):
        raise ValueError("expect is P or F")
    if expect == "F" and status is None and not self_judged:
        raise ValueError("an F-check states the status it expects")
    prefix = f"{subject}-{expect}"
    _counters[prefix] = _counters.get(prefix, 0) + 1
    check = Check(id=f"{prefix}-{_counters[prefix]}", group=group, rule=rule, expect=expect,
                  section=section, fn=fn, status=status, message=message, guards=tuple(guards),
                  cells=tuple(cells), needs=frozenset(needs), routes=tuple(routes),
                  self_judged=self_judged)
    if check.id in REGISTRY:  # pragma: no cover - defensive
        raise ValueError(f"duplicate check id {check.id}")
    REGISTRY[check.id] = check
    return check


def all_checks() -> dict[str, Check]:
    """Every check (importing the check modules registers them)."""
    import conformance.checks  # noqa: F401  (registers)

    return REGISTRY
