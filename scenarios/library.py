"""The scenario library: scripted end-to-end flows (flows.md), each a plain function over a
:class:`~scenarios.stage.Stage`, registered with the challenge × kind cells it covers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from scenarios.client import DfnsApi, complete_registration, login, ok
from scenarios.stage import Scenario, Stage


@dataclass(frozen=True)
class ScenarioInfo:
    name: str
    fn: Scenario
    summary: str
    cells: tuple[tuple[str, str], ...]
    routes: tuple[tuple[str, str], ...] = ()  # pending-on-route when any is missing
    needs_sim: bool = False  # reads e-mailed codes: in process or a dfns-sim target


SCENARIOS: dict[str, ScenarioInfo] = {}


def scenario(name: str, summary: str, cells: list[tuple[str, str]], *,
             routes: Sequence[tuple[str, str]] = (),
             needs_sim: bool = False) -> Any:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[name] = ScenarioInfo(name, fn, summary, tuple(cells), tuple(routes), needs_sim)
        return fn
    return register


def _login_and_act(stage: Stage, user: Any, kind: str) -> None:
    code = None
    if kind == "PasswordProtectedKey":
        ok(stage.anon.request("POST", "/auth/login/code",
                              {"username": user.username, "orgId": stage.org_id}, token=""))
        code = stage.last_code(user.username)
        stage.step("login code requested and read from the outbox")
    token = login(stage.anon, org_id=stage.org_id, username=user.username, device=user.device,
                  login_code=code)
    stage.step(f"standard login: init -> {kind} assertion over the login challenge -> token")
    api = DfnsApi(stage.http, token, user.device)
    body = {"expiration": stage.expiration()}
    result = ok(api.signed("POST", "/auth/credentials/code", body))
    stage.step(f"user action signed with the {kind} credential; protected call answered "
               f"(credential code {result['code'][:3]}…)")


def _register_login_act(kind: str) -> Scenario:
    def run(stage: Stage) -> None:
        user = stage.registered_user(kind)
        _login_and_act(stage, user, kind)
    return run


for _kind in ("Fido2", "Key", "PasswordProtectedKey"):
    scenario(f"register-login-act-{_kind.lower()}",
             f"register with a {_kind} credential, log in with it, sign a user action",
             [("registration", _kind), ("login", _kind), ("user action", _kind)],
             needs_sim=_kind == "PasswordProtectedKey")(_register_login_act(_kind))


@scenario("registration-with-recovery-key", "register with a Key first factor and a RecoveryKey",
          [("registration", "RecoveryKey"), ("registration", "Key")])
def registration_with_recovery_key(stage: Stage) -> None:
    user = stage.registered_user("Key", recovery=True)
    items = ok(user.session.request("GET", "/auth/credentials"))["items"]
    stage.step("credentials now: " + ", ".join(sorted(c["kind"] for c in items)))


def _create_credential(kind: str) -> Scenario:
    def run(stage: Stage) -> None:
        user = stage.registered_user("Key")
        challenge = ok(user.session.request("POST", "/auth/credentials/init", {"kind": kind}))
        stage.step(f"credential challenge for a new {kind}")
        new = stage.device(kind, user.username)
        body = {"challengeIdentifier": challenge["challengeIdentifier"],
                "credentialName": f"my {kind}", **new.register(challenge)}
        info = ok(user.session.signed("POST", "/auth/credentials", body))
        new_uuid = info.get("credentialUuid") or info.get("uuid")
        stage.step(f"new {kind} attested; creation signed with the existing Key -> {new_uuid}")
    return run


for _kind in ("Fido2", "Key", "PasswordProtectedKey", "RecoveryKey"):
    scenario(f"create-credential-{_kind.lower()}", f"add a {_kind} credential (regular flow)",
             [("credential", _kind), ("user action", "Key")])(_create_credential(_kind))


def _create_credential_with_code(kind: str) -> Scenario:
    def run(stage: Stage) -> None:
        user = stage.registered_user("Key")
        code = ok(user.session.signed("POST", "/auth/credentials/code",
                                      {"expiration": stage.expiration()}))["code"]
        stage.step("credential code created in App 1 (user action)")
        challenge = ok(stage.anon.request("POST", "/auth/credentials/code/init",
                                          {"code": code, "credentialKind": kind}, token=""))
        stage.step("App 2, unauthenticated: challenge from the code")
        new = stage.device(kind, user.username)
        body = {"challengeIdentifier": challenge["challengeIdentifier"],
                "credentialName": f"{kind} via code", **new.register(challenge)}
        info = ok(stage.anon.request("POST", "/auth/credentials/code/verify", body, token=""))
        new_uuid = info.get("credentialUuid") or info.get("uuid")
        stage.step(f"new {kind} verified without auth -> {new_uuid}")
    return run


for _kind in ("Fido2", "Key", "PasswordProtectedKey", "RecoveryKey"):
    scenario(f"create-credential-with-code-{_kind.lower()}",
             f"add a {_kind} credential with a one-time code (flows.md §7)",
             [("credential", _kind)])(_create_credential_with_code(_kind))


@scenario("delegated-registration-and-login", "service account registers and logs in an end user",
          [("registration", "Fido2"), ("user action", "Fido2")])
def delegated_registration_and_login(stage: Stage) -> None:
    user = stage.registered_user("Fido2")
    items = ok(user.session.request("GET", "/auth/credentials"))["items"]
    stage.step(f"the delegated token reads the user's credentials ({len(items)})")
    ok(user.session.signed("POST", "/auth/credentials/code", {"expiration": stage.expiration()}))
    stage.step("a write with the delegated token needs the user's own passkey signature")


@scenario("enduser-registration-with-wallets", "end-user registration that creates wallets",
          [("registration", "Fido2")], routes=[("POST", "/auth/registration/enduser")])
def enduser_registration_with_wallets(stage: Stage) -> None:
    username = stage.username("wallets")
    challenge = ok(stage.sa.signed("POST", "/auth/registration/delegated",
                                   {"email": username, "kind": "EndUser"}))
    stage.step("delegated registration challenge")
    device = stage.device("Fido2")
    result = complete_registration(stage.anon, challenge, device, path="/auth/registration/enduser",
                                   extra={"wallets": [{"network": "EthereumSepolia",
                                                       "name": "w1"}]})
    wallets = result.get("wallets") or []
    stage.step(f"registered with a passkey and {len(wallets)} wallet(s): "
               + ", ".join(f"{w['network']} {w.get('address', '')}" for w in wallets))


@scenario("multi-device-faq", "FAQ: server adds a passkey from device B (App B) signed on device A",
          [("credential", "Fido2"), ("user action", "Fido2"), ("login", "Fido2")],
          routes=[("POST", "/auth/apps")])
def multi_device_faq(stage: Stage) -> None:
    user = stage.registered_user("Fido2")
    app_b = ok(stage.sa.signed("POST", "/auth/apps", {
        "name": f"app-b-{user.user_id[-6:]}", "kind": "ClientSideApplication",
        "relyingPartyId": "b.example.com", "origin": "https://b.example.com"}))
    stage.step(f"App B created ({app_b.get('appId') or app_b.get('id')}) on rpId b.example.com")
    challenge = ok(user.session.request("POST", "/auth/credentials/init", {"kind": "Fido2"}))
    stage.step("server: credential challenge-1 with the delegated token")
    device_b = stage.device("Fido2", origin="https://b.example.com")
    on_b = dict(challenge, rp={"id": "b.example.com", "name": "App B"})
    body = {"challengeIdentifier": challenge["challengeIdentifier"], "credentialName": "device B",
            **device_b.register(on_b)}
    stage.step("device B creates Cred-B on its own rpId")
    info = ok(user.session.signed("POST", "/auth/credentials", body))
    new_uuid = info.get("credentialUuid") or info.get("uuid")
    stage.step(f"device A signs the user action (challenge-2) with Cred-A; Cred-B -> {new_uuid}")
    app_b_id = app_b.get("appId") or app_b.get("id")
    api_b = DfnsApi(stage.http, app_id=app_b_id)
    token = login(api_b, org_id=stage.org_id, username=user.username, device=device_b)
    stage.step(f"the user logs in on App B with Cred-B ({'ok' if token else 'no token'})")


def _recovery(delegated: bool, new_kind: str = "Key") -> Scenario:
    def run(stage: Stage) -> None:
        user = stage.registered_user("Key", recovery=True)
        rk = user.recovery
        if delegated:
            challenge = ok(stage.sa.signed("POST", "/auth/recover/user/delegated", {
                "username": user.username, "credentialId": rk.credential_id}))
            stage.step("server (service account) opens a delegated recovery")
        else:
            ok(stage.anon.request("POST", "/auth/recover/user/code",
                                  {"username": user.username, "orgId": stage.org_id}, token=""))
            code = stage.last_code(user.username)
            stage.step("verification code e-mailed and read from the outbox")
            challenge = ok(stage.anon.request("POST", "/auth/recover/user/init", {
                "username": user.username, "verificationCode": code, "orgId": stage.org_id,
                "credentialId": rk.credential_id}, token=""))
        stage.step("recovery challenge received with the encrypted recovery key")
        new_device = stage.device(new_kind, user.username)
        new_rk = stage.device("RecoveryKey", user.username)
        new_credentials = {"firstFactorCredential": new_device.register(challenge),
                           "recoveryCredential": new_rk.register(challenge)}
        assertion = rk.recovery_assertion(new_credentials,
                                          rk.encrypted_key_from_challenge(challenge))
        ok(stage.anon.request("POST", "/auth/recover/user", {
            "recovery": assertion, "newCredentials": new_credentials},
            token=challenge["temporaryAuthenticationToken"]))
        stage.step(f"new {new_kind} + RecoveryKey signed by the old RecoveryKey; recovery complete")
        if new_kind == "PasswordProtectedKey" and not stage.reads_mail():
            return
        login_code = None
        if new_kind == "PasswordProtectedKey":
            ok(stage.anon.request("POST", "/auth/login/code",
                                  {"username": user.username, "orgId": stage.org_id}, token=""))
            login_code = stage.last_code(user.username)
        login(stage.anon, org_id=stage.org_id, username=user.username, device=new_device,
              login_code=login_code)
        stage.step(f"login with the new {new_kind} works")
    return run


scenario("recovery-direct", "recovery with an e-mailed code and the RecoveryKey (flows.md §9.1)",
         [("recovery", "RecoveryKey"), ("recovery", "Key"), ("registration", "RecoveryKey")],
         routes=[("POST", "/auth/recover/user")], needs_sim=True)(_recovery(False))
scenario("recovery-delegated", "recovery opened by the service account (flows.md §9.2)",
         [("recovery", "RecoveryKey"), ("recovery", "Key"), ("registration", "RecoveryKey")],
         routes=[("POST", "/auth/recover/user/delegated")])(_recovery(True))
scenario("recovery-delegated-to-passkey", "delegated recovery onto a new passkey",
         [("recovery", "RecoveryKey"), ("recovery", "Fido2"), ("login", "Fido2")],
         routes=[("POST", "/auth/recover/user/delegated")])(_recovery(True, "Fido2"))
scenario("recovery-direct-to-password-protected-key",
         "direct recovery onto a new PasswordProtectedKey",
         [("recovery", "RecoveryKey"), ("recovery", "PasswordProtectedKey")],
         routes=[("POST", "/auth/recover/user")], needs_sim=True)(
    _recovery(False, "PasswordProtectedKey"))


def _admin(stage: Stage) -> Any:
    user = stage.registered_user("Key", user_kind="CustomerEmployee")
    perms = ok(stage.sa.request("GET", "/permissions"))["items"]
    full = next(p["id"] for p in perms if p["name"] == "DfnsFullAdminAccess")
    ok(stage.sa.signed("POST", "/permissions/assignments",
                       {"permissionId": full, "identityId": user.user_id}))
    stage.step("DfnsFullAdminAccess assigned to the employee")
    return stage.delegated_login(user)


@scenario("pat-lifecycle", "create, use, deactivate, reactivate and delete a PAT (flows.md §10)",
          [("user action", "Key")], routes=[("POST", "/auth/pats")])
def pat_lifecycle(stage: Stage) -> None:
    from virtual_authenticators import KeyAuthenticator

    admin = _admin(stage)
    key = KeyAuthenticator()
    info = ok(admin.api.signed("POST", "/auth/pats", {"name": "ci", "publicKey": key.public_key_pem,
                                                      "daysValid": 30}))
    stage.step(f"PAT {info['tokenId']} created")
    pat = DfnsApi(stage.http, info["accessToken"],
                  KeyAuthenticator(private_key=key.private_key, cred_id=info["credId"]))
    ok(pat.signed("POST", "/auth/users", {"email": stage.username("by-pat"), "kind": "EndUser"}))
    stage.step("the PAT creates a user, signing the user action with the PAT key")
    ok(admin.api.signed("PUT", f"/auth/pats/{info['tokenId']}/deactivate", None))
    status = pat.request("GET", "/auth/users").status_code
    stage.step(f"deactivated: the PAT is refused ({status})")
    ok(admin.api.signed("PUT", f"/auth/pats/{info['tokenId']}/activate", None))
    ok(pat.request("GET", "/auth/users"))
    stage.step("re-activated: the PAT works again")
    ok(admin.api.signed("DELETE", f"/auth/pats/{info['tokenId']}", None))
    stage.step(f"deleted: {pat.request('GET', '/auth/users').status_code}")


@scenario("service-account-lifecycle", "create, use, deactivate, reactivate and delete an SA",
          [("user action", "Key")], routes=[("POST", "/auth/service-accounts")])
def service_account_lifecycle(stage: Stage) -> None:
    from virtual_authenticators import KeyAuthenticator

    admin = _admin(stage)
    key = KeyAuthenticator(algorithm="Ed25519")
    info = ok(admin.api.signed("POST", "/auth/service-accounts",
                               {"name": f"svc-{admin.user_id[-6:]}",
                                "publicKey": key.public_key_pem}))
    sa_id, token = info["userInfo"]["userId"], info["accessTokens"][0]
    stage.step(f"service account {sa_id} created")
    sa = DfnsApi(stage.http, token["accessToken"],
                 KeyAuthenticator(private_key=key.private_key, cred_id=token["credId"]))
    ok(sa.signed("POST", "/auth/registration/delegated",
                 {"email": stage.username("by-sa"), "kind": "EndUser"}))
    stage.step("the SA starts a delegated registration, signing with its Ed25519 key")
    ok(admin.api.signed("PUT", f"/auth/service-accounts/{sa_id}/deactivate", None))
    stage.step(f"deactivated: {sa.request('GET', '/auth/users').status_code}")
    ok(admin.api.signed("PUT", f"/auth/service-accounts/{sa_id}/activate", None))
    ok(sa.request("GET", "/auth/users"))
    stage.step("re-activated: works again")
    ok(admin.api.signed("DELETE", f"/auth/service-accounts/{sa_id}", None))
    stage.step(f"deleted: {sa.request('GET', '/auth/users').status_code}")


@scenario("signature-for-unintegrated-chain",
          "format a transaction for a chain the API does not integrate, sign its hash through "
          "the API with a KeyECDSA wallet, verify the signature locally",
          [("user action", "Fido2")], routes=[("POST", "/wallets/{walletId}/signatures")])
def signature_for_unintegrated_chain(stage: Stage) -> None:
    user = stage.registered_user("Fido2")
    grant = ok(stage.sa.request("GET", "/permissions"))["items"]
    admin_perm = next(p["id"] for p in grant if p["name"] == "DfnsFullAdminAccess")
    ok(stage.sa.signed("POST", "/permissions/assignments",
                       {"permissionId": admin_perm, "identityId": user.user_id}))
    stage.step("the user is allowed to create wallets")
    wallet = ok(user.session.signed("POST", "/wallets", {"network": "KeyECDSA", "name": "raw"}))
    stage.step(f"KeyECDSA wallet {wallet['id']} (secp256k1, chain-agnostic)")
    # A made-up chain: canonical JSON of the transaction, SHA-256 is the signing digest.
    tx = {"chain": "example-chain-1", "from": "me", "to": "you", "amount": "42", "nonce": 7}
    digest = hashlib.sha256(json.dumps(tx, sort_keys=True, separators=(",", ":")).encode()).digest()
    stage.step(f"client formats the transaction and hashes it: 0x{digest.hex()[:16]}…")
    sig = ok(user.session.signed("POST", f"/wallets/{wallet['id']}/signatures",
                                 {"kind": "Hash", "hash": "0x" + digest.hex()}))
    stage.step(f"the API signs the hash (status {sig['status']}), "
               "the passkey signs the user action")
    r, s = int(sig["signature"]["r"], 16), int(sig["signature"]["s"], 16)
    public = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256K1(), bytes.fromhex(wallet["signingKey"]["publicKey"].removeprefix("0x")))
    public.verify(encode_dss_signature(r, s), digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    stage.step("signature verified locally against the wallet's public key: valid")


def matrix() -> dict[tuple[str, str], list[str]]:
    cells: dict[tuple[str, str], list[str]] = {}
    for info in SCENARIOS.values():
        for cell in info.cells:
            cells.setdefault(cell, []).append(info.name)
    return cells
