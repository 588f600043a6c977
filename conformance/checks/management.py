"""Dfns management groups: service accounts and PATs (flows.md §10-§11), permissions
(endpoints.md §12), recovery (flows.md §9)."""

from __future__ import annotations

from typing import Any

from conformance.registry import add
from conformance.target import admin_user
from scenarios.client import DfnsApi, ok
from simulator import errors as E
from virtual_authenticators import KeyAuthenticator

PAT = (("POST", "/auth/pats"),)
SAR = (("POST", "/auth/service-accounts"),)
REC = (("POST", "/auth/recover/user"),)


def _pat(ctx: Any, actor: Any, name: str = "pat", **extra: Any) -> tuple[Any, KeyAuthenticator]:
    key = KeyAuthenticator()
    body = {"name": name, "publicKey": key.public_key_pem, "daysValid": 30, **extra}
    return actor.api.signed("POST", "/auth/pats", body), key


def _pat_api(ctx: Any, info: dict[str, Any], key: KeyAuthenticator) -> DfnsApi:
    signer = KeyAuthenticator(private_key=key.private_key, cred_id=info["credId"])
    return DfnsApi(ctx.http, info["accessToken"], signer)


def pat_create_and_use(ctx: Any) -> Any:
    admin = admin_user(ctx)
    info = ok(_pat(ctx, admin)[0])
    assert info["kind"] == "Pat" and info["accessToken"]
    return _pat_api(ctx, info, KeyAuthenticator()).request("GET", "/auth/credentials")


def pat_write_signed_by_pat_key(ctx: Any) -> Any:
    admin = admin_user(ctx)
    response, key = _pat(ctx, admin)
    api = _pat_api(ctx, ok(response), key)
    return api.signed("POST", "/auth/credentials/init", None) if False else api.signed(
        "POST", "/auth/users", {"email": ctx.name("pat-made"), "kind": "EndUser"})


def pat_deactivated(ctx: Any) -> Any:
    admin = admin_user(ctx)
    response, key = _pat(ctx, admin)
    info = ok(response)
    ok(admin.api.signed("PUT", f"/auth/pats/{info['tokenId']}/deactivate", None))
    return _pat_api(ctx, info, key).request("GET", "/auth/credentials")


def pat_reactivated(ctx: Any) -> Any:
    admin = admin_user(ctx)
    response, key = _pat(ctx, admin)
    info = ok(response)
    ok(admin.api.signed("PUT", f"/auth/pats/{info['tokenId']}/deactivate", None))
    ok(admin.api.signed("PUT", f"/auth/pats/{info['tokenId']}/activate", None))
    return _pat_api(ctx, info, key).request("GET", "/auth/credentials")


def pat_deleted(ctx: Any) -> Any:
    admin = admin_user(ctx)
    response, key = _pat(ctx, admin)
    info = ok(response)
    ok(admin.api.signed("DELETE", f"/auth/pats/{info['tokenId']}", None))
    return _pat_api(ctx, info, key).request("GET", "/auth/credentials")


def pat_duplicate_name(ctx: Any) -> Any:
    admin = admin_user(ctx)
    ok(_pat(ctx, admin, "same")[0])
    return _pat(ctx, admin, "same")[0]


def pat_days_too_many(ctx: Any) -> Any:
    return _pat(ctx, admin_user(ctx), daysValid=731)[0]


def pat_days_zero(ctx: Any) -> Any:
    return _pat(ctx, admin_user(ctx), daysValid=0)[0]


def pat_bad_pem(ctx: Any) -> Any:
    admin = admin_user(ctx)
    return admin.api.signed("POST", "/auth/pats", {"name": "x", "publicKey": "not a pem"})


def pat_user_deactivated(ctx: Any) -> Any:
    admin = admin_user(ctx)
    other = admin_user(ctx)
    response, key = _pat(ctx, other)
    info = ok(response)
    ok(admin.api.signed("PUT", f"/auth/users/{other.user_id}/deactivate", None))
    return _pat_api(ctx, info, key).request("GET", "/auth/credentials")


def pat_by_pat(ctx: Any) -> Any:
    admin = admin_user(ctx)
    response, key = _pat(ctx, admin)
    api = _pat_api(ctx, ok(response), key)
    return api.signed("POST", "/auth/pats", {"name": "nested",
                                              "publicKey": KeyAuthenticator().public_key_pem})


