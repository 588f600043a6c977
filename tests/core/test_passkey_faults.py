"""Every virtual-authenticator fault flag is refused by the simulator, with its exact error.

Some flags are FIDO/Dfns rules that python-fido2's server leaves to the relying party
(crossOrigin, counter, BS-without-BE): tests/authenticators checks the independent verifiers;
this file checks ours, end to end through both doors.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from scenarios.client import DfnsApi, ok
from simulator import errors
from tests.core.conftest import Enrolled
from tests.core.helpers import ORIGIN, assert_error
from virtual_authenticators import Fault, PasskeyAuthenticator
from virtual_authenticators._base import CREATE_FAULTS, GET_FAULTS

EXPECTED: dict[Fault, tuple[int, str]] = {
    Fault.BOGUS_SIGNATURE: (401, errors.INVALID_SIGNATURE),
    Fault.UP_CLEARED: (401, errors.USER_NOT_PRESENT),
    Fault.UV_CLEARED: (401, errors.USER_NOT_VERIFIED),
    Fault.WRONG_RP_ID_HASH: (401, errors.RPID_MISMATCH),
    Fault.WRONG_TYPE: (401, errors.INVALID_CLIENT_DATA_TYPE),
    Fault.WRONG_CHALLENGE: (401, errors.CHALLENGE_MISMATCH),
    Fault.WRONG_ORIGIN: (401, errors.ORIGIN_MISMATCH),
    Fault.CROSS_ORIGIN_TRUE: (401, errors.CROSS_ORIGIN),
    Fault.COUNTER_NOT_INCREASED: (401, errors.SIGN_COUNT),
    Fault.TRAILING_BYTES: (400, "invalid authenticatorData"),
    Fault.MALFORMED_CBOR: (400, errors.INVALID_ATTESTATION),
    Fault.UNKNOWN_ATTESTATION_FORMAT: (400, errors.INVALID_ATTESTATION),
    # without x5c a packed statement is self attestation: the CA-signed sig fails the credential key
    Fault.X5C_MISSING: (401, errors.INVALID_SIGNATURE),
    Fault.X5C_EMPTY: (400, errors.INVALID_ATTESTATION),
    Fault.X5C_EXPIRED: (400, errors.INVALID_ATTESTATION),
    Fault.X5C_WRONG_KEY: (401, errors.INVALID_SIGNATURE),
    Fault.BS_WITHOUT_BE: (401, "backup state set without backup eligibility"),
}


def _device() -> PasskeyAuthenticator:
    return PasskeyAuthenticator(origin=ORIGIN, attestation="packed")


@pytest.mark.parametrize("fault", sorted(CREATE_FAULTS, key=lambda f: f.value),
                         ids=lambda f: f.value)
def test_registration_fault_is_refused(sa: DfnsApi, fault: Fault) -> None:
    challenge = ok(sa.signed("POST", "/auth/registration/delegated",
                             {"email": "f@example.com", "kind": "EndUser"}))
    body = {"firstFactorCredential": _device().register(challenge, faults={fault})}
    response = sa.request("POST", "/auth/registration", body,
                          token=challenge["temporaryAuthenticationToken"])
    status, message = EXPECTED[fault]
    if fault is Fault.TRAILING_BYTES:
        message = errors.INVALID_ATTESTATION
    assert_error(response, status, message)


@pytest.mark.parametrize("fault", sorted(GET_FAULTS, key=lambda f: f.value), ids=lambda f: f.value)
def test_assertion_fault_is_refused(enroll: Callable[..., Enrolled], fault: Fault) -> None:
    user = enroll("Fido2")
    if fault is Fault.COUNTER_NOT_INCREASED:
        user.api.signed("GET", "/auth/credentials")  # a first assertion moves the counter off zero
    challenge = user.api.action_challenge("POST", "/auth/credentials/init", {"kind": "Key"})
    factor = user.device.sign(challenge, faults={fault})
    response = user.api.request("POST", "/auth/action",
                                {"challengeIdentifier": challenge["challengeIdentifier"],
                                 "firstFactor": factor})
    assert_error(response, *EXPECTED[fault])
