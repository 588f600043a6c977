"""The collected form of the check registry: one pytest item per check id."""

from __future__ import annotations

import pytest

from conformance.registry import all_checks

CHECKS = all_checks()


@pytest.mark.parametrize("check_id", list(CHECKS), ids=list(CHECKS))
def test_check(check_id: str, dfns_run_check) -> None:  # noqa: ANN001 - fixture
    dfns_run_check(CHECKS[check_id])
