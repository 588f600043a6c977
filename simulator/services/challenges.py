"""Creating challenge sessions and rendering them in the Dfns wire shape (challenges.md §3–5)."""

from __future__ import annotations

import functools
from typing import Any

from simulator import errors
from simulator.errors import ApiError
from simulator.models import (
    FIDO2,
    KEY,
    PASSWORD_PROTECTED_KEY,
    SIGNING_KINDS,
    AccessToken,
    Application,
    Challenge,
    Credential,
    User,
)
from simulator.services.core import Core
from simulator.services.identity import challenge_token
from simulator.verification.passkeys import RelyingParty

PUB_KEY_CRED_PARAMS = [
    {"type": "public-key", "alg": -7},
    {"type": "public-key", "alg": -8},
    {"type": "public-key", "alg": -257},
]
FIRST_FACTOR_KINDS = [FIDO2, KEY, PASSWORD_PROTECTED_KEY]
ATTESTATION = "direct"


def relying_party(app: Application) -> RelyingParty:
    return _relying_party(app.rp_id, app.origin)


@functools.lru_cache(maxsize=256)
def _relying_party(rp_id: str, origin: str) -> RelyingParty:
    # Immutable and asked for on every assertion: hash the rpId once per pair, not per request.
    return RelyingParty(rp_id=rp_id, origin=origin)


def org_relying_parties(core: Core, org_id: str,
                        first: Application | None = None) -> list[RelyingParty]:
    """Every rpId/origin pair registered for the org, the calling app's first (flows.md §8)."""
    out = [relying_party(first)] if first is not None else []
    for app in core.store.find("apps", "org", org_id):
        if app.is_active and not app.is_archived:
            rp = relying_party(app)
            if rp not in out:
                out.append(rp)
    return out


def new_challenge(core: Core, *, kind: str, user: User, app: Application, lifetime: float,
                  **fields: Any) -> Challenge:
    challenge = Challenge(
        id=core.new_id("ch"), kind=kind, org_id=user.org_id, user_id=user.id,
        challenge=core.new_challenge(), expires_at=core.now() + lifetime,
        app_id=app.id, rp_id=app.rp_id, origin=app.origin, **fields,
    )
    core.store.put("challenges", challenge.id, challenge)
    core.housekeeper.track("challenges", challenge.id, challenge.expires_at)
    return challenge


def usable_credentials(core: Core, user: User) -> list[Credential]:
    return [c for c in core.store.find("credentials", "user", user.id) if c.usable]


def signing_credentials(core: Core, user: User, app: Application, token: AccessToken | None,
                        *, include_password_protected: bool) -> list[Credential]:
    """Credentials that may answer a login / action challenge (challenges.md §4, §8)."""
    if token is not None and token.kind == "Pat":
        return [c for c in usable_credentials(core, user) if c.token_id == token.id]
    if token is not None and token.kind == "ServiceAccount":
        return [c for c in usable_credentials(core, user) if c.kind == KEY]
    out = []
    for credential in usable_credentials(core, user):
        if credential.kind not in SIGNING_KINDS or credential.token_id:
            continue
        if credential.kind == FIDO2 and credential.rp_id != app.rp_id:
            continue  # a passkey only works on the rpId it was made for
        if credential.kind == PASSWORD_PROTECTED_KEY and not include_password_protected:
            continue
        out.append(credential)
    return out


def require_signing_credentials(credentials: list[Credential]) -> None:
    if not credentials:
        raise ApiError(401, errors.NO_USABLE_CREDENTIAL)


def _rp(challenge: Challenge, core: Core) -> dict[str, str]:
    return {"id": challenge.rp_id, "name": core.config.rp_name}


def _user(user: User) -> dict[str, str]:
    return {"id": user.id, "name": user.username, "displayName": user.username}


def _descriptor(credential: Credential) -> dict[str, Any]:
    return {"type": "public-key", "id": credential.cred_id}


def registration_view(core: Core, challenge: Challenge, user: User) -> dict[str, Any]:
    existing = [c for c in usable_credentials(core, user) if c.kind == FIDO2]
    return {
        "user": _user(user),
        "temporaryAuthenticationToken": challenge_token(core, challenge, temp=True),
        "challenge": challenge.challenge,
        "rp": _rp(challenge, core),
        "supportedCredentialKinds": {
            "firstFactor": list(FIRST_FACTOR_KINDS),
            "secondFactor": list(FIRST_FACTOR_KINDS),
        },
        "pubKeyCredParams": PUB_KEY_CRED_PARAMS,
        "pubKeyCredParam": PUB_KEY_CRED_PARAMS,
        "attestation": ATTESTATION,
        "excludeCredentials": [_descriptor(c) for c in existing],
        "authenticatorSelection": {
            "residentKey": "required",
            "requireResidentKey": True,
            "userVerification": "required",
        },
        "otpUrl": "",
    }


def assertion_view(core: Core, challenge: Challenge,
                   credentials: list[Credential]) -> dict[str, Any]:
    """LoginChallenge / UserActionChallenge."""
    allow: dict[str, list[dict[str, Any]]] = {"key": [], "webauthn": []}
    kinds: list[str] = []
    ppk: list[dict[str, Any]] = []
    for credential in credentials:
        if credential.kind == FIDO2:
            allow["webauthn"].append(_descriptor(credential))
        elif credential.kind == KEY:
            allow["key"].append(_descriptor(credential))
        elif credential.kind == PASSWORD_PROTECTED_KEY:
            ppk.append({**_descriptor(credential),
                        "encryptedPrivateKey": credential.encrypted_private_key or ""})
        if credential.kind not in kinds:
            kinds.append(credential.kind)
    if ppk:
        allow["passwordProtectedKey"] = ppk
    return {
        "challenge": challenge.challenge,
        "challengeIdentifier": challenge_token(core, challenge),
        "supportedCredentialKinds": [
            {"kind": kind, "factor": "either", "requiresSecondFactor": False} for kind in kinds
        ],
        "externalAuthenticationUrl": "",
        "allowCredentials": allow,
        "rp": _rp(challenge, core),
        "userVerification": "required",
        "attestation": ATTESTATION,
    }


def credential_view(core: Core, challenge: Challenge, user: User) -> dict[str, Any]:
    """CredentialChallenge: the superset of fields for every kind (challenges.md §5)."""
    identifier = challenge_token(core, challenge)
    view: dict[str, Any] = {
        "kind": challenge.credential_kind,
        "user": _user(user),
        "challengeIdentifier": identifier,
        "temporaryAuthenticationToken": identifier,
        "challenge": challenge.challenge,
        "rp": _rp(challenge, core),
        "pubKeyCredParams": PUB_KEY_CRED_PARAMS,
        "pubKeyCredParam": PUB_KEY_CRED_PARAMS,
        "attestation": ATTESTATION,
        "otpUrl": "",
    }
    if challenge.credential_kind == FIDO2:
        existing = [c for c in usable_credentials(core, user) if c.kind == FIDO2]
        view["excludeCredentials"] = [_descriptor(c) for c in existing]
        view["authenticatorSelection"] = {
            "residentKey": "required",
            "requireResidentKey": True,
            "userVerification": "required",
        }
    return view
