"""Attestation statement verification, one module per format (as python-fido2 does).

Each module exposes ``verify(att_stmt, inp, policy)`` and raises ApiError on failure.
Certificate chains are never validated against roots (credentials.md §8.1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from simulator.errors import INVALID_ATTESTATION

from .._codec import fail
from ..policy import VerificationPolicy
from . import fido_u2f, none, other, packed
from .base import StatementInput

Verifier = Callable[[Mapping[str, Any], StatementInput, VerificationPolicy], None]

FORMATS: dict[str, Verifier] = {
    "none": none.verify,
    "packed": packed.verify,
    "fido-u2f": fido_u2f.verify,
    # Known formats accepted without statement verification (credentials.md §8.1).
    "apple": other.verify,
    "android-key": other.verify,
    "android-safetynet": other.verify,
    "tpm": other.verify,
}


def verify_statement(
    fmt: str, att_stmt: Mapping[str, Any], inp: StatementInput, policy: VerificationPolicy
) -> None:
    verifier = FORMATS.get(fmt)
    if verifier is None:
        if policy.on("fido2.attestation.format"):
            fail(400, INVALID_ATTESTATION, "fido2.attestation.format")
        return
    verifier(att_stmt, inp, policy)


__all__ = ["FORMATS", "StatementInput", "verify_statement"]
