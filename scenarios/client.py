"""A small client-side library over any httpx client speaking the Dfns auth API.

Scenarios, the conformance suite, load profiles and customers' tests use it to act as the
customer's server or the end user's device: make calls, sign user actions with a virtual
authenticator, register and log in users. It knows nothing about the simulator's insides, so
it works through either door or against any URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx


class Signer(Protocol):
    def sign(self, challenge: Mapping[str, Any]) -> dict[str, Any]: ...


class Registrar(Protocol):
    def register(self, challenge: Mapping[str, Any]) -> dict[str, Any]: ...


class ApiCallError(AssertionError):
    """A call that was expected to succeed did not; carries the response."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.request.method} {response.request.url.path} -> "
                         f"{response.status_code} {response.text[:500]}")
        self.response = response


def ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise ApiCallError(response)
    return response.json() if response.content else None


@dataclass
class DfnsApi:
    """Calls as one identity: a bearer token, an optional app id, an optional signer."""

    http: httpx.Client
    token: str | None = None
    signer: Signer | None = None
    app_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def as_(self, token: str | None, signer: Signer | None = None) -> DfnsApi:
        return DfnsApi(self.http, token, signer, self.app_id, dict(self.headers))

    def _headers(self, user_action: str | None = None, token: str | None = None) -> dict[str, str]:
        out = dict(self.headers)
        bearer = token if token is not None else self.token
        if bearer:
            out["Authorization"] = f"Bearer {bearer}"
        if self.app_id:
            out["X-DFNS-APPID"] = self.app_id
        if user_action:
            out["X-DFNS-USERACTION"] = user_action
        return out

    def request(self, method: str, path: str, body: Any = None, *, user_action: str | None = None,
                token: str | None = None,
                headers: Mapping[str, str] | None = None) -> httpx.Response:
        content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        all_headers = self._headers(user_action, token)
        if content is not None:
            all_headers["Content-Type"] = "application/json"
        if headers:
            all_headers.update(headers)
        return self.http.request(method, path, content=content, headers=all_headers)

    # -- user action sub-flow (flows.md §5) -------------------------------------------
    def action_challenge(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        payload = "" if body is None else json.dumps(body, separators=(",", ":"))
        return ok(self.request("POST", "/auth/action/init", {
            "userActionPayload": payload, "userActionHttpMethod": method,
            "userActionHttpPath": path, "userActionServerKind": "Api"}))

    def user_action(self, method: str, path: str, body: Any = None, *,
                    signer: Signer | None = None) -> str:
        challenge = self.action_challenge(method, path, body)
        assertion = (signer or self._signer()).sign(challenge)
        result = ok(self.request("POST", "/auth/action", {
            "challengeIdentifier": challenge["challengeIdentifier"], "firstFactor": assertion}))
        return str(result["userAction"])

    def signed(self, method: str, path: str, body: Any = None, *,
               signer: Signer | None = None) -> httpx.Response:
        """The protected request with a fresh user-action token."""
        token = self.user_action(method, path, body, signer=signer)
        return self.request(method, path, body, user_action=token)

    def _signer(self) -> Signer:
        if self.signer is None:
            raise ValueError("this call needs a signer (a virtual authenticator)")
        return self.signer


# -- flows used everywhere ----------------------------------------------------------------
def register_delegated(sa: DfnsApi, username: str, device: Registrar, *, kind: str = "EndUser",
                       recovery: Registrar | None = None, path: str = "/auth/registration",
                       extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Delegated registration by a service account, completed with ``device``'s credential."""
    body = {"email": username, "kind": kind}
    challenge = ok(sa.signed("POST", "/auth/registration/delegated", body))
    return complete_registration(sa, challenge, device, recovery=recovery, path=path, extra=extra)


def complete_registration(api: DfnsApi, challenge: Mapping[str, Any], device: Registrar, *,
                          recovery: Registrar | None = None, path: str = "/auth/registration",
                          extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"firstFactorCredential": device.register(challenge)}
    if recovery is not None:
        body["recoveryCredential"] = recovery.register(challenge)
    if extra:
        body.update(extra)
    return ok(api.request("POST", path, body, token=challenge["temporaryAuthenticationToken"]))


def delegated_login(sa: DfnsApi, username: str) -> str:
    return str(ok(sa.signed("POST", "/auth/login/delegated", {"username": username}))["token"])


def login(api: DfnsApi, *, org_id: str, username: str, device: Signer,
          login_code: str | None = None) -> str:
    body = {"username": username, "orgId": org_id}
    if login_code is not None:
        body["loginCode"] = login_code
    challenge = ok(api.request("POST", "/auth/login/init", body, token=""))
    assertion = device.sign(challenge)
    result = ok(api.request("POST", "/auth/login", {
        "challengeIdentifier": challenge["challengeIdentifier"], "firstFactor": assertion},
                            token=""))
    return str(result["token"])


def service_account_api(http: httpx.Client, bootstrap: Mapping[str, Any]) -> DfnsApi:
    """The bootstrap service account as a :class:`DfnsApi` with its key as signer."""
    from virtual_authenticators import KeyAuthenticator

    sa = bootstrap["serviceAccount"]
    signer = KeyAuthenticator(private_key=sa["privateKeyPem"], cred_id=sa["credentialId"])
    return DfnsApi(http, sa["accessToken"], signer)


# -- is there anything to run against? ----------------------------------------------------------
PROBE_TIMEOUT = 5.0


def cannot_reach(url: str, exc: Exception) -> str:
    """A failed connection in one line: ``cannot reach URL (connection refused)``."""
    if isinstance(exc, httpx.TimeoutException):
        why = "no answer within the time allowed"
    elif "refused" in str(exc).lower():
        why = "connection refused"
    else:
        why = str(exc) or type(exc).__name__
    return f"cannot reach {url} ({why})"


def envelope_message(response: httpx.Response) -> str | None:
    """The message of a Dfns error body (``error.message``, else a top-level ``message``)."""
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return None


def error_text(response: httpx.Response) -> str:
    """``401 Not Authorized.``: the status and the message of a Dfns error body, if any."""
    message = envelope_message(response)
    return f"{response.status_code} {message or response.reason_phrase}".strip()


def probe_target(url: str, bootstrap: Mapping[str, Any] | None = None, *,
                 source: str = "the bootstrap file",
                 timeout: float = PROBE_TIMEOUT) -> str | None:
    """Why nothing can run against ``url``, in one line, or None. One read-only call,
    ``GET /auth/users?limit=1`` as the bootstrap service account (``source`` names the file it
    came from); without a bootstrap identity any HTTP answer will do."""
    account = bootstrap.get("serviceAccount") if isinstance(bootstrap, Mapping) else None
    token = account.get("accessToken") if isinstance(account, Mapping) else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(base_url=url, timeout=timeout) as http:
            response = http.get("/auth/users", params={"limit": 1}, headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return cannot_reach(url, exc)
    # 403: the identity is accepted but may not list users (a least-privilege account); the
    # checks it is allowed to run still run.
    if not token or response.status_code < 400 or response.status_code == 403:
        return None
    if response.status_code == 401:
        return (f"the bootstrap identity in {source} is not accepted by {url}: "
                f"{error_text(response)} (is it this server's bootstrap file?)")
    return f"{url} answered GET /auth/users?limit=1 with {error_text(response)}"