def _sa(ctx: Any, admin: Any, name: str = "") -> tuple[Any, KeyAuthenticator]:
    # SA names are unique per org: against a shared server every check needs its own
    name = name or ctx.name("svc")
    key = KeyAuthenticator()
    body = {"name": name, "publicKey": key.public_key_pem, "daysValid": 30}
    return admin.api.signed("POST", "/auth/service-accounts", body), key


def _sa_api(ctx: Any, info: dict[str, Any], key: KeyAuthenticator) -> DfnsApi:
    token = info["accessTokens"][0]
    signer = KeyAuthenticator(private_key=key.private_key, cred_id=token["credId"])
    return DfnsApi(ctx.http, token["accessToken"], signer)


def sa_create_and_use(ctx: Any) -> Any:
    admin = admin_user(ctx)
    response, key = _sa(ctx, admin)
    api = _sa_api(ctx, ok(response), key)
    return api.signed("POST", "/auth/registration/delegated",
                      {"email": ctx.name("by-sa"), "kind": "EndUser"})


def sa_deactivated(ctx: Any) -> Any:
    admin = admin_user(ctx)
    response, key = _sa(ctx, admin)
    info = ok(response)
    ok(admin.api.signed("PUT", f"/auth/service-accounts/{info['userInfo']['userId']}/deactivate",
                        None))
    return _sa_api(ctx, info, key).request("GET", "/auth/users")


def sa_reactivated(ctx: Any) -> Any:
    admin = admin_user(ctx)
    response, key = _sa(ctx, admin)
    info = ok(response)
    sa_id = info["userInfo"]["userId"]
    ok(admin.api.signed("PUT", f"/auth/service-accounts/{sa_id}/deactivate", None))
    ok(admin.api.signed("PUT", f"/auth/service-accounts/{sa_id}/activate", None))
    return _sa_api(ctx, info, key).request("GET", "/auth/users")


def sa_deleted(ctx: Any) -> Any:
    admin = admin_user(ctx)
    response, key = _sa(ctx, admin)
    info = ok(response)
    ok(admin.api.signed("DELETE", f"/auth/service-accounts/{info['userInfo']['userId']}", None))
    return _sa_api(ctx, info, key).request("GET", "/auth/users")


def sa_duplicate_name(ctx: Any) -> Any:
    admin = admin_user(ctx)
    twin = ctx.name("twin")
    ok(_sa(ctx, admin, twin)[0])
    return _sa(ctx, admin, twin)[0]


def sa_unknown(ctx: Any) -> Any:
    # a user id that exists but names no service account: the lookup must stay scoped
    user_id = admin_user(ctx).user_id
    return ctx.sa.request("GET", f"/auth/service-accounts/{user_id}")


def non_sa_delegated_registration(ctx: Any) -> Any:
    actor = ctx.user("Key")
    return actor.api.signed("POST", "/auth/registration/delegated",
                            {"email": ctx.name(), "kind": "EndUser"})


def non_sa_delegated_login(ctx: Any) -> Any:
    actor = ctx.user("Key")
    return actor.api.signed("POST", "/auth/login/delegated", {"username": actor.username})


def enduser_lists_users(ctx: Any) -> Any:
    return ctx.user("Key").api.request("GET", "/auth/users")


def enduser_creates_sa(ctx: Any) -> Any:
    actor = ctx.user("Key")
    return actor.api.signed("POST", "/auth/service-accounts",
                            {"name": "x", "publicKey": KeyAuthenticator().public_key_pem})


def employee_without_permission(ctx: Any) -> Any:
    username = ctx.name("emp")
    device = ctx.device("Key")
    challenge = ctx.registration_challenge(username, kind="CustomerEmployee")
    ok(ctx.complete_registration(challenge, device.register(challenge)))
    from scenarios.client import delegated_login
    api = DfnsApi(ctx.http, delegated_login(ctx.sa, username), device)
    return api.request("GET", "/auth/users")


def admin_lists_users(ctx: Any) -> Any:
    return admin_user(ctx).api.request("GET", "/auth/users")


for rule, fn in [("a PAT is created and authenticates reads", pat_create_and_use),
                 ("a PAT's writes are signed with the PAT key", pat_write_signed_by_pat_key),
                 ("a re-activated PAT works again", pat_reactivated)]:
    add("SA", "PAT", "P", rule, "flows.md §10", fn, routes=PAT, cells=[("user action", "Key")])
