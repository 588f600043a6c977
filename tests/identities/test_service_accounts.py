"""Service accounts (endpoints.md §5, errors.md §3.4), through both doors."""

from __future__ import annotations

import base64

from scenarios.client import DfnsApi, ok
from simulator import Simulator, errors
from tests.identities.helpers import (
    create_pat,
    error,
    human,
    new_permission,
    not_permitted,
    pem_pair,
    service_account_with,
)
from virtual_authenticators import KeyAuthenticator


def _create(api: DfnsApi, name: str, **fields: object) -> tuple[dict, DfnsApi]:
    public, private = pem_pair()
    created = ok(api.signed("POST", "/auth/service-accounts",
                            {"name": name, "publicKey": public, **fields}))
    token = created["accessTokens"][0]
    signer = KeyAuthenticator(private_key=private, cred_id=token["credId"])
    return created, api.as_(token["accessToken"], signer)


def test_create_shows_token_once_and_inherits_the_creators_permissions(sim: Simulator,
                                                                       sa: DfnsApi) -> None:
    admin = human(sim, sa, "admin@example.com")
    created, robot = _create(admin.api, "robot", externalId="r-1", daysValid=30)
    info, token = created["userInfo"], created["accessTokens"][0]
    assert (info["isServiceAccount"] is True and info["isRegistered"] is True
            and info["isActive"] is True)
    assert info["kind"] == "CustomerEmployee" and info["username"] == "robot"
    assert token["kind"] == "ServiceAccount" and token["linkedUserId"] == info["userId"]
    assert token["accessToken"].startswith("eyJ") and token["publicKey"].startswith("SHA256:")
    assert base64.urlsafe_b64decode(token["credId"] + "==").startswith(b"ci-")
    admin_info = ok(admin.api.request("GET", f"/auth/users/{admin.user_id}"))
    assert ([a["permissionId"] for a in info["permissionAssignments"]]
            == [a["permissionId"] for a in admin_info["permissionAssignments"]])
    sa_id = info["userId"]
    fetched = ok(admin.api.request("GET", f"/auth/service-accounts/{sa_id}"))
    assert "accessToken" not in fetched["accessTokens"][0]
    listed = ok(admin.api.request("GET", "/auth/service-accounts"))["items"]
    assert sa_id in [i["userInfo"]["userId"] for i in listed]
    assert all("accessToken" not in t for i in listed for t in i["accessTokens"])
    # the new SA works and signs with its own key
    assert ok(robot.signed("PUT", f"/auth/service-accounts/{sa_id}",
                           {"name": "robot-2"}))["userInfo"]["username"] == "robot-2"


