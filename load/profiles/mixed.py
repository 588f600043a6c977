"""Mixed traffic in realistic proportions for an integration's auth backend.

Per user: signed user actions dominate (80 %), logins follow (15 %), new users arrive (5 %).
Credential kinds across users: passkeys 50 %, Key P-256 25 %, Key Ed25519 10 %,
PasswordProtectedKey 10 %, Key secp256k1 5 % (weights on the user classes).
"""

from __future__ import annotations

from typing import ClassVar

from locust import task

from load import common, shapes
from load.users import SigningUser


class MixedFido2(SigningUser):
    kind: ClassVar[str] = "Fido2"
    identity_kinds = (kind,)
    weight = 10

    def on_start(self) -> None:
        super().on_start()
        self.anon = self.api(None)
        sa_http = common.LocustHttp(self, "mixed")
        self.sa = common.service_account_api(sa_http, self.prov.bootstrap)  # type: ignore[arg-type]

    @task(16)
    def action(self) -> None:
        self.signed_action()

    @task(3)
    def log_in(self) -> None:
        if self.kind == "PasswordProtectedKey":  # its login needs an e-mailed code first
            self.signed_action()
            return
        common.login(self.anon, org_id=self.prov.org_id, username=self.identity.username,
                     device=self.identity.device)

    @task(1)
    def register(self) -> None:
        username = common.unique_username("mixed")
        device = common.make_device(self.kind, origin=self.prov.origin, username=username,
                                    registration=True)
        common.register_delegated(self.sa, username, device)


class MixedKeyP256(MixedFido2):
    kind = "Key:P-256"
    identity_kinds = (kind,)
    weight = 5


class MixedKeyEd25519(MixedFido2):
    kind = "Key:Ed25519"
    identity_kinds = (kind,)
    weight = 2


class MixedPasswordProtectedKey(MixedFido2):
    kind = "PasswordProtectedKey"
    identity_kinds = (kind,)
    weight = 2


class MixedKeySecp256k1(MixedFido2):
    kind = "Key:secp256k1"
    identity_kinds = (kind,)
    weight = 1


if (_shape := shapes.from_env()) is not None:
    LoadShape = _shape
