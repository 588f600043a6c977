"""The official dfns-sdk 1.0.2, unmodified, drives users, service accounts and PATs.

In process, its httpx client is swapped for one wired to the simulator; over HTTP it talks to
the loopback server as it would to api.dfns.io.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from dfns_sdk import DfnsClient, DfnsClientConfig, KeySigner
from dfns_sdk.types import DfnsError

from scenarios.client import DfnsApi
from simulator import Simulator, errors
from simulator.simulator import INPROCESS_BASE_URL
from tests.identities.helpers import human, not_permitted, pem_pair

SdkFactory = Callable[[str, "KeySigner | None"], DfnsClient]


@pytest.fixture
def sdk(sim: Simulator, door: httpx.Client) -> SdkFactory:
    base_url = str(door.base_url).rstrip("/")
    made: list[DfnsClient] = []

    def make(token: str, signer: KeySigner | None = None) -> DfnsClient:
        client = DfnsClient(DfnsClientConfig(auth_token=token, base_url=base_url, signer=signer))
        if base_url == INPROCESS_BASE_URL:
            client._http._client.close()
            client._http._client = sim.client(base_url=base_url)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _dfns_error(call: Callable[[], Any]) -> tuple[int | None, str]:
    with pytest.raises(DfnsError) as info:
        call()
    return info.value.status_code, str(info.value.message)


def test_sdk_manages_users(sim: Simulator, sdk: SdkFactory, bootstrap: dict) -> None:
    boot = bootstrap["serviceAccount"]
    client = sdk(boot["accessToken"], KeySigner(boot["credentialId"], boot["privateKeyPem"]))
    auth = client.auth
    for i in range(3):
        auth.create_user({"email": f"sdk{i}@example.com", "kind": "CustomerEmployee"})
    first = auth.list_users({"limit": 2})
    assert len(first["items"]) == 2 and first["nextPageToken"]
    rest = auth.list_users({"limit": 2, "paginationToken": first["nextPageToken"]})
    assert len(rest["items"]) == 2 and "nextPageToken" not in rest
    user_id = next(u["userId"] for u in first["items"] + rest["items"]
                   if u["username"] == "sdk0@example.com")
    assert auth.get_user(user_id)["username"] == "sdk0@example.com"
    assert auth.update_user(user_id, {"isSSORequired": True})["isSSORequired"] is True
    assert auth.deactivate_user(user_id)["isActive"] is False
    assert auth.activate_user(user_id)["isActive"] is True
    assert auth.delete_user(user_id)["isActive"] is False
    assert _dfns_error(lambda: auth.get_user(user_id)) == (404, "user not found")


def test_sdk_manages_service_accounts_and_pats(sim: Simulator, sdk: SdkFactory, sa: DfnsApi,
                                               bootstrap: dict) -> None:
    admin = human(sim, sa, "sdk-admin@example.com")
    admin_client = sdk(admin.api.token or "",
                       KeySigner(admin.device.credential_id, admin.device.private_key_pem))
    auth = admin_client.auth
    # service accounts
    public, private = pem_pair()
    created = auth.create_service_account({"name": "sdk-robot", "publicKey": public,
                                           "daysValid": 30})
    sa_id = created["userInfo"]["userId"]
    sa_token = created["accessTokens"][0]
    robot = sdk(sa_token["accessToken"], KeySigner(sa_token["credId"], private)).auth
    assert robot.list_users()["items"]
    assert sa_id in [i["userInfo"]["userId"] for i in auth.list_service_accounts()["items"]]
    assert "accessToken" not in auth.get_service_account(sa_id)["accessTokens"][0]
    assert auth.update_service_account(sa_id,
                                       {"externalId": "x-1"})["userInfo"]["externalId"] == "x-1"
    assert auth.deactivate_service_account(sa_id, {"force": False})["userInfo"]["isActive"] is False
    assert _dfns_error(robot.list_users) == (401, errors.NOT_AUTHORIZED)
    assert auth.activate_service_account(sa_id)["userInfo"]["isActive"] is True
    rotated_public, rotated_private = pem_pair()
    credential = robot.create_service_account_credential({"publicKey": rotated_public,
                                                          "name": "rotated"})
    rotated = sdk(sa_token["accessToken"],
                  KeySigner(credential["credentialId"], rotated_private)).auth
    rotated.delete_service_account_credential(created["userInfo"]["credentialUuid"])
    assert auth.delete_service_account(sa_id, {"force": True})["userInfo"]["isActive"] is False
    assert _dfns_error(robot.list_users) == (401, errors.NOT_AUTHORIZED)
    # personal access tokens
    pat_public, pat_private = pem_pair()
    pat = auth.create_personal_access_token({"name": "sdk-pat", "publicKey": pat_public,
                                             "secondsValid": 600})
    assert pat["kind"] == "Pat" and pat["accessToken"]
    pat_auth = sdk(pat["accessToken"], KeySigner(pat["credId"], pat_private)).auth
    assert pat_auth.update_personal_access_token(pat["tokenId"],
                                                 {"name": "renamed"})["name"] == "renamed"
    assert [t["name"] for t in auth.list_personal_access_tokens()["items"]] == ["renamed"]
    assert auth.get_personal_access_token(pat["tokenId"])["isActive"] is True
    assert auth.deactivate_personal_access_token(pat["tokenId"])["isActive"] is False
    assert _dfns_error(pat_auth.list_personal_access_tokens) == (401, errors.NOT_AUTHORIZED)
    assert auth.activate_personal_access_token(pat["tokenId"])["isActive"] is True
    assert pat_auth.list_personal_access_tokens()["items"]
    assert auth.delete_personal_access_token(pat["tokenId"])["isActive"] is False
    assert _dfns_error(lambda: auth.get_personal_access_token(pat["tokenId"])) == (
        404, "token not found")
    # a service account may not mint PATs
    boot = bootstrap["serviceAccount"]
    boot_auth = sdk(boot["accessToken"],
                    KeySigner(boot["credentialId"], boot["privateKeyPem"])).auth
    new_pat = {"name": "n", "publicKey": pat_public}
    assert _dfns_error(lambda: boot_auth.create_personal_access_token(new_pat)) == (
        403, not_permitted("CustomerEmployee", boot["userId"], "Auth:Pats:Create"))
