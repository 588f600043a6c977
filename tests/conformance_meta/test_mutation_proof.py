"""Must-show 2, read strictly: every F-check names the rules it guards, every rule is guarded,
and switching a check's rules off (TEST-ONLY hook ``VerificationPolicy(disabled_rules=...)``)
turns that check red — without the mutant ever answering 5xx. Both registries count: the
cryptographic verification rules (simulator.verification.policy.RULES) and the service-level
rules (simulator.services.rules.SERVICE_RULES). An untagged F-check, a rule with no guarding
check, or a check that stays green with its rules off is a defect."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from conformance.registry import all_checks
from conformance.runner import run_check
from conformance.target import Target
from simulator.services.rules import SERVICE_RULES
from simulator.verification.policy import DEFAULT_POLICY, RULES, VerificationPolicy, all_rule_ids

CHECKS = all_checks()
F_CHECKS = [c for c in CHECKS.values() if c.expect == "F"]
ALL_RULES = {**RULES, **SERVICE_RULES}
SIMULATOR = Path(__file__).parents[2] / "simulator"


def guarding(rule: str) -> list:
    # checks that stand behind this rule alone first: they prove it by themselves
    return sorted((c for c in F_CHECKS if rule in c.guards), key=lambda c: len(c.guards))


def test_every_f_check_names_the_rules_it_guards() -> None:
    untagged = sorted(c.id for c in F_CHECKS if not c.guards)
    assert untagged == [], f"F-checks guarding no rule: {untagged}"


def test_the_registries_are_disjoint_and_accepted_by_the_policy() -> None:
    assert not set(RULES) & set(SERVICE_RULES)
    assert all_rule_ids() == set(ALL_RULES)
    assert DEFAULT_POLICY.disabled_rules == frozenset()
    assert all(DEFAULT_POLICY.on(rule) for rule in ALL_RULES)
    assert not VerificationPolicy(disabled_rules=frozenset({"ua.required"})).on("ua.required")
    with pytest.raises(ValueError, match="unknown rule ids"):
        VerificationPolicy(disabled_rules=frozenset({"ua.no_such_rule"}))


def test_every_guard_in_the_code_is_a_registered_rule() -> None:
    """``policy.on("typo")`` would be on forever and its rule could never be switched off.
    (The request schema reads the same policy through ``_off("<id>")``.)"""
    used: set[str] = set()
    for source in SIMULATOR.rglob("*.py"):
        used.update(re.findall(r'(?:\.on|\b_off)\(\s*"([a-z0-9_.]+)"\s*\)', source.read_text()))
    assert used, "no policy.on(...) guards found"
    assert sorted(used - set(ALL_RULES)) == []
    # every service rule is enforced somewhere (a registered id no code reads is dead)
    assert sorted(set(SERVICE_RULES) - used) == []


def test_every_guard_tag_names_a_registered_rule() -> None:
    unknown = sorted({(c.id, g) for c in CHECKS.values() for g in c.guards if g not in ALL_RULES})
    assert unknown == []


def test_every_rule_has_a_guarding_check() -> None:
    unguarded = sorted(rule for rule in ALL_RULES if not guarding(rule))
    assert unguarded == [], f"rules with no guarding F-check: {unguarded}"


@pytest.mark.parametrize("rule", sorted(ALL_RULES))
def test_disabling_the_rule_turns_a_guarding_check_red(rule: str) -> None:
    checks = guarding(rule)
    assert checks, f"{rule} has no guarding F-check"
    normal = Target()
    mutant = Target(policy=VerificationPolicy(disabled_rules=frozenset({rule})))
    red = []
    for check in checks:
        assert run_check(check, normal).passed, f"{check.id} must pass with every rule on"
        outcome = run_check(check, mutant)
        if not outcome.passed:
            red.append(check.id)
            break  # one red check proves the rule is guarded
    assert red, f"no F-check turned red with {rule} off (tried {[c.id for c in checks]})"


# The check side, grouped by the rules switched off so each group shares one mutant policy.
# A few checks stand behind two rules (e.g. an end user calling a service-account-only route
# also lacks the operation; a spent registration session is also a registered user): they
# turn red once both are off, and each of those rules is proven alone above.
BY_GUARDS: dict[tuple[str, ...], list] = defaultdict(list)
for _check in F_CHECKS:
    BY_GUARDS[tuple(sorted(_check.guards))].append(_check)


@pytest.mark.parametrize("guards", sorted(BY_GUARDS), ids="+".join)
def test_every_f_check_turns_red_with_its_rules_off(guards: tuple[str, ...]) -> None:
    mutant = Target(policy=VerificationPolicy(disabled_rules=frozenset(guards)))
    green, server_errors = [], []
    for check in BY_GUARDS[guards]:
        outcome = run_check(check, mutant)
        if outcome.passed:
            green.append(check.id)
        server_errors += [f"{check.id}: {x.title()}" for x in outcome.exchanges if x.status >= 500]
    assert green == [], f"stay green with {guards} off: {green}"
    assert server_errors == [], f"a switched-off rule must never cause a 5xx: {server_errors}"
