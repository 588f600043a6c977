"""No secret ever reaches the journal: tokens, codes, challenge identifiers, wrapped keys."""

from __future__ import annotations

import json
from typing import Any

import httpx

from scenarios.client import (
    DfnsApi,
    complete_registration,
    delegated_login,
    login,
    ok,
    register_delegated,
)
from simulator import Simulator
from simulator.admin.journal import MASK, SECRET_FIELDS, mask_value
from tests.admin.helpers import admin
from virtual_authenticators import KeyAuthenticator, PasswordProtectedKeyAuthenticator

SECRET_HEADERS = ("authorization", "x-dfns-useraction")


def _collect(value: Any, out: set[str]) -> None:
    """Every value of a secret-named field, at any depth of a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            secret_key = key.lower() in SECRET_FIELDS or key.lower().endswith("token")
            if secret_key and isinstance(item, str):
                out.add(item)
            _collect(item, out)
    elif isinstance(value, list):
        for item in value:
            _collect(item, out)


def _spy(client: httpx.Client, secrets: set[str]) -> None:
    def on_response(response: httpx.Response) -> None:
        response.read()
        request = response.request
        for name in SECRET_HEADERS:
            if name in request.headers:
                secrets.add(request.headers[name].removeprefix("Bearer ").strip())
        for raw in (request.content, response.content):
            try:
                _collect(json.loads(raw), secrets)
            except ValueError:
                pass

    client.event_hooks["response"].append(on_response)


def test_no_secret_in_the_journal(door: httpx.Client, sim: Simulator, sa: DfnsApi, anon: DfnsApi,
                                  bootstrap: dict) -> None:
    secrets: set[str] = {bootstrap["serviceAccount"]["accessToken"], "correct horse battery"}
    _spy(door, secrets)
    org = bootstrap["orgId"]
    # delegated registration with a password-protected key (encryptedPrivateKey on the wire)
    wrapped = PasswordProtectedKeyAuthenticator("correct horse battery", "ppk@example.com")
    register_delegated(sa, "ppk@example.com", wrapped)
    secrets.add(wrapped.encrypted_private_key)
    token = delegated_login(sa, "ppk@example.com")
    ok(sa.as_(token, wrapped).request("GET", "/auth/credentials"))
    # direct registration with an e-mailed code, then a login and a signed user action
    ok(sa.signed("POST", "/auth/users", {"email": "emp@example.com", "kind": "CustomerEmployee"}))
    code = sim.last_code("emp@example.com")
    secrets.add(code)
    challenge = ok(anon.request("POST", "/auth/registration/init", {
        "username": "emp@example.com", "registrationCode": code, "orgId": org}))
    device = KeyAuthenticator()
    complete_registration(anon, challenge, device)
    user_token = login(anon, org_id=org, username="emp@example.com", device=device)
    ok(anon.as_(user_token, device).request("GET", "/auth/credentials"))
    # a wrong code and a bad token are journaled too, still masked
    anon.request("POST", "/auth/registration/init", {"username": "x@example.com",
                                                     "registrationCode": "WRONG-CODE",
                                                     "orgId": org})
    anon.request("GET", "/auth/users", token="not-a-real-token")
    secrets.update({"WRONG-CODE", "not-a-real-token"})

    journal = admin(door, "GET", "journal")["items"]
    assert len(journal) >= 12
    dump = json.dumps(journal) + json.dumps(sim.journal())
    secrets = {s for s in secrets if len(s) >= 8}
    assert len(secrets) >= 10
    leaked = [s[:12] + "..." for s in secrets if s in dump]
    assert leaked == []
    assert MASK in dump
    signed = [e for e in journal if "x-dfns-useraction" in e["requestHeaders"]]
    assert signed and all(e["requestHeaders"]["x-dfns-useraction"] == MASK for e in signed)
    assert all(e["requestHeaders"].get("authorization", MASK) == MASK for e in journal)


def test_mask_value_rules() -> None:
    masked = mask_value({"token": "t", "nested": [{"password": "p", "recoveryCode": "r"}],
                         "paginationToken": "next", "username": "u", "message": "Bearer abc",
                         "note": "see eyJhbGciOi.eyJzdWIiOiJ4In0.sig"})
    assert masked == {"token": MASK, "nested": [{"password": MASK, "recoveryCode": MASK}],
                      "paginationToken": "next", "username": "u", "message": f"Bearer {MASK}",
                      "note": f"see {MASK}"}


def test_malformed_bodies_and_code_fields_are_masked(sim: Simulator) -> None:
    with sim.client() as http:
        http.post("/auth/login", content=b'{"firstFactor": {"password": "hunter2-hunter2"')
        http.post("/auth/login", content=b"password=form-secret-1&username=bob")
        http.post("/auth/recover/user/init",
                  json={"username": "a@b.c", "verificationCode": "ABCD-EFGH-2345"})
    dump = json.dumps(sim.journal())
    assert [s for s in ("hunter2-hunter2", "form-secret-1", "ABCD-EFGH-2345") if s in dump] == []
    assert "username=bob" in dump  # only secrets are masked


def test_error_codes_stay_readable_while_credential_codes_are_masked(sim: Simulator) -> None:
    with sim.client() as http:
        bad = http.post("/auth/login", content=b"{not json")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
        http.post("/auth/login/code", json={"username": "a@b.c", "code": "SECRET-CODE-1"})
    entries = sim.journal()
    assert entries[0]["responseBody"]["error"]["code"] == "invalid_json"
    assert "SECRET-CODE-1" not in json.dumps(entries)
    assert entries[1]["requestBody"]["code"] == MASK
    # an object that merely looks like an error does not unmask a code held as a number
    assert mask_value({"status": 1, "message": "m", "code": 123456}) == {
        "status": 1, "message": "m", "code": MASK}
