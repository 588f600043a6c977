"""Dfns protocol groups: user-action binding and single use (challenges.md §7), challenge and
token expiry (§6, simulator clock), credential codes (flows.md §7) and the credential
lifecycle. The applications group is in applications.py."""

from __future__ import annotations

from typing import Any

from conformance.checks._contexts import at_credential_code, soon
from conformance.registry import add
from scenarios.client import ok
from simulator import errors as E

SIGNERS = ("Key", "Fido2", "PasswordProtectedKey")
PROTECTED = ("POST", "/auth/credentials/code")


def _body(ctx: Any) -> dict[str, Any]:
    return {"expiration": soon(ctx)}


def _ua(actor: Any, method: str, path: str, body: Any) -> str:
    return actor.api.user_action(method, path, body)


def ua_missing(ctx: Any, kind: str) -> Any:
    actor = ctx.user(kind)
    return actor.api.request(*PROTECTED, _body(ctx))


def ua_garbage(ctx: Any, kind: str) -> Any:
    actor = ctx.user(kind)
    return actor.api.request(*PROTECTED, _body(ctx), user_action="not-a-user-action-token")


def ua_reused(ctx: Any, kind: str) -> Any:
    actor = ctx.user(kind)
    body = _body(ctx)
    token = _ua(actor, *PROTECTED, body)
    ok(actor.api.request(*PROTECTED, body, user_action=token))
    return actor.api.request(*PROTECTED, body, user_action=token)


def ua_other_body(ctx: Any, kind: str) -> Any:
    actor = ctx.user(kind)
    token = _ua(actor, *PROTECTED, _body(ctx))
    return actor.api.request(*PROTECTED, {"expiration": soon(ctx, 30)}, user_action=token)


def ua_other_path(ctx: Any, kind: str) -> Any:
    actor = ctx.user(kind)
    body = _body(ctx)
    token = _ua(actor, "POST", "/auth/credentials/codes", body)
    return actor.api.request(*PROTECTED, body, user_action=token)


def ua_other_method(ctx: Any, kind: str) -> Any:
    actor = ctx.user(kind)
    body = _body(ctx)
    token = _ua(actor, "PUT", PROTECTED[1], body)
    return actor.api.request(*PROTECTED, body, user_action=token)


def ua_other_identity(ctx: Any, kind: str) -> Any:
    alice, bob = ctx.user(kind), ctx.user(kind)
    body = _body(ctx)
    token = _ua(alice, *PROTECTED, body)
    return bob.api.request(*PROTECTED, body, user_action=token)


def action_challenge_reused(ctx: Any, kind: str) -> Any:
    actor = ctx.user(kind)
    challenge = ctx.action_challenge(actor)
    ok(ctx.action_complete(actor, challenge, actor.device.sign(challenge)))
    return ctx.action_complete(actor, challenge, actor.device.sign(challenge))


def action_challenge_of_other(ctx: Any, kind: str) -> Any:
    alice, bob = ctx.user(kind), ctx.user(kind)
    challenge = ctx.action_challenge(alice)
    return ctx.action_complete(bob, challenge, alice.device.sign(challenge))


def action_signed_by_other(ctx: Any, kind: str) -> Any:
    alice, bob = ctx.user(kind), ctx.user(kind)
    challenge = ctx.action_challenge(alice)
    forged = dict(challenge)
    forged["allowCredentials"] = ctx.action_challenge(bob)["allowCredentials"]
    return ctx.action_complete(alice, challenge, bob.device.sign(forged))


def login_challenge_reused(ctx: Any, kind: str) -> Any:
    actor = ctx.user(kind)
    challenge = ctx.login_challenge(actor)
    ok(ctx.login_complete(challenge, actor.device.sign(challenge)))
    return ctx.login_complete(challenge, actor.device.sign(challenge))


def ua_happy(ctx: Any, kind: str) -> Any:
    actor = ctx.user(kind)
    return actor.api.signed(*PROTECTED, _body(ctx))


