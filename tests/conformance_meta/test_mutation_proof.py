"""Must-show 2: every verification rule is guarded by an F-check that turns red when the rule
is switched off (TEST-ONLY hook ``VerificationPolicy(disabled_rules=...)``). A rule with no
guarding check, or whose checks all stay green, is a defect."""

from __future__ import annotations

import pytest

from conformance.registry import all_checks
from conformance.runner import run_check
from conformance.target import Target
from simulator.verification.policy import RULES, VerificationPolicy

CHECKS = all_checks()
# Rules the API re-enforces downstream, so switching the verifier rule off cannot turn an
# end-to-end check red (the unit tests in tests/verification/test_rules.py prove the verifier
# rule itself). Each entry says why; anything else here would be a defect.
DEFENCE_IN_DEPTH = {
    "fido2.authdata.attested_data": "without attested credential data there is no public key "
                                    "to store: the credential service rejects it again",
}


def guarding(rule: str) -> list:
    return [c for c in CHECKS.values() if c.expect == "F" and rule in c.guards]


def test_every_rule_has_a_guarding_check() -> None:
    unguarded = sorted(rule for rule in RULES if not guarding(rule))
    assert unguarded == [], f"rules with no guarding F-check: {unguarded}"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_disabling_the_rule_turns_a_guarding_check_red(rule: str) -> None:
    checks = guarding(rule)
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
