"""Registry of the service-level rule ids (the Dfns rules around the cryptography).

Each id names one rejection the services (or the generic endpoint) enforce, guarded at that
exact place by ``core.config.policy.on("<id>")``. Like the verification rules
(:data:`simulator.verification.policy.RULES`) they can be switched off through the TEST-ONLY
hook ``VerificationPolicy(disabled_rules=...)``: the conformance mutation proof disables each
one and expects an F-check guarding it to turn red. Production wiring never disables any.

The two registries are disjoint; ``recovery.challenge`` (the recovery assertion signs the
``newCredentials``) is a verification rule and lives in the other one.
"""

from __future__ import annotations

SERVICE_RULES: dict[str, str] = {
    # -- user-action tokens (challenges.md §7) -------------------------------------------------
    "ua.required": "a protected request needs a live X-DFNS-USERACTION token",
    "ua.single_use": "a user-action token is redeemed at most once",
    "ua.bind.method": "a user-action token only works for the HTTP method signed",
    "ua.bind.path": "a user-action token only works for the path signed",
    "ua.bind.payload": "a user-action token only works for the (JSON-equal) payload signed",
    "ua.bind.identity": "a user-action token only works for the user (and token) it was issued to",
    "ua.expiry": "an expired user-action token is refused",
    # -- challenge sessions (challenges.md §6) -------------------------------------------------
    "challenge.single_use": "a challenge (or registration / recovery session) completes once",
    "challenge.expiry": "an expired challenge (or temporary token) is refused",
    "challenge.identity": "a challenge is completed only by the user and token that asked for it",
    "challenge.kind": "a challenge completes only at the endpoint (and flow) it was issued for",
    # -- one-time codes (login, registration, recovery, credential codes) ----------------------
    "code.single_use": "a one-time code is redeemed at most once",
    "code.expiry": "an expired one-time code is refused",
    "code.binding": "a one-time code works only for its purpose and its user",
    "credential.code.max_lifetime": "a credential code expires at most 1 minute ahead",
    "credential.code.future": "a credential code's expiration must be in the future",
    # -- registration --------------------------------------------------------------------------
    "registration.code": "direct registration needs the e-mailed registration code",
    "registration.once": "a registered user cannot register again",
    # -- authorisation (endpoints.md §9, §12) --------------------------------------------------
    "permissions.user": "the calling user must hold every operation of the route",
    "permissions.app": "the application must allow every operation of the route",
    "permissions.token": "a PAT with its own permission is limited to that permission",
    "permissions.within": "a permission granted to a new PAT / app / SA stays within the caller's",
    "sa_only": "service-account-only endpoints refuse every other caller",
    "token.human": "PATs and service-account tokens cannot mint PATs or service accounts",
    "token.active": "a deactivated or deleted token (or its parent / delegating SA) is refused",
    "token.expiry": "an expired bearer token is refused",
    "user.active": "a deactivated (or deleted) user can neither log in nor call the API",
    # -- credentials ---------------------------------------------------------------------------
    "credential.allowed": "an assertion must use an active credential the challenge offered, "
                          "of the kind stated",
    "credential.kind": "a new credential's kind must be the one the challenge was issued for",
    "credential.unique_id": "a credential id is registered at most once in the org",
    # -- applications --------------------------------------------------------------------------
    "app.valid": "X-DFNS-APPID must name an active application of the caller's org",
    "app.secret": "a server-side application needs a live X-DFNS-APPSECRET",
    "app.relying_party": "an application's origin host must be its rpId or a subdomain of it",
    "app.self_modify": "a request cannot deactivate or delete its own application",
    # -- nonces (challenges.md §1) -------------------------------------------------------------
    "nonce.single_use": "an X-DFNS-NONCE is accepted once",
    "nonce.window": "an X-DFNS-NONCE date must be within the tolerance of now",
    # -- bearer tokens and request shape (errors.md §1, §3.1) ---------------------------------
    "auth.bearer": "an authenticated route needs an Authorization: Bearer token",
    "token.signature": "a bearer token must carry this server's valid signature",
    "json.body": "a request body must be valid JSON",
    "schema.object": "a request body (and each nested object) must be a JSON object",
    "schema.required": "a request body must carry every required field",
    "schema.type": "each field of a request body must have the declared type",
    "schema.enum": "an enumerated field must hold one of its allowed values",
    "schema.range": "a numeric field must lie within its declared bounds (e.g. daysValid)",
    # -- encodings the verifiers decode (credentials.md §1, §3.1, §8) -------------------------
    # Guarded inside simulator.verification, but registered here: switched off, the value
    # reads as empty and a later rule rejects it differently, whereas a RULES entry switched
    # off must accept its bad input (tests/verification/test_rules.py).
    "clientdata.encoding": "clientData must be base64url of a UTF-8 JSON object",
    "key.public_key.pem": "a public key must be a parsable PEM public key",
    "fido2.attestation.encoding": "attestationData must be base64url CBOR with fmt, attStmt "
                                  "and authData",
    "fido2.authdata.encoding": "authenticatorData must be base64url of at least 37 bytes",
    "fido2.attestation.packed.x5c": "packed x5c, if present, must not be empty",
    # -- entities and codes (errors.md §3.3, §3.4) --------------------------------------------
    "name.unique": "PAT names are unique per user, service-account names per org (409)",
    "code.known": "a one-time code must be one the server issued",
    "entity.org_scope": "a path id names only an entity of the route's kind in the caller's org",
    "registration.recovery_kind": "a registration's recoveryCredential must be a RecoveryKey",
    "ppk.encrypted_key": "a PasswordProtectedKey credential carries its encryptedPrivateKey",
    "token.kind": "temporary tokens are no bearer for normal routes, and normal tokens no "
                  "temporary token",
    # -- recovery (flows.md §9) ----------------------------------------------------------------
    "recovery.code": "direct recovery needs the e-mailed verification code",
    "recovery.credential": "recovery names an active RecoveryKey credential of the user",
    "recovery.revoke": "a completed recovery deactivates every old credential and token",
}