guards: tuple[str, ...]  # loop variable of the tables below (one guarded rule or several)
for rule, status, message, fn, guards in [
    ("a deactivated PAT is 401", 401, E.NOT_AUTHORIZED, pat_deactivated, ("token.active",)),
    ("a deleted PAT is 401", 401, E.NOT_AUTHORIZED, pat_deleted, ("token.active",)),
    ("PAT names are unique per user", 409, None, pat_duplicate_name, ("name.unique",)),
    ("daysValid above 730 is refused", 400, None, pat_days_too_many, ("schema.range",)),
    ("daysValid 0 is refused", 400, None, pat_days_zero, ("schema.range",)),
    ("publicKey must be a PEM public key", 400, E.INVALID_PUBLIC_KEY, pat_bad_pem,
     ("key.public_key.pem",)),
    ("a deactivated user's PATs stop working", 401, E.NOT_AUTHORIZED, pat_user_deactivated,
     ("user.active",)),
    ("a PAT cannot create PATs", 403, None, pat_by_pat, ("token.human",)),
]:
    add("SA", "PAT", "F", rule, "flows.md §10; errors.md §3.4", fn, status=status,
        message=message, guards=guards, routes=PAT)

for rule, fn in [("a service account is created and signs its own user actions", sa_create_and_use),
                 ("a re-activated service account works again", sa_reactivated)]:
    add("SA", "SA", "P", rule, "flows.md §11", fn, routes=SAR, cells=[("user action", "Key")])
for rule, status, message, fn, guards in [
    ("a deactivated service account's token is 401", 401, E.NOT_AUTHORIZED, sa_deactivated,
     ("user.active",)),
    ("a deleted service account's token is 401", 401, E.NOT_AUTHORIZED, sa_deleted,
     ("token.active", "user.active")),
    ("service-account names are unique in the org", 409, None, sa_duplicate_name,
     ("name.unique",)),
    ("an id naming no service account of the org (a plain user's) is 404", 404, None, sa_unknown,
     ("entity.org_scope",)),
    # an end user also lacks the operations: both rules stand behind these two
    ("delegated registration needs a service account", 403, "not authorized to perform operation",
     non_sa_delegated_registration, ("sa_only", "permissions.user")),
    ("delegated login needs a service account", 403, "not authorized to perform operation",
     non_sa_delegated_login, ("sa_only", "permissions.user")),
]:
    add("SA", "SA", "F", rule, "flows.md §11; errors.md §3.1", fn, status=status,
        message=message, guards=guards, routes=SAR)

for rule, status, message, fn in [
    ("an end user cannot list users", 403, "not authorized to perform operation",
     enduser_lists_users),
    ("an end user cannot create service accounts", 403, "not authorized to perform operation",
     enduser_creates_sa),
    ("an employee without permissions cannot list users", 403,
     "not authorized to perform operation", employee_without_permission),
]:
    add("PERM", "PERM", "F", rule, "errors.md §3.1; endpoints.md §12", fn, status=status,
        message=message, guards=("permissions.user",))
add("PERM", "PERM", "P", "an employee with DfnsFullAdminAccess lists users", "endpoints.md §12",
    admin_lists_users)