def ua_json_equal(ctx: Any, kind: str) -> Any:
    """The server may re-serialise B between init and complete (flows.md §5): JSON-equal wins."""
    actor = ctx.user(kind)
    body = _body(ctx)
    token = _ua(actor, *PROTECTED, body)
    import json
    content = json.dumps(body, indent=2).encode()
    headers = {"Authorization": f"Bearer {actor.token}", "X-DFNS-USERACTION": token,
               "Content-Type": "application/json"}
    return ctx.http.post(PROTECTED[1], content=content, headers=headers)


UA_TABLE = [
    ("a protected call without X-DFNS-USERACTION is refused", 403, E.USER_ACTION_INVALID,
     ua_missing),
    ("a malformed user-action token is refused", 403, E.USER_ACTION_INVALID, ua_garbage),
    ("a user-action token is single use", 400, E.USER_ACTION_USED, ua_reused),
    ("the payload must equal the one signed", 403, E.USER_ACTION_INVALID, ua_other_body),
    ("the path must equal the one signed", 403, E.USER_ACTION_INVALID, ua_other_path),
    ("the method must equal the one signed", 403, E.USER_ACTION_INVALID, ua_other_method),
    ("a token issued to another user is refused", 403, E.USER_ACTION_INVALID, ua_other_identity),
    ("an action challenge is single use", 400, E.CHALLENGE_INVALID, action_challenge_reused),
    ("an action challenge of another user cannot be completed", 400, E.CHALLENGE_INVALID,
     action_challenge_of_other),
    ("an action must be signed by the caller's own credential", 401, E.INVALID_CREDENTIAL,
     action_signed_by_other),
    ("a login challenge is single use", 400, E.CHALLENGE_INVALID, login_challenge_reused),
]

# The service rule (simulator.services.rules) each UA check guards: switching it off must turn
# the check red (tests/conformance_meta/test_mutation_proof.py).
UA_GUARDS: dict[Any, tuple[str, ...]] = {
    ua_missing: ("ua.required",), ua_garbage: ("ua.required",), ua_reused: ("ua.single_use",),
    ua_other_body: ("ua.bind.payload",), ua_other_path: ("ua.bind.path",),
    ua_other_method: ("ua.bind.method",), ua_other_identity: ("ua.bind.identity",),
    action_challenge_reused: ("challenge.single_use",),
    action_challenge_of_other: ("challenge.identity",),
    action_signed_by_other: ("credential.allowed",),
    login_challenge_reused: ("challenge.single_use",),
}

# Loop variables shared by the tables of this module (their rows differ in these types).
message: str | None
guards: tuple[str, ...]

for kind in SIGNERS:
    needs = ("sim",) if kind == "PasswordProtectedKey" else ()
    for rule, status, message, ua_fn in UA_TABLE:
        cell = "login" if ua_fn is login_challenge_reused else "user action"
        add("UA", f"UA-{ {'Key': 'KEY', 'Fido2': 'F2', 'PasswordProtectedKey': 'PPK'}[kind]}",
            "F", rule, "challenges.md §6-§7; errors.md §3.2",
            lambda ctx, f=ua_fn, k=kind: f(ctx, k), status=status, message=message,
            guards=UA_GUARDS[ua_fn], needs=needs if cell == "login" else (), cells=[(cell, kind)])
    for rule, ua_fn in [("a signed protected call succeeds once", ua_happy),
                        ("a JSON-equal re-serialised payload is accepted", ua_json_equal)]:
        add("UA", f"UA-{ {'Key': 'KEY', 'Fido2': 'F2', 'PasswordProtectedKey': 'PPK'}[kind]}",
            "P", rule, "challenges.md §7", lambda ctx, f=ua_fn, k=kind: f(ctx, k),
            cells=[("user action", kind)])

# -- expiry (simulator clock) --------------------------------------------------------------
LIFETIME = {"login": 300, "action": 300, "credential": 300, "ua": 300, "registration": 3600,
            "login_token": 3600}


