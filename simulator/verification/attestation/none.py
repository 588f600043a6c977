"""``none`` attestation: the statement must be an empty map (WebAuthn §8.7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.errors import INVALID_ATTESTATION

from .._codec import fail
from ..policy import VerificationPolicy
from .base import StatementInput


def verify(att_stmt: Mapping[str, Any], inp: StatementInput, policy: VerificationPolicy) -> None:
    if att_stmt and policy.on("fido2.attestation.none.empty"):
        fail(400, INVALID_ATTESTATION, "fido2.attestation.none.empty")