# -- recovery -----------------------------------------------------------------------------------
def _recover(ctx: Any, *, delegated: bool, tamper: str = "", new_kind: str = "Key") -> Any:
    actor = ctx.user("Key", with_recovery=True)
    rk = actor.recovery
    cred_id = rk.credential_id if tamper != "wrong-credential" else actor.device.credential_id
    if delegated:
        challenge = ok(ctx.sa.signed("POST", "/auth/recover/user/delegated",
                                     {"username": actor.username, "credentialId": cred_id}))
    else:
        ok(ctx.anon.request("POST", "/auth/recover/user/code",
                            {"username": actor.username, "orgId": ctx.org_id}, token=""))
        code = ctx.sim.last_code(actor.username) if tamper != "wrong-code" else "0000-0000"
        response = ctx.anon.request("POST", "/auth/recover/user/init", {
            "username": actor.username, "verificationCode": code, "orgId": ctx.org_id,
            "credentialId": cred_id}, token="")
        if response.status_code >= 400 or tamper == "wrong-credential":
            return response
        challenge = response.json()
    new_first = ctx.device(new_kind, actor.username)
    new_rk = ctx.device("RecoveryKey", actor.username)
    new_credentials = {"firstFactorCredential": new_first.register(challenge),
                       "recoveryCredential": new_rk.register(challenge)}
    signed = dict(new_credentials)
    if tamper == "challenge":
        signed = {"firstFactorCredential": new_first.register(challenge)}
    assertion = rk.recovery_assertion(signed, rk.encrypted_key_from_challenge(challenge))
    if tamper == "signature":
        sig = assertion["credentialAssertion"]["signature"]
        flipped = "A" if sig[10] != "A" else "B"
        assertion["credentialAssertion"]["signature"] = sig[:10] + flipped + sig[11:]
    response = ctx.anon.request("POST", "/auth/recover/user", {
        "recovery": assertion, "newCredentials": new_credentials},
        token=challenge["temporaryAuthenticationToken"])
    if tamper == "old-login" and response.status_code < 400:
        login = ctx.login_challenge(actor) if False else ok(ctx.anon.request(
            "POST", "/auth/login/init", {"username": actor.username, "orgId": ctx.org_id},
            token=""))
        return ctx.login_complete(login, {"kind": "Key", "credentialAssertion":
                                          actor.device.assertion(login["challenge"])})
    return response


for delegated, label in ((False, "direct"), (True, "delegated")):
    needs = () if delegated else ("sim",)
    add("REC", "REC", "P", f"{label} recovery with the RecoveryKey succeeds", "flows.md §9",
        lambda ctx, d=delegated: _recover(ctx, delegated=d), needs=needs, routes=REC,
        cells=[("recovery", "RecoveryKey"), ("recovery", "Key"), ("registration", "RecoveryKey")])
    add("REC", "REC", "F", f"{label} recovery: the assertion challenge must equal newCredentials",
        "flows.md §9.1 step 3",
        lambda ctx, d=delegated: _recover(ctx, delegated=d, tamper="challenge"),
        status=401, message=E.CHALLENGE_MISMATCH, guards=("recovery.challenge",), needs=needs,
        routes=REC, cells=[("recovery", "RecoveryKey")])
    add("REC", "REC", "F", f"{label} recovery: the recovery signature must verify", "flows.md §9",
        lambda ctx, d=delegated: _recover(ctx, delegated=d, tamper="signature"), status=401,
        message=E.INVALID_SIGNATURE, guards=("key.assertion.signature",), needs=needs, routes=REC,
        cells=[("recovery", "RecoveryKey")])
    add("REC", "REC", "F", f"{label} recovery: old credentials stop working",
        "flows.md §9.1 effects",
        lambda ctx, d=delegated: _recover(ctx, delegated=d, tamper="old-login"), status=401,
        guards=("recovery.revoke",), needs=needs, routes=REC, cells=[("login", "Key")])
add("REC", "REC", "F", "recovery init: a wrong verification code is refused", "flows.md §9.1",
    lambda ctx: _recover(ctx, delegated=False, tamper="wrong-code"), status=403,
    message=E.INVALID_CODE, guards=("recovery.code",), needs=("sim",), routes=REC)
add("REC", "REC", "F", "recovery init: credentialId must be a RecoveryKey", "flows.md §9.1",
    lambda ctx: _recover(ctx, delegated=False, tamper="wrong-credential"), status=401,
    message=E.NOT_RECOVERY_CREDENTIAL, guards=("recovery.credential",), needs=("sim",), routes=REC)
add("REC", "REC", "P", "delegated recovery onto a new passkey succeeds", "flows.md §9.2",
    lambda ctx: _recover(ctx, delegated=True, new_kind="Fido2"), routes=REC,
    cells=[("recovery", "RecoveryKey"), ("recovery", "Fido2")])
add("REC", "REC", "P", "delegated recovery onto a new PasswordProtectedKey succeeds",
    "flows.md §9.2",
    lambda ctx: _recover(ctx, delegated=True, new_kind="PasswordProtectedKey"), routes=REC,
    cells=[("recovery", "RecoveryKey"), ("recovery", "PasswordProtectedKey")])


# -- appended checks (ids above never move) ---------------------------------------------------
def admin_delegated_login(ctx: Any) -> Any:
    """A full admin holds every operation, so only the service-account rule can refuse it."""
    admin = admin_user(ctx)
    victim = ctx.user("Key")
    return admin.api.signed("POST", "/auth/login/delegated", {"username": victim.username})


