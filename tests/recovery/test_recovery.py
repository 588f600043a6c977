"""Recovery (endpoints.md §10, flows.md §9): direct and delegated, every rejection exact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scenarios.client import DfnsApi, delegated_login, login, ok, register_delegated
from simulator import Simulator
from simulator.services import recovery as recovery_service
from tests.authz.helpers import grant
from virtual_authenticators import KeyAuthenticator, RecoveryKeyAuthenticator

ITERATIONS = 1000  # PBKDF2 rounds of the virtual recovery kit: the server never decrypts


class Account:
    """A delegated end user with a Key credential, a RecoveryKey, a login session and a PAT."""

    def __init__(self, sim: Simulator, sa: DfnsApi, username: str = "alice@example.com") -> None:
        self.username = username
        self.device = KeyAuthenticator()
        self.recovery_key = RecoveryKeyAuthenticator(username, iterations=ITERATIONS)
        result = register_delegated(sa, username, self.device, recovery=self.recovery_key)
        self.user_id = result["user"]["id"]
        self.session = sa.as_(delegated_login(sa, username), self.device)
        grant(sim, self.user_id, ("Auth:Users:Create", "Auth:Users:Read", "Auth:Types:Pat"),
              kind="User")
        pat_key = KeyAuthenticator()
        created = ok(self.session.signed("POST", "/auth/pats",
                                         {"name": "ci", "publicKey": pat_key.public_key_pem}))
        self.pat = sa.as_(created["accessToken"], pat_key)

    def new_credentials(self, challenge: dict[str, Any]) -> tuple[dict[str, Any], KeyAuthenticator]:
        device = KeyAuthenticator()
        self.next_recovery_key = RecoveryKeyAuthenticator(self.username, iterations=ITERATIONS)
        return ({"firstFactorCredential": device.register(challenge),
                 "recoveryCredential": self.next_recovery_key.register(challenge)}, device)

    def completion_body(self, challenge: dict[str, Any]) -> tuple[dict[str, Any], KeyAuthenticator]:
        new_credentials, device = self.new_credentials(challenge)
        blob = self.recovery_key.encrypted_key_from_challenge(challenge)
        assert blob is not None
        return {"recovery": self.recovery_key.recovery_assertion(new_credentials, blob),
                "newCredentials": new_credentials}, device


def _direct_challenge(anon: DfnsApi, sim: Simulator, account: Account) -> dict[str, Any]:
    ok(anon.request("PUT", "/auth/recover/user/code",
                    {"username": account.username, "orgId": sim.org_id}))
    code = sim.last_code(account.username, "recovery-code")
    return ok(anon.request("POST", "/auth/recover/user/init", {
        "username": account.username, "verificationCode": code, "orgId": sim.org_id,
        "credentialId": account.recovery_key.credential_id}))


def _assert_error(response: Any, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"] == message


def _assert_recovered(sim: Simulator, anon: DfnsApi, account: Account, new_device: KeyAuthenticator,
                      result: dict[str, Any]) -> None:
    assert result["user"] == {"id": account.user_id, "username": account.username,
                              "orgId": sim.org_id}
    # the old session, the PAT and the old device are dead
    _assert_error(account.session.request("GET", "/auth/credentials"), 401, "Not Authorized.")
    _assert_error(account.pat.request("GET", "/auth/credentials"), 401, "Not Authorized.")
    with pytest.raises((AssertionError, ValueError)):
        login(anon, org_id=sim.org_id, username=account.username, device=account.device)
    # the new device logs in and sees only the new credentials
    token = login(anon, org_id=sim.org_id, username=account.username, device=new_device)
    items = ok(anon.as_(token).request("GET", "/auth/credentials"))["items"]
    active = sorted(c["kind"] for c in items if c["isActive"])
    assert active == ["Key", "RecoveryKey"]
    assert all(not c["isActive"] for c in items if c["credentialId"] in (
        account.device.credential_id, account.recovery_key.credential_id))


def test_direct_recovery_revokes_old_credentials_and_pats(sim: Simulator, sa: DfnsApi,
                                                          anon: DfnsApi) -> None:
    account = Account(sim, sa)
    challenge = _direct_challenge(anon, sim, account)
    assert challenge["allowedRecoveryCredentials"] == [{
        "id": account.recovery_key.credential_id,
        "encryptedRecoveryKey": account.recovery_key.encrypted_private_key}]
    body, new_device = account.completion_body(challenge)
    result = ok(anon.request("POST", "/auth/recover/user", body,
                             token=challenge["temporaryAuthenticationToken"]))
    _assert_recovered(sim, anon, account, new_device, result)
    # the temporary token is single-use
    _assert_error(anon.request("POST", "/auth/recover/user", body,
                               token=challenge["temporaryAuthenticationToken"]),
                  401, "Not Authorized.")


def test_delegated_recovery_revokes_old_credentials_and_pats(sim: Simulator, sa: DfnsApi,
                                                             anon: DfnsApi) -> None:
    account = Account(sim, sa, "bob@example.com")
    before = len(sim.outbox(account.username))
    challenge = ok(sa.signed("POST", "/auth/recover/user/delegated", {
        "username": account.username, "credentialId": account.recovery_key.credential_id}))
    assert len(sim.outbox(account.username)) == before  # no e-mail in the delegated flow
    body, new_device = account.completion_body(challenge)
    result = ok(anon.request("POST", "/auth/recover/user", body,
                             token=challenge["temporaryAuthenticationToken"]))
    _assert_recovered(sim, anon, account, new_device, result)


def test_recovery_rejections(sim: Simulator, sa: DfnsApi, anon: DfnsApi) -> None:
    account = Account(sim, sa, "carol@example.com")
    org = sim.org_id
    # unknown user / wrong code / non-recovery credential
    _assert_error(anon.request("PUT", "/auth/recover/user/code",
                               {"username": "nobody@example.com", "orgId": org}),
                  401, "User not found")
    ok(anon.request("POST", "/auth/recover/user/code",
                    {"username": account.username, "orgId": org}))
    code = sim.last_code(account.username, "recovery-code")
    init = {"username": account.username, "orgId": org,
            "credentialId": account.recovery_key.credential_id}
    _assert_error(anon.request("POST", "/auth/recover/user/init",
                               {**init, "verificationCode": "WRONG-CODE"}),
                  403, "Invalid code")
    _assert_error(anon.request("POST", "/auth/recover/user/init",
                               {**init, "verificationCode": code,
                                "credentialId": account.device.credential_id}),
                  401, "Credential cannot be used as a recovery factor.")
    # the code was spent by the previous attempt
    _assert_error(anon.request("POST", "/auth/recover/user/init",
                               {**init, "verificationCode": code}),
                  403, "Invalid code")
    _assert_error(sa.signed("POST", "/auth/recover/user/delegated",
                            {"username": account.username, "credentialId": "not-a-credential"}),
                  401, "Credential cannot be used as a recovery factor.")

    challenge = _direct_challenge(anon, sim, account)
    temp = challenge["temporaryAuthenticationToken"]
    body, _ = account.completion_body(challenge)

    # the assertion must sign exactly the newCredentials sent
    other, _ = account.new_credentials(challenge)
    mismatched = {**body, "newCredentials": other}
    _assert_error(anon.request("POST", "/auth/recover/user", mismatched, token=temp), 401,
                  "challenge mismatch")
    # a tampered signature
    bad = {**body, "recovery": {**body["recovery"], "credentialAssertion": {
        **body["recovery"]["credentialAssertion"],
        "signature": KeyAuthenticator().assertion(challenge["challenge"])["signature"]}}}
    _assert_error(anon.request("POST", "/auth/recover/user", bad, token=temp), 401,
                  "invalid signature")
    # a different recovery key than the one named at init
    stranger = {**body, "recovery": {**body["recovery"], "credentialAssertion": {
        **body["recovery"]["credentialAssertion"], "credId": account.device.credential_id}}}
    _assert_error(anon.request("POST", "/auth/recover/user", stranger, token=temp), 401,
                  "Credential cannot be used as a recovery factor.")
    # wrong kind
    wrong_kind = {**body, "recovery": {**body["recovery"], "kind": "Key"}}
    assert anon.request("POST", "/auth/recover/user", wrong_kind, token=temp).status_code == 400
    # a login or other bearer is not a recovery token
    _assert_error(anon.request("POST", "/auth/recover/user", body, token=account.session.token),
                  401, "Not Authorized.")
    # nothing above consumed the challenge: the genuine body still works
    ok(anon.request("POST", "/auth/recover/user", body, token=temp))


def test_new_credentials_must_attest_the_recovery_challenge(sim: Simulator, sa: DfnsApi,
                                                            anon: DfnsApi) -> None:
    account = Account(sim, sa, "dave@example.com")
    challenge = _direct_challenge(anon, sim, account)
    foreign = {**challenge, "challenge": "Y2gtZm9yZWlnbg"}
    new_credentials = {"firstFactorCredential": KeyAuthenticator().register(foreign)}
    body = {"recovery": account.recovery_key.recovery_assertion(new_credentials),
            "newCredentials": new_credentials}
    response = anon.request("POST", "/auth/recover/user", body,
                            token=challenge["temporaryAuthenticationToken"])
    _assert_error(response, 401, "challenge mismatch")


def test_policy_notifies_admins_and_locks_wallets(sim: Simulator, sa: DfnsApi,
                                                  anon: DfnsApi) -> None:
    recovery_service.configure(sim.core, notify_admins=True, admin_emails=("security@example.com",),
                               wallet_lock_days=2)
    account = Account(sim, sa, "erin@example.com")
    assert recovery_service.recovery_lock_until(sim.core, account.user_id) is None
    challenge = _direct_challenge(anon, sim, account)
    body, _ = account.completion_body(challenge)
    ok(anon.request("POST", "/auth/recover/user", body,
                    token=challenge["temporaryAuthenticationToken"]))
    notes = sim.outbox("security@example.com")
    assert [n["kind"] for n in notes] == ["admin-notification"]
    assert account.user_id in notes[0]["body"]
    until = recovery_service.recovery_lock_until(sim.core, account.user_id)
    assert until == pytest.approx(sim.core.now() + 2 * 86400, abs=5)
    sim.clock.advance(2 * 86400 + 1)
    assert recovery_service.recovery_lock_until(sim.core, account.user_id) is None


def test_policy_survives_a_restart_and_a_reset(tmp_path: Path) -> None:
    from simulator.persistence.sqlite_store import SqliteStore

    state = tmp_path / "state.sqlite"
    first = Simulator(store=SqliteStore(state))
    first.bootstrap()
    recovery_service.configure(first.core, wallet_lock_days=3)
    recovery_service.configure(first.core, notify_admins=True)  # knobs add up
    expected = recovery_service.RecoveryPolicy(notify_admins=True, wallet_lock_days=3)
    second = Simulator(store=SqliteStore(state))  # a restart, or a second --workers process
    assert recovery_service.policy(second.core) == expected
    fresh = Simulator()
    fresh.bootstrap()
    recovery_service.configure(fresh.core, wallet_lock_days=1)
    fresh.control.reset()
    assert recovery_service.policy(fresh.core) == recovery_service.RecoveryPolicy()


def test_the_recovery_lock_stops_wallet_signing_end_to_end(sim: Simulator, sa: DfnsApi,
                                                          anon: DfnsApi) -> None:
    import hashlib

    recovery_service.configure(sim.core, wallet_lock_days=1)
    account = Account(sim, sa, "frank@example.com")
    wallet = ok(sa.signed("POST", "/wallets", {"network": "EthereumSepolia",
                                                "delegateTo": account.user_id}))
    digest = "0x" + hashlib.sha256(b"pay bob").hexdigest()
    sign = {"kind": "Hash", "hash": digest}
    ok(account.session.signed("POST", f"/wallets/{wallet['id']}/signatures", sign))
    challenge = _direct_challenge(anon, sim, account)
    body, device = account.completion_body(challenge)
    ok(anon.request("POST", "/auth/recover/user", body,
                    token=challenge["temporaryAuthenticationToken"]))
    after = sa.as_(delegated_login(sa, account.username), device)
    until = recovery_service.recovery_lock_until(sim.core, account.user_id)
    assert until is not None
    locked = after.signed("POST", f"/wallets/{wallet['id']}/signatures", sign)
    from simulator.clock import iso8601

    _assert_error(locked, 403, f"wallets of user {account.user_id} are locked until "
                               f"{iso8601(until)} following an account recovery")
    sim.clock.advance(86400 + 1)  # past the lock (and the login token's hour)
    again = sa.as_(delegated_login(sa, account.username), device)
    ok(again.signed("POST", f"/wallets/{wallet['id']}/signatures", sign))
