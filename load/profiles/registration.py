"""Delegated registration, per credential kind: the bootstrap service account signs
``POST /auth/registration/delegated`` (a user action), then a brand-new virtual authenticator
completes ``POST /auth/registration`` with the temporary token (attestation verified)."""

from __future__ import annotations

from locust import task

from load import shapes
from load.users import RegistrationUser


class RegisterKey(RegistrationUser):
    kind = "Key:P-256"

    @task
    def register(self) -> None:
        self.do_register()


class RegisterPasswordProtectedKey(RegisterKey):
    kind = "PasswordProtectedKey"


class RegisterFido2(RegisterKey):
    kind = "Fido2"


if (_shape := shapes.from_env()) is not None:
    LoadShape = _shape