def _advance(ctx: Any, seconds: float) -> None:
    ctx.sim.clock.advance(seconds)


def exp_login(ctx: Any, past: bool) -> Any:
    actor = ctx.user("Key")
    challenge = ctx.login_challenge(actor)
    _advance(ctx, LIFETIME["login"] + (1 if past else -5))
    return ctx.login_complete(challenge, actor.device.sign(challenge))


def exp_action(ctx: Any, past: bool) -> Any:
    actor = ctx.user("Key")
    challenge = ctx.action_challenge(actor)
    _advance(ctx, LIFETIME["action"] + (1 if past else -5))
    return ctx.action_complete(actor, challenge, actor.device.sign(challenge))


def exp_credential(ctx: Any, past: bool) -> Any:
    actor = ctx.user("Key")
    challenge = ctx.credential_challenge(actor, "Key")
    _advance(ctx, LIFETIME["credential"] + (1 if past else -5))
    return ctx.credential_complete(actor, challenge, ctx.device("Key").register(challenge))


def exp_registration(ctx: Any, past: bool) -> Any:
    challenge = ctx.registration_challenge()
    _advance(ctx, LIFETIME["registration"] + (1 if past else -5))
    return ctx.complete_registration(challenge, ctx.device("Key").register(challenge))


def exp_user_action(ctx: Any, past: bool) -> Any:
    """The token signs exactly the request sent later; only its age differs (the payload's
    expiration is chosen to be valid at the moment of use)."""
    actor = ctx.user("Key")
    wait = LIFETIME["ua"] + (1 if past else -5)
    body = {"expiration": soon(ctx, wait + 30)}
    token = actor.api.user_action("POST", "/auth/credentials/code", body)
    _advance(ctx, wait)
    return actor.api.request("POST", "/auth/credentials/code", body, user_action=token)


def exp_login_token(ctx: Any, past: bool) -> Any:
    actor = ctx.user("Key")
    _advance(ctx, LIFETIME["login_token"] + (1 if past else -5))
    return actor.api.request("GET", "/auth/credentials")


def exp_login_code(ctx: Any, past: bool) -> Any:
    actor = ctx.user("PasswordProtectedKey")
    code = ctx.login_code(actor)
    _advance(ctx, 600 + (1 if past else -5))
    return ctx.anon.request("POST", "/auth/login/init", {
        "username": actor.username, "orgId": ctx.org_id, "loginCode": code}, token="")


def exp_credential_code(ctx: Any, past: bool) -> Any:
    actor = ctx.user("Key")
    code = ok(actor.api.signed("POST", "/auth/credentials/code",
                               {"expiration": soon(ctx, 30)}))["code"]
    _advance(ctx, 31 if past else 20)
    return ctx.anon.request("POST", "/auth/credentials/code/init",
                            {"code": code, "credentialKind": "Key"}, token="")


EXPIRY = [
    ("login challenge", exp_login, 400, E.CHALLENGE_INVALID, "login", "Key", "challenge.expiry"),
    ("user-action challenge", exp_action, 400, E.CHALLENGE_INVALID, "user action", "Key",
     "challenge.expiry"),
    ("credential challenge", exp_credential, 400, E.CHALLENGE_INVALID, "credential", "Key",
     "challenge.expiry"),
    ("registration temp token", exp_registration, 401, E.NOT_AUTHORIZED, "registration", "Key",
     "challenge.expiry"),
    ("user-action token", exp_user_action, 403, E.USER_ACTION_INVALID, "user action", "Key",
     "ua.expiry"),
    ("login token", exp_login_token, 401, E.NOT_AUTHORIZED, "login", "Key", "token.expiry"),
    ("login code", exp_login_code, 403, E.INVALID_CODE, "login", "PasswordProtectedKey",
     "code.expiry"),
    ("credential code", exp_credential_code, 403, E.INVALID_CODE, "credential", "Key",
     "code.expiry"),
]
for what, exp_fn, status, message, cell, kind, guard in EXPIRY:
    add("EXP", "EXP", "F", f"an expired {what} is refused", "challenges.md §6",
        lambda ctx, f=exp_fn: f(ctx, True), status=status, message=message, needs=("sim",),
        guards=(guard,), cells=[(cell, kind)])
    if exp_fn is not exp_user_action:
        add("EXP", "EXP", "P", f"a {what} just before expiry still works", "challenges.md §6",
            lambda ctx, f=exp_fn: f(ctx, False), needs=("sim",), cells=[(cell, kind)])


