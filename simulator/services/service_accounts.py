"""Service accounts: a user record with ``isServiceAccount``, a Key credential and a token."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.config import DAY
from simulator.encoding import b64url_encode
from simulator.models import CUSTOMER_EMPLOYEE, KEY, TOKEN_SERVICE_ACCOUNT, AccessToken, Credential, User
from simulator.services.core import Core
from simulator.services.identity import issue_access_token
from simulator.verification.public_keys import VerifyingKey


@dataclass(frozen=True, kw_only=True)
class IssuedToken:
    user: User
    token: AccessToken
    credential: Credential
    access_token: str


def token_credential_id(core: Core) -> str:
    """Server-made credential ids are base64url of an ASCII ``ci-…`` id (credentials.md §2)."""
    return b64url_encode(core.new_id("ci").encode())


def create_service_account(core: Core, *, org_id: str, name: str, public_key: VerifyingKey,
                           days_valid: int | None = None, external_id: str | None = None,
                           permission_id: str | None = None) -> IssuedToken:
    now = core.now()
    days = days_valid or core.config.lifetimes.access_token_days_default
    user = User(id=core.new_id("us"), org_id=org_id, username=name, kind=CUSTOMER_EMPLOYEE,
                is_service_account=True, is_registered=True, registration="Delegated",
                external_id=external_id, date_created=now)
    token = AccessToken(id=core.new_id("to"), org_id=org_id, kind=TOKEN_SERVICE_ACCOUNT,
                        user_id=user.id, name=name, expires_at=now + days * DAY,
                        permission_id=permission_id, external_id=external_id, date_created=now)
    credential = Credential(uuid=core.new_id("cr"), org_id=org_id, user_id=user.id, kind=KEY,
                            cred_id=token_credential_id(core), public_key=public_key,
                            name=name, token_id=token.id, date_created=now)
    token = AccessToken(**{**token.__dict__, "credential_uuid": credential.uuid})
    with core.store.transaction() as tx:
        tx.put("users", user.id, user)
        tx.put("credentials", credential.uuid, credential)
        access_token = issue_access_token(core, token, user)
    return IssuedToken(user=user, token=token, credential=credential, access_token=access_token)
