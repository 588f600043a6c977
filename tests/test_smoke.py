from scenarios.client import DfnsApi, delegated_login, login, ok, register_delegated
from virtual_authenticators import KeyAuthenticator


def test_delegated_registration_login_and_action(sa: DfnsApi, anon: DfnsApi,
                                                 bootstrap: dict) -> None:
    device = KeyAuthenticator(algorithm="Ed25519")
    result = register_delegated(sa, "smoke@example.com", device)
    assert result["credential"]["kind"] == "Key"
    token = delegated_login(sa, "smoke@example.com")
    user = sa.as_(token, device)
    items = ok(user.request("GET", "/auth/credentials"))["items"]
    assert [c["kind"] for c in items] == ["Key"]
    assert login(anon, org_id=bootstrap["orgId"], username="smoke@example.com", device=device)
