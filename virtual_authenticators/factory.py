"""One way to get an authenticator for a Dfns credential kind by name.

Scenarios, the conformance suite, load profiles, the pytest plugin and the project's tests all
need "a device of kind K for origin O"; they differ only in the knobs they pass.
"""

from __future__ import annotations

from typing import Any

from ._base import Authenticator
from .key import KeyAuthenticator
from .passkey import PasskeyAuthenticator
from .password_protected_key import PasswordProtectedKeyAuthenticator
from .recovery_key import RecoveryKeyAuthenticator

KINDS = ("Key", "Fido2", "PasswordProtectedKey", "RecoveryKey")


def authenticator_for(kind: str, *, origin: str = "http://localhost:3000", username: str = "",
                      password: str = "", **knobs: Any) -> Authenticator:
    """A fresh authenticator of ``kind``; ``knobs`` go to its constructor.

    ``username`` matters for the wrapped kinds (it salts the key wrapping); ``password`` is the
    PasswordProtectedKey's secret.
    """
    if kind == "Key":
        return KeyAuthenticator(origin=origin, **knobs)
    if kind == "Fido2":
        return PasskeyAuthenticator(origin=origin, **knobs)
    if kind == "PasswordProtectedKey":
        return PasswordProtectedKeyAuthenticator(password, username, origin=origin, **knobs)
    if kind == "RecoveryKey":
        return RecoveryKeyAuthenticator(username, origin=origin, **knobs)
    raise ValueError(f"unknown credential kind {kind!r}: {', '.join(KINDS)}")