# -- credential codes ---------------------------------------------------------------------
def code_wrong(ctx: Any) -> Any:
    # a live code exists (the user's), so only the value comparison stands between
    actor = ctx.user("Key")
    ok(actor.api.signed("POST", "/auth/credentials/code", {"expiration": soon(ctx)}))
    return ctx.anon.request("POST", "/auth/credentials/code/init",
                            {"code": "ZZZ-ZZZ-ZZZ", "credentialKind": "Key"}, token="")


def code_reused(ctx: Any) -> Any:
    actor = ctx.user("Key")
    code = ok(actor.api.signed("POST", "/auth/credentials/code", {"expiration": soon(ctx)}))["code"]
    ok(ctx.anon.request("POST", "/auth/credentials/code/init",
                        {"code": code, "credentialKind": "Key"}, token=""))
    return ctx.anon.request("POST", "/auth/credentials/code/init",
                            {"code": code, "credentialKind": "Key"}, token="")


def code_too_long(ctx: Any) -> Any:
    actor = ctx.user("Key")
    return actor.api.signed("POST", "/auth/credentials/code", {"expiration": soon(ctx, 600)})


def code_past(ctx: Any) -> Any:
    actor = ctx.user("Key")
    return actor.api.signed("POST", "/auth/credentials/code", {"expiration": soon(ctx, -60)})


def code_without_ua(ctx: Any) -> Any:
    actor = ctx.user("Key")
    return actor.api.request("POST", "/auth/credentials/code", {"expiration": soon(ctx)})


def code_verify_regular_challenge(ctx: Any) -> Any:
    actor = ctx.user("Key")
    challenge = ctx.credential_challenge(actor, "Key")
    body = {"challengeIdentifier": challenge["challengeIdentifier"], "credentialName": "x",
            **ctx.device("Key").register(challenge)}
    return ctx.anon.request("POST", "/auth/credentials/code/verify", body, token="")


for rule, status, message, fn, guards in [
    ("an unknown code is refused", 403, E.INVALID_CODE, code_wrong, ("code.known",)),
    ("a code is single use", 403, E.INVALID_CODE, code_reused, ("code.single_use",)),
    ("expiration more than 1 minute ahead is refused", 400, None, code_too_long,
     ("credential.code.max_lifetime",)),
    ("expiration in the past is refused", 400, None, code_past, ("credential.code.future",)),
    ("creating a code needs a user action", 403, E.USER_ACTION_INVALID, code_without_ua,
     ("ua.required",)),
    ("code/verify refuses a regular-flow challenge", 400, E.CHALLENGE_INVALID,
     code_verify_regular_challenge, ("challenge.kind",)),
]:
    add("CODE", "CODE", "F", rule, "flows.md §7; errors.md §3.3", fn, status=status,
        message=message, guards=guards, cells=[("credential", "Key")])

for kind in ("Fido2", "Key", "PasswordProtectedKey", "RecoveryKey"):
    add("CODE", "CODE", "P", f"a {kind} credential is created with a code", "flows.md §7",
        lambda ctx, k=kind: at_credential_code(ctx, ctx.device(k, ctx.name())),
        cells=[("credential", kind)])
    add("CRED", "CRED", "P", f"a {kind} credential is created (regular flow)", "flows.md §6",
        lambda ctx, k=kind: (lambda a: ctx.credential_complete(
            a, *(lambda ch: (ch, ctx.device(k, a.username).register(ch)))(
                ctx.credential_challenge(a, k))))(ctx.user("Key")),
        cells=[("credential", kind)])


