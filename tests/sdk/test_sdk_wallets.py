"""Issue 4 must-show 4 / issue 2 must-show 2: dfns-sdk 1.0.2 drives the simulator unchanged.

Method names are the SDK's generated ones (dfns_sdk/generated/{auth,keys,wallets}).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from dfns_sdk import DfnsError, KeySigner

from simulator import Simulator
from simulator.services import permissions
from tests.wallets.helpers import verify_ecdsa
from virtual_authenticators import KeyAuthenticator, PasskeyAuthenticator, RecoveryKeyAuthenticator

DIGEST = hashlib.sha256(b"sdk-signed").digest()


def _register_end_user(sdk: dict, sim: Simulator, username: str, *,
                       recovery: Any = None) -> dict[str, Any]:
    sa = sdk["sa"]()
    challenge = sa.auth.create_delegated_registration_challenge({"kind": "EndUser",
                                                                 "email": username})
    device = PasskeyAuthenticator(origin=sim.bootstrap()["origin"])
    body: dict[str, Any] = {"firstFactorCredential": device.register(challenge),
                            "wallets": [{"network": "EthereumSepolia", "name": "sdk"}]}
    if recovery is not None:
        body["recoveryCredential"] = recovery.register(challenge)
    temp_client = sdk["client"](challenge["temporaryAuthenticationToken"])
    registered = temp_client.auth.register_end_user(body)
    token = sa.auth.delegated_login({"username": username})["token"]
    return {"sa": sa, "device": device, "registered": registered, "token": token,
            "user": sdk["client"](token, device)}


def test_delegated_registration_login_and_signed_wallet_calls(sdk: dict, sim: Simulator) -> None:
    flow = _register_end_user(sdk, sim, "sdk-user@example.com")
    wallet = flow["registered"]["wallets"][0]
    assert wallet["custodial"] is False
    user = flow["user"]
    assert [w["id"] for w in user.wallets.list_wallets()["items"]] == [wallet["id"]]
    assert user.wallets.get_wallet(wallet["id"])["address"] == wallet["address"]
    key_id = wallet["signingKey"]["id"]
    signed = user.keys.generate_signature(key_id, {"kind": "Hash", "hash": "0x" + DIGEST.hex()})
    verify_ecdsa(wallet["signingKey"]["publicKey"], DIGEST, signed["signature"])
    assert user.keys.get_signature(key_id, signed["id"])["id"] == signed["id"]
    assert [s["id"] for s in user.keys.list_signatures(key_id)["items"]] == [signed["id"]]
    assert user.keys.get_key(key_id)["custodial"] is False
    with pytest.raises(DfnsError) as denied:
        user.wallets.create_wallet({"network": "Ethereum"})
    assert denied.value.status_code == 403 and "(Wallets:Create)" in denied.value.message
    with pytest.raises(DfnsError) as foreign:
        flow["sa"].keys.generate_signature(key_id, {"kind": "Hash", "hash": "0x" + DIGEST.hex()})
    assert foreign.value.status_code == 403 and "non-custodial" in foreign.value.message


def test_service_account_custodial_wallet_and_key(sdk: dict) -> None:
    sa = sdk["sa"]()
    wallet = sa.wallets.create_wallet({"network": "EthereumSepolia", "name": "sdk-treasury"})
    assert wallet["custodial"] is True
    signed = sa.keys.generate_signature(wallet["signingKey"]["id"],
                                        {"kind": "Hash", "hash": DIGEST.hex()})
    verify_ecdsa(wallet["signingKey"]["publicKey"], DIGEST, signed["signature"])
    key = sa.keys.create_key({"scheme": "EdDSA", "curve": "ed25519", "name": "raw"})
    assert key["id"] in [k["id"] for k in sa.keys.list_keys()["items"]]
    assert sa.keys.update_key(key["id"], {"name": "renamed"})["name"] == "renamed"
    with pytest.raises(DfnsError) as exported:
        sa.keys.export_key(key["id"], {"encryptionKey": "AA==", "supportedSchemes": [
            {"protocol": "FROST", "curve": "ed25519"}]})
    assert (exported.value.status_code, exported.value.message) == (
        403, "wallet export is not enabled for this organization")


def test_delegated_client_init_complete(sdk: dict, sim: Simulator) -> None:
    flow = _register_end_user(sdk, sim, "sdk-delegated@example.com")
    wallet = flow["registered"]["wallets"][0]
    key_id = wallet["signingKey"]["id"]
    body = {"kind": "Message", "message": "0x" + b"hello".hex()}
    client = sdk["delegated"](flow["token"])  # the end user's delegated token, no signer
    challenge = client.keys.generate_signature_init(key_id, body)
    signed = client.keys.generate_signature_complete(key_id, body, {
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": flow["device"].sign(challenge)})
    assert signed["status"] == "Signed"
    # and the service account's own delegated client: wallet creation + delegated login
    sa_client = sdk["delegated"](sim.bootstrap()["serviceAccount"]["accessToken"])
    account = sim.bootstrap()["serviceAccount"]
    sa_signer = KeySigner(credential_id=account["credentialId"],
                          private_key=account["privateKeyPem"],
                          app_origin=sim.bootstrap()["origin"])
    create = {"network": "KeyECDSA", "delayDelegation": True}
    challenge = sa_client.wallets.create_wallet_init(create)
    made = sa_client.wallets.create_wallet_complete(create, {
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": sa_signer.sign(challenge)})
    delegate = {"delegateTo": flow["registered"]["user"]["id"]}
    challenge = sa_client.keys.delegate_key_init(made["signingKey"]["id"], delegate)
    result = sa_client.keys.delegate_key_complete(made["signingKey"]["id"], delegate, {
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": sa_signer.sign(challenge)})
    assert result == {"keyId": made["signingKey"]["id"], "status": "Delegated"}
    login = {"username": "sdk-delegated@example.com"}
    challenge = sa_client.auth.delegated_login_init(login)
    token = sa_client.auth.delegated_login_complete(login, {
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": sa_signer.sign(challenge)})
    assert token["token"]


def _pem(key: ec.EllipticCurvePrivateKey) -> tuple[str, str]:
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def test_users_service_accounts_and_pats(sdk: dict, sim: Simulator) -> None:
    sa = sdk["sa"]()
    user = sa.auth.create_user({"email": "employee@example.com", "kind": "CustomerEmployee"})
    assert sa.auth.get_user(user["userId"])["username"] == "employee@example.com"
    assert user["userId"] in [u["userId"] for u in sa.auth.list_users()["items"]]
    assert sa.auth.deactivate_user(user["userId"])["isActive"] is False
    assert sa.auth.activate_user(user["userId"])["isActive"] is True

    # PATs and service accounts are created by a human user (SDK-era rule): register one
    device = KeyAuthenticator(origin=sim.bootstrap()["origin"])
    challenge = sa.auth.create_delegated_registration_challenge({"kind": "CustomerEmployee",
                                                                 "email": "pat-owner@example.com"})
    sdk["client"](challenge["temporaryAuthenticationToken"]).auth.register(
        {"firstFactorCredential": device.register(challenge)})
    human = sdk["client"](sa.auth.delegated_login({"username": "pat-owner@example.com"})["token"],
                          device)
    # an org admin makes them an admin (permission routes are covered by their own tests)
    full = permissions.managed_permission(sim.core, sim.org_id, permissions.FULL_ADMIN)
    owner = next(u for u in sa.auth.list_users()["items"]
                 if u["username"] == "pat-owner@example.com")
    permissions.assign(sim.core, permission=full, identity_id=owner["userId"], identity_kind="User")
    private, public = _pem(ec.generate_private_key(ec.SECP256R1()))
    created = human.auth.create_service_account({"name": "sdk-sa", "publicKey": public})
    sa_id = created["userInfo"]["userId"]
    token = created["accessTokens"][0]["accessToken"]
    assert sa.auth.get_service_account(sa_id)["userInfo"]["userId"] == sa_id
    assert sa_id in [s["userInfo"]["userId"] for s in sa.auth.list_service_accounts()["items"]]
    assert sa.auth.deactivate_service_account(sa_id, {})["userInfo"]["isActive"] is False
    assert sa.auth.activate_service_account(sa_id)["userInfo"]["isActive"] is True
    assert sa.auth.update_service_account(sa_id, {"name": "sdk-sa-2"})
    new_sa = sdk["client"](token)
    assert new_sa.auth.list_credentials() is not None

    pat_private, pat_public = _pem(ec.generate_private_key(ec.SECP256R1()))
    pat = human.auth.create_personal_access_token({"name": "sdk-pat", "publicKey": pat_public})
    assert pat["accessToken"] and pat["kind"] == "Pat"
    assert human.auth.get_personal_access_token(pat["tokenId"])["name"] == "sdk-pat"
    assert pat["tokenId"] in [p["tokenId"]
                              for p in human.auth.list_personal_access_tokens()["items"]]
    assert human.auth.update_personal_access_token(pat["tokenId"],
                                                   {"name": "renamed"})["name"] == "renamed"
    assert human.auth.deactivate_personal_access_token(pat["tokenId"])["isActive"] is False
    assert human.auth.activate_personal_access_token(pat["tokenId"])["isActive"] is True
    assert human.auth.delete_personal_access_token(pat["tokenId"])["isActive"] is False


def test_delegated_recovery(sdk: dict, sim: Simulator) -> None:
    username = "sdk-recover@example.com"
    recovery = RecoveryKeyAuthenticator(username, origin=sim.bootstrap()["origin"])
    flow = _register_end_user(sdk, sim, username, recovery=recovery)
    sa = flow["sa"]
    challenge = sa.auth.create_delegated_recovery_challenge(
        {"username": username, "credentialId": recovery.credential_id})
    new_device = PasskeyAuthenticator(origin=sim.bootstrap()["origin"])
    new_credentials = {"firstFactorCredential": new_device.register(challenge)}
    blob = recovery.encrypted_key_from_challenge(challenge)
    result = sdk["client"](challenge["temporaryAuthenticationToken"]).auth.recover({
        "recovery": recovery.recovery_assertion(new_credentials, blob),
        "newCredentials": new_credentials})
    assert result["user"]["username"] == username
    # the old login token is dead, a fresh delegated login + the new passkey signs again
    with pytest.raises(DfnsError):
        flow["user"].wallets.list_wallets()
    token = sa.auth.delegated_login({"username": username})["token"]
    user = sdk["client"](token, new_device)
    wallet = flow["registered"]["wallets"][0]
    signed = user.keys.generate_signature(wallet["signingKey"]["id"],
                                          {"kind": "Hash", "hash": DIGEST.hex()})
    verify_ecdsa(wallet["signingKey"]["publicKey"], DIGEST, signed["signature"])
