"""Social registration / login (endpoints.md §1.5, §2.4) and OIDC / SSO login (§2.7, §2.8).

Real identity providers are out of scope (spec §1.5): the simulator trusts ID tokens signed by
the test identity providers registered on the core (:class:`TestIdentityProvider`), verifies
their ES256 signature, issuer, audience, expiry and (for OIDC) nonce, and maps the ``email``
claim to the username. The OIDC/SSO redirect dance is simulated: ``init`` returns the IdP's
authorize URL carrying a single-use ``state``; :meth:`TestIdentityProvider.authorize` plays
the user consenting at the IdP and returns the ``code`` the redirect would carry.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from simulator import errors
from simulator.encoding import b64url_decode, b64url_encode
from simulator.errors import ApiError
from simulator.models import END_USER, FIDO2, KEY, PASSWORD_PROTECTED_KEY, Application, User
from simulator.services.core import Core
from simulator.services.identity import OIDC_SESSION, Caller, new_login_session, resolve_caller
from simulator.services.users import create_user, find_user

DEFAULT_AUDIENCE = "dfns-sim-client"
INVALID_ID_TOKEN = "invalid id token"
INVALID_STATE = "invalid or expired state"
INVALID_OIDC_CODE = "invalid or expired authorization code"
STATE_LIFETIME = 600.0


@dataclass
class TestIdentityProvider:
    """A test OIDC identity provider holding a P-256 key; mints ES256 ID tokens."""

    __test__ = False  # not a pytest test class

    issuer: str = "https://idp.dfns-sim.test"
    audience: str = DEFAULT_AUDIENCE
    key_id: str = "test-idp-key-1"
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    _codes: dict[str, str] = field(default_factory=dict)

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    def mint(self, email: str, *, audience: str | None = None, expires_in: float = 3600,
             issued_at: float | None = None, nonce: str | None = None, sub: str | None = None,
             key: ec.EllipticCurvePrivateKey | None = None, **claims: Any) -> str:
        now = time.time() if issued_at is None else issued_at
        payload = {"iss": self.issuer, "aud": audience or self.audience,
                   "sub": sub or f"idp|{email}",
                   "email": email, "email_verified": True, "iat": int(now),
                   "exp": int(now + expires_in),
                   **({"nonce": nonce} if nonce is not None else {}), **claims}
        header = {"alg": "ES256", "typ": "JWT", "kid": self.key_id}
        signing_input = f"{_segment(header)}.{_segment(payload)}".encode("ascii")
        der = (key or self.private_key).sign(signing_input, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = b64url_encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return f"{signing_input.decode()}.{signature}"

    def authorize(self, redirect_url: str, email: str, **mint_options: Any) -> dict[str, str]:
        """The user signs in at the IdP: returns the ``{code, state}`` of the redirect back."""
        query = {k: v[0] for k, v in parse_qs(urlparse(redirect_url).query).items()}
        mint_options.setdefault("nonce", query.get("nonce"))
        token = self.mint(email, audience=query.get("client_id") or self.audience, **mint_options)
        code = b64url_encode(self.private_key.sign(token.encode(), ec.ECDSA(hashes.SHA256()))[:24])
        self._codes[code] = token
        return {"code": code, "state": query.get("state", "")}

    def exchange(self, code: str) -> str | None:
        """Back channel: the ID token for an authorization code, once."""
        return self._codes.pop(code, None)


def _segment(value: dict[str, Any]) -> str:
    return b64url_encode(json.dumps(value, separators=(",", ":")).encode())


def install(core: Core, provider: TestIdentityProvider) -> TestIdentityProvider:
    """Trust ``provider`` on this simulator core."""
    core.extensions.setdefault("identity_providers", {})[provider.issuer] = provider
    return provider


def _providers(core: Core) -> dict[str, TestIdentityProvider]:
    return core.extensions.get("identity_providers") or {}


def verify_id_token(core: Core, token: str, *, audience: str | None = None,
                    nonce: str | None = None) -> dict[str, Any]:
    """Claims of a valid ID token from a trusted test IdP; 401 ``invalid id token: …`` otherwise."""
    def reject(reason: str) -> ApiError:
        return ApiError(401, f"{INVALID_ID_TOKEN}: {reason}")

    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise reject("malformed token")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except Exception:  # noqa: BLE001 - any decoding problem is a malformed token
        raise reject("malformed token") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise reject("malformed token")
    if header.get("alg") != "ES256":
        raise reject("unsupported algorithm")
    provider = _providers(core).get(str(claims.get("iss")))
    if provider is None:
        raise reject("untrusted issuer")
    if len(signature) != 64:
        raise reject("bad signature")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                               int.from_bytes(signature[32:], "big"))
    try:
        provider.public_key.verify(der, f"{parts[0]}.{parts[1]}".encode("ascii"),
                                   ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise reject("bad signature") from None
    expected_audience = audience or provider.audience
    aud = claims.get("aud")
    if expected_audience not in (aud if isinstance(aud, list) else [aud]):
        raise reject("wrong audience")
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or exp <= core.now():
        raise reject("expired")
    if nonce is not None and claims.get("nonce") != nonce:
        raise reject("nonce mismatch")
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise reject("email claim missing")
    return claims


# -- social registration / login (id token posted directly) -------------------------------
def register(core: Core, app: Application, *, org_id: str, id_token: str) -> dict[str, Any]:
    from simulator.services.registration import _challenge_for

    email = verify_id_token(core, id_token)["email"]
    user = find_user(core, org_id, email)
    if user is None:
        user = create_user(core, org_id=org_id, username=email, kind=END_USER,
                           registration="Delegated")
    if user.is_registered:
        raise errors.unauthorized(errors.USER_EXISTS)
    if not user.is_active:
        raise errors.bad_request(errors.USER_DEACTIVATED)
    return _challenge_for(core, app, user)


def _login_user(core: Core, org_id: str, email: str) -> User:
    user = find_user(core, org_id, email)
    if user is None or user.is_service_account:
        raise errors.unauthorized(errors.USER_NOT_FOUND)
    if not user.is_active:
        raise errors.bad_request(errors.USER_DEACTIVATED)
    return user


def _session(core: Core, app: Application, user: User) -> dict[str, Any]:
    token = new_login_session(core, user, app=app, name=OIDC_SESSION)
    return {"token": token, "expiry": int(core.now() + core.config.lifetimes.login_token)}


def login(core: Core, app: Application, *, org_id: str, id_token: str) -> dict[str, Any]:
    email = verify_id_token(core, id_token)["email"]
    user = _login_user(core, org_id, email)
    if not user.is_registered:
        raise errors.unauthorized(errors.USER_NOT_FOUND)
    return _session(core, app, user)


# -- OIDC / SSO redirect flows -------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class LoginState:
    state: str
    org_id: str
    flow: str  # oidc | sso
    redirect_uri: str
    client_id: str
    nonce: str | None
    expires_at: float


def _provider_for(core: Core) -> TestIdentityProvider:
    providers = list(_providers(core).values())
    if not providers:
        raise errors.bad_request("no identity provider is configured for this organization")
    return providers[0]


def start(core: Core, *, org_id: str, flow: str, redirect_uri: str, client_id: str | None = None,
          nonce: str | None = None) -> str:
    provider = _provider_for(core)
    state = b64url_encode(core.random.token_bytes(18))
    record = LoginState(state=state, org_id=org_id, flow=flow, redirect_uri=redirect_uri,
                        client_id=client_id or provider.audience, nonce=nonce,
                        expires_at=core.now() + STATE_LIFETIME)
    core.store.put("login_states", state, record)
    query = {"response_type": "code", "scope": "openid email", "client_id": record.client_id,
             "redirect_uri": redirect_uri, "state": state, **({"nonce": nonce} if nonce else {})}
    return f"{provider.issuer}/authorize?{urlencode(query)}"


def finish(core: Core, app: Application, *, flow: str, code: str,
           state: str) -> tuple[User, dict[str, Any]]:
    with core.store.transaction() as tx:
        record: LoginState | None = tx.get("login_states", state)
        if record is None or record.flow != flow or record.expires_at <= core.now():
            raise errors.unauthorized(INVALID_STATE)
        tx.delete("login_states", state)
    id_token = _provider_for(core).exchange(code)
    if id_token is None:
        raise errors.unauthorized(INVALID_OIDC_CODE)
    claims = verify_id_token(core, id_token, audience=record.client_id, nonce=record.nonce)
    user = _login_user(core, record.org_id, claims["email"])
    return user, _session(core, app, user)


def _has_first_factor(core: Core, user: User) -> bool:
    return any(c.usable and c.kind in (FIDO2, KEY, PASSWORD_PROTECTED_KEY) and not c.token_id
               for c in core.store.find("credentials", "user", user.id))


def oidc_login(core: Core, app: Application, *, code: str, state: str) -> dict[str, Any]:
    from simulator.services import credentials

    user, result = finish(core, app, flow="oidc", code=code, state=state)
    if not _has_first_factor(core, user):
        caller = resolve_caller(core, f"Bearer {result['token']}")
        result["credentialChallenge"] = credentials.init(core, app, caller, kind=FIDO2)
    return result


def oidc_credential(core: Core, app: Application, caller: Caller,
                    body: dict[str, Any]) -> dict[str, Any]:
    from simulator.services import credentials

    if caller.token.name != OIDC_SESSION:
        # endpoints.md §2.7: for the session POST /auth/login/oidc opened, which holds no
        # credential yet; any other bearer creates credentials with a user action (§3.2)
        raise errors.forbidden("this endpoint takes the token of POST /auth/login/oidc only")
    if _has_first_factor(core, caller.user):
        raise errors.bad_request("user already has an active first-factor credential")
    return credentials.complete(core, app, caller, body)

