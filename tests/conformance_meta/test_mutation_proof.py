"""Must-show 2: every rule is guarded by an F-check that turns red when the rule is switched off
(TEST-ONLY hook ``VerificationPolicy(disabled_rules=...)``), for both registries: the
cryptographic verification rules (simulator.verification.policy.RULES) and the service-level
rules (simulator.services.rules.SERVICE_RULES). A rule with no guarding check, or whose checks
all stay green, is a defect; so is a tagged check that stays green with its rules off."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.registry import all_checks
from conformance.runner import run_check
from conformance.target import Target
from simulator.services.rules import SERVICE_RULES
from simulator.verification.policy import DEFAULT_POLICY, RULES, VerificationPolicy, all_rule_ids

CHECKS = all_checks()
ALL_RULES = {**RULES, **SERVICE_RULES}
# Rules the API re-enforces downstream, so switching the verifier rule off cannot turn an
# end-to-end check red (the unit tests in tests/verification/test_rules.py prove the verifier
# rule itself). Each entry says why; anything else here would be a defect.
DEFENCE_IN_DEPTH = {
    "fido2.authdata.attested_data": "without attested credential data there is no public key "
                                    "to store: the credential service rejects it again",
}
SIMULATOR = Path(__file__).parents[2] / "simulator"


def guarding(rule: str) -> list:
    return [c for c in CHECKS.values() if c.expect == "F" and rule in c.guards]


def test_the_registries_are_disjoint_and_accepted_by_the_policy() -> None:
    assert not set(RULES) & set(SERVICE_RULES)
    assert all_rule_ids() == set(ALL_RULES)
    assert DEFAULT_POLICY.disabled_rules == frozenset()
    assert all(DEFAULT_POLICY.on(rule) for rule in ALL_RULES)
    assert not VerificationPolicy(disabled_rules=frozenset({"ua.required"})).on("ua.required")
    with pytest.raises(ValueError, match="unknown rule ids"):
        VerificationPolicy(disabled_rules=frozenset({"ua.no_such_rule"}))


def test_every_guard_in_the_code_is_a_registered_rule() -> None:
    """``policy.on("typo")`` would be on forever and its rule could never be switched off."""
    used: set[str] = set()
    for source in SIMULATOR.rglob("*.py"):
        used.update(re.findall(r'\.on\(\s*"([a-z0-9_.]+)"\s*\)', source.read_text()))
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
    if rule in DEFENCE_IN_DEPTH:
        assert not red, f"{rule} now turns red: drop it from DEFENCE_IN_DEPTH"
        return
    assert red, f"no F-check turned red with {rule} off (tried {[c.id for c in checks]})"


SERVICE_TAGGED = sorted(c.id for c in CHECKS.values()
                        if c.expect == "F" and set(c.guards) & set(SERVICE_RULES))


@pytest.mark.parametrize("check_id", SERVICE_TAGGED)
def test_each_service_guarding_check_turns_red_with_its_rules_off(check_id: str) -> None:
    """The check side of the proof: every F-check tagged with a service rule can fail — with
    all the rules it names switched off (some checks stand behind two rules, e.g. an end user
    calling a service-account-only route also lacks the operation), it must turn red."""
    check = CHECKS[check_id]
    mutant = Target(policy=VerificationPolicy(disabled_rules=frozenset(check.guards)))
    outcome = run_check(check, mutant)
    assert not outcome.passed, f"{check_id} stays green with {check.guards} off"