# -- credential lifecycle -----------------------------------------------------------------
def cred_without_ua(ctx: Any) -> Any:
    actor = ctx.user("Key")
    challenge = ctx.credential_challenge(actor, "Key")
    body = {"challengeIdentifier": challenge["challengeIdentifier"], "credentialName": "x",
            **ctx.device("Key").register(challenge)}
    return actor.api.request("POST", "/auth/credentials", body)


def cred_other_users_challenge(ctx: Any) -> Any:
    alice, bob = ctx.user("Key"), ctx.user("Key")
    challenge = ctx.credential_challenge(alice, "Key")
    return ctx.credential_complete(bob, challenge, ctx.device("Key").register(challenge))


def cred_kind_mismatch(ctx: Any) -> Any:
    actor = ctx.user("Key")
    challenge = ctx.credential_challenge(actor, "Fido2")
    return ctx.credential_complete(actor, challenge, ctx.device("Key").register(challenge))


def cred_challenge_reused(ctx: Any) -> Any:
    actor = ctx.user("Key")
    challenge = ctx.credential_challenge(actor, "Key")
    ok(ctx.credential_complete(actor, challenge, ctx.device("Key").register(challenge)))
    return ctx.credential_complete(actor, challenge, ctx.device("Key").register(challenge))


def cred_duplicate_id(ctx: Any) -> Any:
    actor = ctx.user("Key")
    challenge = ctx.credential_challenge(actor, "Key")
    return ctx.credential_complete(actor, challenge, actor.device.register(challenge))


def cred_deactivated_login(ctx: Any) -> Any:
    actor = ctx.user("Key")
    second = ctx.device("Key")
    challenge = ctx.credential_challenge(actor, "Key")
    ok(ctx.credential_complete(actor, challenge, second.register(challenge)))
    uuid = actor.registration["credential"]["uuid"]
    ok(actor.api.signed("PUT", "/auth/credentials/deactivate", {"credentialUuid": uuid},
                        signer=second))
    challenge = ctx.login_challenge(actor)
    return ctx.login_complete(challenge, {"kind": "Key", "credentialAssertion":
                                          actor.device.assertion(challenge["challenge"])})


def cred_unknown_kind(ctx: Any) -> Any:
    actor = ctx.user("Key")
    return actor.api.request("POST", "/auth/credentials/init", {"kind": "Telepathy"})


def registration_twice(ctx: Any) -> Any:
    challenge = ctx.registration_challenge()
    ok(ctx.complete_registration(challenge, ctx.device("Key").register(challenge)))
    return ctx.complete_registration(challenge, ctx.device("Key").register(challenge))


def registration_wrong_recovery_kind(ctx: Any) -> Any:
    challenge = ctx.registration_challenge()
    return ctx.complete_registration(challenge, ctx.device("Key").register(challenge),
                                     ctx.device("Key").register(challenge))


for rule, status, message, fn, cell, guards in [
    ("credential creation needs a user action", 403, E.USER_ACTION_INVALID, cred_without_ua,
     "credential", ("ua.required",)),
    ("a credential challenge of another user is refused", 400, E.CHALLENGE_INVALID,
     cred_other_users_challenge, "credential", ("challenge.identity",)),
    ("credentialKind must match the challenge's kind", 400, None, cred_kind_mismatch, "credential",
     ("credential.kind",)),
    ("a credential challenge is single use", 400, E.CHALLENGE_INVALID, cred_challenge_reused,
     "credential", ("challenge.single_use",)),
    ("a duplicate credId is refused", 400, None, cred_duplicate_id, "credential",
     ("credential.unique_id",)),
    ("a deactivated credential cannot log in", 401, E.INVALID_CREDENTIAL, cred_deactivated_login,
     "login", ("credential.allowed",)),
    ("an unknown credential kind is refused", 400, None, cred_unknown_kind, "credential",
     ("schema.enum",)),
    # two rules stand behind it: the spent session, then "User already exists."
    ("a registration temp token is single use", 401, None, registration_twice, "registration",
     ("challenge.single_use", "registration.once")),
    ("recoveryCredential must be a RecoveryKey", 400, None, registration_wrong_recovery_kind,
     "registration", ("registration.recovery_kind",)),
]:
    add("CRED", "CRED", "F", rule, "flows.md §1-§6; errors.md §3.3", fn, status=status,
        message=message, guards=guards, cells=[(cell, "Key")])


