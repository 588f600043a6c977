"""Login: ``POST /auth/login/init`` → sign → ``POST /auth/login``, per credential kind.

PasswordProtectedKey is absent on purpose: its login needs an e-mailed login code before the
challenge carries the wrapped key (flows.md), which is not a signature-verification flow.
"""

from __future__ import annotations

from locust import task

from load import shapes
from load.users import LoginUser


class LoginKeyP256(LoginUser):
    kind = "Key:P-256"
    identity_kinds = (kind,)

    @task
    def log_in(self) -> None:
        self.do_login()


class LoginKeyEd25519(LoginKeyP256):
    kind = "Key:Ed25519"
    identity_kinds = (kind,)


class LoginFido2(LoginKeyP256):
    kind = "Fido2"
    identity_kinds = (kind,)


if (_shape := shapes.from_env()) is not None:
    LoadShape = _shape
