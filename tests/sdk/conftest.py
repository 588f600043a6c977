"""The official dfns-sdk 1.0.2, unmodified, pointed at the simulator through either door."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dfns_sdk import (
    DfnsClient,
    DfnsClientConfig,
    DfnsDelegatedClient,
    DfnsDelegatedClientConfig,
    KeySigner,
)

from simulator import Simulator

Factory = Callable[..., Any]


@pytest.fixture(params=["inprocess", "http"])
def sdk(request: pytest.FixtureRequest, sim: Simulator) -> Iterator[dict[str, Factory]]:
    """``sdk["client"](token, signer=None)`` / ``sdk["delegated"](token)`` / ``sdk["sa"]()``."""
    boot = sim.bootstrap()
    made: list[Any] = []
    if request.param == "http":
        holder = request.getfixturevalue("http_server")
        holder["app"] = sim.app
        base_url = holder["server"].base_url
    else:
        base_url = sim.base_url

    def wire(client: Any) -> Any:
        if request.param == "inprocess":
            # the SDK's only transport seam: its private httpx client
            client._http._client.close()
            client._http._client = sim.client(base_url=base_url)
        made.append(client)
        return client

    def client(token: str, signer: Any = None) -> DfnsClient:
        return wire(DfnsClient(DfnsClientConfig(auth_token=token, base_url=base_url,
                                                signer=signer)))

    def delegated(token: str) -> DfnsDelegatedClient:
        return wire(DfnsDelegatedClient(DfnsDelegatedClientConfig(auth_token=token,
                                                                  base_url=base_url)))

    def service_account() -> DfnsClient:
        account = boot["serviceAccount"]
        signer = KeySigner(credential_id=account["credentialId"],
                           private_key=account["privateKeyPem"],
                           app_origin=boot["origin"])
        return client(account["accessToken"], signer)

    yield {"client": client, "delegated": delegated, "sa": service_account}
    for item in made:
        item.close()
