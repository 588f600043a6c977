"""apple, android-key, android-safetynet, tpm: accepted without statement verification.

The simulator does not validate vendor chains (credentials.md §8.1); the statement only has to
be a map, which the caller has already checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..policy import VerificationPolicy
from .base import StatementInput


def verify(att_stmt: Mapping[str, Any], inp: StatementInput, policy: VerificationPolicy) -> None:
    return None
