"""Entities of the auth system. Immutable: services replace them with :func:`evolve`.

Times are epoch seconds (floats) read from the injectable clock; the HTTP skin renders them
as ISO-8601.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

from simulator.verification.public_keys import VerifyingKey

_Entity = TypeVar("_Entity")
_FIELD_NAMES: dict[type, frozenset[str] | None] = {}


def _plain_fields(cls: type) -> frozenset[str] | None:
    """Field names of a dataclass whose instances are plain ``__dict__`` copies (no
    ``__post_init__``, no slots, every field set by ``__init__``); None for any other class."""
    if cls not in _FIELD_NAMES:
        fields = dataclasses.fields(cls)
        plain = (not hasattr(cls, "__post_init__") and "__slots__" not in cls.__dict__
                 and all(f.init for f in fields))
        _FIELD_NAMES[cls] = frozenset(f.name for f in fields) if plain else None
    return _FIELD_NAMES[cls]


def evolve(entity: _Entity, **changes: Any) -> _Entity:
    """``dataclasses.replace`` for frozen entities, at a fraction of its cost.

    ``replace`` rebuilds the keyword arguments from ``fields()`` and runs ``__init__``, which
    for a frozen class is one ``object.__setattr__`` per field; profiling showed it on every
    hot-path request (challenges and user-action tokens are marked used this way). For a plain
    dataclass the new instance is the old ``__dict__`` with the changes applied; anything else
    still goes through ``replace``.
    """
    cls = type(entity)
    names = _plain_fields(cls)
    if names is None:
        return dataclasses.replace(entity, **changes)  # type: ignore[type-var]
    unknown = changes.keys() - names
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
    new = object.__new__(cls)
    state = new.__dict__
    state.update(entity.__dict__)
    state.update(changes)
    return new


# User kinds and credential kinds as spelled on the wire.
CUSTOMER_EMPLOYEE = "CustomerEmployee"
END_USER = "EndUser"
USER_KINDS = (CUSTOMER_EMPLOYEE, END_USER)

FIDO2 = "Fido2"
KEY = "Key"
PASSWORD_PROTECTED_KEY = "PasswordProtectedKey"
RECOVERY_KEY = "RecoveryKey"
CREDENTIAL_KINDS = (FIDO2, KEY, PASSWORD_PROTECTED_KEY, RECOVERY_KEY)
SIGNING_KINDS = (FIDO2, KEY, PASSWORD_PROTECTED_KEY)

# Token kinds (SDK enum): login sessions, PAT, service account, application, temporary.
TOKEN_LOGIN = "Token"
TOKEN_PAT = "Pat"
TOKEN_SERVICE_ACCOUNT = "ServiceAccount"
TOKEN_APPLICATION = "Application"
TOKEN_TEMP = "Temp"
TOKEN_RECOVERY = "Recovery"


@dataclass(frozen=True, kw_only=True)
class Org:
    id: str
    name: str
    date_created: float


@dataclass(frozen=True, kw_only=True)
class Application:
    id: str
    org_id: str
    name: str
    kind: str  # ClientSideApplication | ServerSideApplication
    rp_id: str
    origin: str
    is_active: bool = True
    is_archived: bool = False
    is_default: bool = False
    external_id: str | None = None
    date_created: float = 0.0


@dataclass(frozen=True, kw_only=True)
class User:
    id: str
    org_id: str
    username: str
    kind: str
    is_active: bool = True
    is_registered: bool = False
    is_service_account: bool = False
    is_archived: bool = False
    registration: str = "Direct"  # Direct | Delegated
    external_id: str | None = None
    is_sso_required: bool = False
    date_created: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Credential:
    uuid: str  # cr-…
    org_id: str
    user_id: str
    kind: str
    cred_id: str  # as received (compare with simulator.encoding.same_id)
    public_key: VerifyingKey
    name: str = "Default Credential"
    is_active: bool = True
    is_archived: bool = False
    cose_alg: int | None = None
    sign_count: int = 0
    algorithm: str | None = None
    rp_id: str = ""
    origin: str = ""
    encrypted_private_key: str | None = None
    token_id: str | None = None  # set for the key credential of a PAT / SA token
    aaguid: str | None = None
    date_created: float = 0.0

    @property
    def usable(self) -> bool:
        return self.is_active and not self.is_archived


@dataclass(frozen=True, kw_only=True)
class AccessToken:
    """Login sessions, PATs, service-account and application tokens, temporary tokens."""

    id: str  # to-…
    org_id: str
    kind: str
    user_id: str = ""
    app_id: str = ""
    name: str = ""
    is_active: bool = True
    is_archived: bool = False
    expires_at: float = 0.0
    credential_uuid: str | None = None
    permission_id: str | None = None
    external_id: str | None = None
    delegated_by: str | None = None  # SA user id for delegated-login sessions
    parent_token_id: str | None = None
    date_created: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Challenge:
    """A server challenge session (registration, recovery, login, action, credential)."""

    id: str
    kind: str  # registration | recovery | login | action | credential
    org_id: str
    user_id: str
    challenge: str
    expires_at: float
    app_id: str = ""
    rp_id: str = ""
    origin: str = ""
    token_id: str = ""  # the caller's token (action / credential challenges)
    allowed_credentials: tuple[str, ...] = ()  # credential uuids allowed to sign
    used: bool = False
    # action challenges
    method: str = ""
    path: str = ""
    payload: str = ""
    # credential challenges
    credential_kind: str = ""
    via_code: bool = False
    # recovery challenges
    recovery_credential_uuid: str = ""
    # end-user registration by delegated flows
    created_by: str = ""


@dataclass(frozen=True, kw_only=True)
class UserActionToken:
    id: str
    org_id: str
    user_id: str
    token_id: str
    method: str
    path: str
    payload: str
    expires_at: float
    credential_uuid: str
    challenge_id: str
    date_signed: float
    used: bool = False


@dataclass(frozen=True, kw_only=True)
class Code:
    """E-mailed or displayed one-time codes: registration, login, recovery, credential."""

    code: str
    purpose: str  # registration | login | recovery | credential
    org_id: str
    user_id: str
    expires_at: float
    used: bool = False
    app_id: str = ""


@dataclass(frozen=True, kw_only=True)
class OutboxMessage:
    id: str
    org_id: str
    to: str
    kind: str  # registration-code | login-code | recovery-code | admin-notification
    subject: str
    body: str
    date_sent: float
    code: str | None = None
    user_id: str = ""


@dataclass(frozen=True, kw_only=True)
class Permission:
    id: str
    org_id: str
    name: str
    operations: tuple[str, ...]
    is_managed: bool = False
    is_archived: bool = False
    status: str = "Active"
    date_created: float = 0.0
    date_updated: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Assignment:
    id: str
    org_id: str
    permission_id: str
    identity_id: str  # user id, token id or app id
    identity_kind: str  # User | Token | Application | ServiceAccount | Pat
    is_archived: bool = False
    date_created: float = 0.0


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    id: str
    org_id: str
    sequence: int
    data: dict[str, Any] = field(default_factory=dict)
    previous_hash: str = ""
    entry_hash: str = ""


# -- identities and tokens (issue 4 part A) ------------------------------------------------
TENANT_USER = "TenantUser"
CLIENT_SIDE_APPLICATION = "ClientSideApplication"
SERVER_SIDE_APPLICATION = "ServerSideApplication"


@dataclass(frozen=True, kw_only=True)
class UserGroup:
    """SDK-era user group: holds permission assignments its members gain (endpoints.md §8)."""

    id: str
    org_id: str
    name: str
    description: str | None = None
    is_archived: bool = False
    date_created: float = 0.0
    date_updated: float = 0.0


@dataclass(frozen=True, kw_only=True)
class GroupMembership:
    id: str  # "<groupId>:<userId>": one membership per pair
    org_id: str
    group_id: str
    user_id: str
    date_created: float = 0.0


@dataclass(frozen=True, kw_only=True)
class AppSecret:
    """SHA-256 of a server-side application's token, compared in constant time."""

    token_id: str
    app_id: str
    digest: bytes