def test_service_account_rules(sim: Simulator, sa: DfnsApi, bootstrap: dict) -> None:
    admin = human(sim, sa, "admin@example.com", operations=(
        "Auth:Apps:Create", "Auth:Apps:Read", "Auth:Apps:Update", "Auth:Types:ServiceAccount",
        "Auth:Types:Pat", "Auth:Users:Create", "Auth:Users:Read", "Auth:Action:Sign"))
    _create(admin.api, "taken")
    public, _ = pem_pair()
    cases = [
        ({"name": "taken", "publicKey": public}, 409,
         "a service account with this name already exists"),
        ({"name": "x", "publicKey": public, "daysValid": 731}, 400,
         "invalid daysValid: must be at most 730"),
        ({"name": "x", "publicKey": public, "daysValid": 0}, 400,
         "invalid daysValid: must be at least 1"),
        ({"name": "x", "publicKey": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"},
         400, errors.INVALID_PUBLIC_KEY),
        ({"name": "x", "publicKey": public,
          "permissionId": new_permission(sim, ["Wallets:Create"])},
         403, not_permitted("CustomerEmployee", admin.user_id, "Wallets:Create")),
        ({"name": "x", "publicKey": public, "permissionId": "pm-unknown"}, 404,
         "permission not found"),
    ]
    for body, status, message in cases:
        response = admin.api.signed("POST", "/auth/service-accounts", body)
        assert error(response) == (status, message), body
    # only human users: not a service account, not a PAT
    body = {"name": "y", "publicKey": public}
    assert error(sa.signed("POST", "/auth/service-accounts", body)) == (
        403, not_permitted("CustomerEmployee", bootstrap["serviceAccount"]["userId"],
                           "Auth:ServiceAccounts:Create"))
    _, pat = create_pat(admin.api, "p")
    assert error(pat.signed("POST", "/auth/service-accounts", body)) == (
        403, not_permitted("CustomerEmployee", admin.user_id, "Auth:ServiceAccounts:Create"))
    # an explicit permission within the creator's is assigned as is
    narrow = new_permission(sim, ["Auth:Apps:Read", "Auth:Types:ServiceAccount"])
    created, _ = _create(admin.api, "narrow", permissionId=narrow)
    assert [a["permissionId"] for a in created["userInfo"]["permissionAssignments"]] == [narrow]
    # a caller without the operation is refused before anything else
    reader, reader_id = service_account_with(sim, sa.http, ["Auth:Apps:Read", "Auth:Action:Sign"])
    assert error(reader.signed("POST", "/auth/service-accounts", body)) == (
        403, not_permitted("CustomerEmployee", reader_id, "Auth:Apps:Create"))


def test_lifecycle_deactivation_is_immediate_and_reversible(sim: Simulator, sa: DfnsApi) -> None:
    admin = human(sim, sa, "admin@example.com")
    created, robot = _create(admin.api, "robot")
    sa_id = created["userInfo"]["userId"]
    path = f"/auth/service-accounts/{sa_id}"
    assert robot.request("GET", "/auth/users").status_code == 200
    deactivated = ok(admin.api.signed("PUT", f"{path}/deactivate", {"force": True}))
    assert (deactivated["userInfo"]["isActive"] is False
            and deactivated["accessTokens"][0]["isActive"] is False)
    assert error(robot.request("GET", "/auth/users")) == (401, errors.NOT_AUTHORIZED)
    assert ok(admin.api.signed("PUT", f"{path}/activate"))["userInfo"]["isActive"] is True
    assert robot.request("GET", "/auth/users").status_code == 200
    _create(admin.api, "other")
    assert error(admin.api.signed("PUT", path, {"name": "other"})) == (
        409, "a service account with this name already exists")
    updated = ok(admin.api.signed("PUT", path, {"externalId": "ext-9"}))
    assert (updated["userInfo"]["externalId"] == "ext-9"
            and updated["accessTokens"][0]["externalId"] == "ext-9")
    archived = ok(admin.api.signed("DELETE", path))
    assert archived["userInfo"]["isActive"] is False
    assert error(robot.request("GET", "/auth/users")) == (401, errors.NOT_AUTHORIZED)
    assert error(admin.api.request("GET", path)) == (404, "service account not found")
    # a human user id is not a service account
    assert error(admin.api.request("GET", f"/auth/service-accounts/{admin.user_id}")) == (
        404, "service account not found")
    # the name is free again
    _create(admin.api, "robot")


def test_extra_credentials_rotate_the_signing_key(sim: Simulator, sa: DfnsApi) -> None:
    admin = human(sim, sa, "admin@example.com")
    created, robot = _create(admin.api, "rotator")
    old_uuid = created["userInfo"]["credentialUuid"]
    public, private = pem_pair()
    credential = ok(robot.signed("POST", "/auth/service-accounts/credentials",
                                 {"publicKey": public, "name": "k2"}))
    assert (credential["kind"] == "Key" and credential["isActive"] is True
            and credential["name"] == "k2")
    rotated = robot.as_(robot.token,
                        KeyAuthenticator(private_key=private, cred_id=credential["credentialId"]))
    ok(rotated.signed("DELETE", f"/auth/service-accounts/credentials/{old_uuid}"))
    # the old key is gone, the new one signs; the last one cannot be removed
    assert len(rotated.action_challenge("GET", "/auth/users")["allowCredentials"]["key"]) == 1
    last = f"/auth/service-accounts/credentials/{credential['credentialUuid']}"
    assert error(rotated.signed("DELETE", last)) == (
        400, "at least one active credential must remain")
    assert error(rotated.signed("DELETE", "/auth/service-accounts/credentials/cr-unknown")) == (
        404, "credential not found")
    # humans have no service-account credentials
    assert error(admin.api.signed("POST", "/auth/service-accounts/credentials",
                                  {"publicKey": public})) == (
        403, not_permitted("CustomerEmployee", admin.user_id, "Auth:ServiceAccounts:Update"))
