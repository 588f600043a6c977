"""Hot path: user-action signing in a loop, one Locust user class per signing kind.

Each iteration: ``POST /auth/action/init`` → the virtual authenticator signs the fresh
challenge → ``POST /auth/action`` (the simulator verifies the signature) → the protected call
``POST /auth/credentials/code`` carrying the one-time ``X-DFNS-USERACTION`` token.
Run one kind: ``locust -f load/profiles/hot_path.py HotPathKeyEd25519`` (or
``dfns-sim load hot-path-key-ed25519``); all classes together share the users equally.
"""

from __future__ import annotations

from locust import task

from load import shapes
from load.users import SigningUser


class HotPathKeyP256(SigningUser):
    kind = "Key:P-256"
    identity_kinds = (kind,)

    @task
    def action(self) -> None:
        self.signed_action()


class HotPathKeyEd25519(HotPathKeyP256):
    kind = "Key:Ed25519"
    identity_kinds = (kind,)


class HotPathKeySecp256k1(HotPathKeyP256):
    kind = "Key:secp256k1"
    identity_kinds = (kind,)


class HotPathKeyRsa2048(HotPathKeyP256):
    kind = "Key:RSA-2048"
    identity_kinds = (kind,)


class HotPathPasswordProtectedKey(HotPathKeyP256):
    kind = "PasswordProtectedKey"
    identity_kinds = (kind,)


class HotPathFido2(HotPathKeyP256):
    kind = "Fido2"
    identity_kinds = (kind,)


if (_shape := shapes.from_env()) is not None:
    LoadShape = _shape