add("SA", "SA", "F", "a full-admin user that is not a service account cannot log in others",
    "flows.md §11; errors.md §3.1", admin_delegated_login, status=403,
    message="not authorized to perform operation", guards=("sa_only",), routes=SAR)


def _permission(ctx: Any, operations: list[str]) -> str:
    return ok(ctx.sa.signed("POST", "/permissions",
                            {"name": ctx.name("perm"), "operations": operations}))["id"]


def _employee(ctx: Any, operations: list[str] | None = None) -> Any:
    """A CustomerEmployee holding exactly ``operations`` (none when None)."""
    from conformance.target import Actor
    from scenarios.client import delegated_login

    username = ctx.name("emp")
    device = ctx.device("Key")
    challenge = ctx.registration_challenge(username, kind="CustomerEmployee")
    user_id = ok(ctx.complete_registration(challenge, device.register(challenge)))["user"]["id"]
    if operations:
        ok(ctx.sa.signed("POST", "/permissions/assignments",
                         {"permissionId": _permission(ctx, operations), "identityId": user_id}))
    token = delegated_login(ctx.sa, username)
    return Actor(username, device, token, DfnsApi(ctx.http, token, device), user_id)


def employee_missing(method: str, path: str) -> Any:
    return lambda ctx: _employee(ctx).api.request(method, path)


def _limited_pat(ctx: Any, operations: list[str]) -> DfnsApi:
    admin = admin_user(ctx)
    response, key = _pat(ctx, admin, permissionId=_permission(ctx, operations))
    return _pat_api(ctx, ok(response), key)


def pat_beyond_its_permission(ctx: Any) -> Any:
    return _limited_pat(ctx, ["Auth:Users:Read"]).request("GET", "/auth/apps")


def pat_within_its_permission(ctx: Any) -> Any:
    return _limited_pat(ctx, ["Auth:Users:Read"]).request("GET", "/auth/users")


def pat_permission_beyond_user(ctx: Any) -> Any:
    own = ["Auth:Users:Create", "Auth:Types:Pat"]
    employee = _employee(ctx, own)
    return _pat(ctx, employee, permissionId=_permission(ctx, own + ["Auth:Apps:Read"]))[0]


def _limited_app(ctx: Any, operations: list[str]) -> tuple[Any, str]:
    from conformance.checks.applications import create_app

    admin = admin_user(ctx)
    app = ok(create_app(ctx, admin, permission_id=_permission(ctx, operations)))
    return admin, app["appId"]


def app_narrows_user(ctx: Any, path: str) -> Any:
    admin, app_id = _limited_app(ctx, ["Auth:Users:Read"])
    return admin.api.request("GET", path, headers={"X-DFNS-APPID": app_id})


DENIED = "not authorized to perform operation"
for rule, fn, guards in [
    ("an employee without permissions cannot list applications",
     employee_missing("GET", "/auth/apps"), ("permissions.user",)),
    ("an employee without permissions cannot list permissions",
     employee_missing("GET", "/permissions"), ("permissions.user",)),
    ("an employee without permissions cannot list service accounts",
     employee_missing("GET", "/auth/service-accounts"), ("permissions.user",)),
    ("an employee without permissions cannot list wallets",
     employee_missing("GET", "/wallets"), ("permissions.user",)),
    ("a PAT with its own permission is limited to it (below its user's)",
     pat_beyond_its_permission, ("permissions.token",)),
    ("a PAT cannot be given a permission its user does not hold", pat_permission_beyond_user,
     ("permissions.within",)),
    ("the application's permission limits a full-admin user (app ∩ user)",
     lambda ctx: app_narrows_user(ctx, "/auth/apps"), ("permissions.app",)),
]:
    add("PERM", "PERM", "F", rule, "endpoints.md §9, §12; errors.md §3.1", fn, status=403,
        message=DENIED, guards=guards)
add("PERM", "PERM", "P", "a PAT with its own permission may do what that permission allows",
    "endpoints.md §12", pat_within_its_permission, routes=PAT)
add("PERM", "PERM", "P", "an operation both the application and the user allow succeeds",
    "endpoints.md §9", lambda ctx: app_narrows_user(ctx, "/auth/users"))
