"""Dispatch of credential attestations and assertions to the per-kind verifiers.

The cryptographic rules live in :mod:`simulator.verification`; this module applies the Dfns
rules around them: which credential may sign, kind matching, duplicate ids, stored counters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from simulator import errors
from simulator.encoding import same_id
from simulator.errors import ApiError
from simulator.models import (
    CREDENTIAL_KINDS,
    FIDO2,
    PASSWORD_PROTECTED_KEY,
    RECOVERY_KEY,
    Challenge,
    Credential,
    evolve,
)
from simulator.services.core import Core
from simulator.verification.key_kinds import verify_key_assertion, verify_key_attestation
from simulator.verification.passkeys import (
    RelyingParty,
    verify_passkey_assertion,
    verify_passkey_attestation,
)


def verify_attestation(
    core: Core,
    attestation: Mapping[str, Any],
    *,
    org_id: str,
    user_id: str,
    challenge: str,
    relying_parties: Sequence[RelyingParty],
    name: str = "Default Credential",
) -> Credential:
    """Check one credential attestation and return the (unsaved) credential it creates."""
    # One of CREDENTIAL_KINDS; any JSON value when the schema.enum rule is switched off.
    kind: Any = attestation.get("credentialKind")
    if kind not in CREDENTIAL_KINDS and core.config.policy.on("schema.enum"):
        raise ApiError(400,
                       f"invalid credentialKind: expected one of {', '.join(CREDENTIAL_KINDS)}",
                       details={"field": "credentialKind"})
    info = attestation.get("credentialInfo") or {}
    for field in ("credId", "clientData", "attestationData"):
        if (not isinstance(info.get(field), str) or not info.get(field)) \
                and core.config.policy.on("schema.required"):
            raise ApiError(400, f"credentialInfo.{field} is required",
                           details={"field": f"credentialInfo.{field}"})
    encrypted = attestation.get("encryptedPrivateKey")
    if (kind == PASSWORD_PROTECTED_KEY and not encrypted
            and core.config.policy.on("ppk.encrypted_key")):
        raise ApiError(400, "encryptedPrivateKey is required for PasswordProtectedKey credentials",
                       details={"field": "encryptedPrivateKey"})
    now = core.now()
    policy = core.config.policy
    with core.timed_verification():
        if kind == FIDO2:
            reg = verify_passkey_attestation(info, challenge=challenge,
                                             relying_parties=relying_parties,
                                             policy=policy, now=_datetime(now))
            credential = Credential(
                uuid=core.new_id("cr"), org_id=org_id, user_id=user_id, kind=kind,
                cred_id=info["credId"], public_key=reg.public_key, cose_alg=reg.cose_alg,
                sign_count=reg.sign_count, rp_id=reg.rp.rp_id, origin=reg.rp.origin,
                aaguid=reg.aaguid, name=name, date_created=now,
            )
        else:
            key_reg = verify_key_attestation(info, challenge=challenge, policy=policy)
            rp = relying_parties[0] if relying_parties else RelyingParty(rp_id="", origin="")
            credential = Credential(
                uuid=core.new_id("cr"), org_id=org_id, user_id=user_id, kind=kind,
                cred_id=info["credId"], public_key=key_reg.public_key, algorithm=key_reg.algorithm,
                rp_id=rp.rp_id, origin=rp.origin, name=name, date_created=now,
                encrypted_private_key=encrypted if isinstance(encrypted, str) else None,
            )
    ensure_unique_cred_id(core, org_id, credential.cred_id)
    return credential


def ensure_unique_cred_id(core: Core, org_id: str, cred_id: str) -> None:
    if core.store.find("credentials", "org_cred_id", (org_id, cred_id.rstrip("="))) \
            and core.config.policy.on("credential.unique_id"):
        raise ApiError(400, "credential id already registered", details={"credId": cred_id})


def _datetime(epoch: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, tz=UTC)


def find_allowed_credential(core: Core, challenge: Challenge, cred_id: str) -> Credential:
    """The credential named by an assertion: it must be one the challenge offered."""
    if not isinstance(cred_id, str) or not cred_id:
        raise ApiError(401, errors.INVALID_CREDENTIAL)
    for uuid in challenge.allowed_credentials:
        credential: Credential | None = core.store.get("credentials", uuid)
        if credential is None:
            continue
        # Look up by credential id; the Python SDK README passes the uuid instead (row 9).
        if same_id(credential.cred_id, cred_id) or credential.uuid == cred_id:
            return credential
    if not core.config.policy.on("credential.allowed"):
        # Mutant behaviour: any credential of the org with that id may answer.
        key = (challenge.org_id, cred_id.rstrip("="))
        for credential in core.store.find("credentials", "org_cred_id", key):
            return credential
        by_uuid: Credential | None = core.store.get("credentials", cred_id)
        if by_uuid is not None and by_uuid.org_id == challenge.org_id:
            return by_uuid
        # ... and an id naming no credential at all is not compared: the challenge's first.
        for uuid in challenge.allowed_credentials:
            offered: Credential | None = core.store.get("credentials", uuid)
            if offered is not None:
                return offered
    raise ApiError(401, errors.INVALID_CREDENTIAL)


def verify_assertion(
    core: Core,
    challenge: Challenge,
    factor: Mapping[str, Any],
    *,
    relying_parties: Sequence[RelyingParty],
) -> Credential:
    """Verify a ``firstFactor``/``secondFactor`` against a login or action challenge.

    Returns the credential that signed, with its counter updated in the store.
    """
    kind = factor.get("kind")
    assertion = factor.get("credentialAssertion")
    if not isinstance(assertion, Mapping):
        raise ApiError(400, "credentialAssertion is required",
                       details={"field": "credentialAssertion"})
    credential = find_allowed_credential(core, challenge, assertion.get("credId", ""))
    current: Credential | None = core.store.get("credentials", credential.uuid)
    if current is None:
        raise ApiError(401, errors.INVALID_CREDENTIAL)
    if (not current.usable or current.kind != kind or kind == RECOVERY_KEY) \
            and core.config.policy.on("credential.allowed"):
        raise ApiError(401, errors.INVALID_CREDENTIAL)
    policy = core.config.policy
    with core.timed_verification():
        if kind == FIDO2:
            new_count = verify_passkey_assertion(
                assertion, challenge=challenge.challenge, relying_parties=relying_parties,
                public_key=current.public_key, cose_alg=current.cose_alg or -7,
                stored_sign_count=current.sign_count, user_id=current.user_id, policy=policy,
            )
        else:
            verify_key_assertion(assertion, challenge=challenge.challenge,
                                 public_key=current.public_key, policy=policy)
            new_count = None
    if new_count is not None and new_count != current.sign_count:
        with core.store.transaction() as tx:
            latest = tx.get("credentials", current.uuid)
            # Two concurrent assertions with the same counter: only one may advance it.
            if (latest.sign_count and new_count and new_count <= latest.sign_count
                    and policy.on("fido2.assertion.sign_count")):
                raise ApiError(401, errors.SIGN_COUNT)
            # Keep the high-water mark: an authenticator answering 0 (legal: "both non-zero"
            # is the rule) must not reset it, or a cloned key's lower counter passes next.
            current = evolve(latest, sign_count=max(new_count, latest.sign_count))
            tx.put("credentials", current.uuid, current)
    return current