# -- appended checks (ids above never move): service rules without a guarding check --------
add("EXP", "EXP", "P", "a user-action token just before expiry still works", "challenges.md §7",
    lambda ctx: exp_user_action(ctx, False), needs=("sim",), cells=[("user action", "Key")])


def code_of_other_user(ctx: Any) -> Any:
    alice, bob = ctx.user("Key"), ctx.user("Key")
    code = ctx.login_code(alice)
    return ctx.anon.request("POST", "/auth/login/init", {
        "username": bob.username, "orgId": ctx.org_id, "loginCode": code}, token="")


add("CODE", "CODE", "F", "a login code works only for the user it was sent to",
    "flows.md §3; errors.md §3.3", code_of_other_user, status=403, message=E.INVALID_CODE,
    guards=("code.binding",), needs=("sim",), cells=[("login", "Key")])


def _direct_user(ctx: Any) -> str:
    """A CustomerEmployee created by the SA: Direct registration, the code goes by e-mail."""
    username = ctx.name("direct")
    ok(ctx.sa.signed("POST", "/auth/users", {"email": username, "kind": "CustomerEmployee"}))
    return username


def direct_registration_wrong_code(ctx: Any) -> Any:
    return ctx.anon.request("POST", "/auth/registration/init", {
        "username": _direct_user(ctx), "registrationCode": "0000-0000", "orgId": ctx.org_id},
        token="")


def direct_registration(ctx: Any) -> Any:
    username = _direct_user(ctx)
    challenge = ok(ctx.anon.request("POST", "/auth/registration/init", {
        "username": username, "registrationCode": ctx.sim.last_code(username),
        "orgId": ctx.org_id}, token=""))
    return ctx.complete_registration(challenge, ctx.device("Key").register(challenge))


def delegated_registration_of_registered(ctx: Any) -> Any:
    actor = ctx.user("Key")
    return ctx.sa.signed("POST", "/auth/registration/delegated",
                         {"email": actor.username, "kind": "EndUser"})


def deactivated_user_login(ctx: Any) -> Any:
    actor = ctx.user("Key")
    ok(ctx.sa.signed("PUT", f"/auth/users/{actor.user_id}/deactivate", None))
    return ctx.anon.request("POST", "/auth/login/init",
                            {"username": actor.username, "orgId": ctx.org_id}, token="")


add("CRED", "CRED", "F", "direct registration needs the e-mailed registration code",
    "flows.md §1; errors.md §3.3", direct_registration_wrong_code, status=403,
    message=E.INVALID_CODE, guards=("registration.code",), cells=[("registration", "Key")])
add("CRED", "CRED", "F", "a registered user cannot be registered again", "flows.md §2",
    delegated_registration_of_registered, status=401, message=E.USER_EXISTS,
    guards=("registration.once",), cells=[("registration", "Key")])
add("CRED", "CRED", "F", "a deactivated user cannot start a login", "flows.md §3; errors.md §3.1",
    deactivated_user_login, status=400, message=E.USER_DEACTIVATED, guards=("user.active",),
    cells=[("login", "Key")])
add("CRED", "CRED", "P", "direct registration with the e-mailed code succeeds", "flows.md §1",
    direct_registration, needs=("sim",), cells=[("registration", "Key")])
