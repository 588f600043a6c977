"""Personal access tokens (endpoints.md §6, errors.md §3.4), through both doors."""

from __future__ import annotations

import base64

from scenarios.client import DfnsApi, ok
from simulator import Simulator, errors
from tests.identities.helpers import create_pat, error, human, new_permission, not_permitted
from virtual_authenticators import KeyAuthenticator

PAT_OPS = ("Auth:Users:Read", "Auth:Users:Create", "Auth:Users:Update", "Auth:Types:Pat",
           "Auth:Types:Employee", "Auth:Action:Sign")


def test_create_returns_token_once_and_pat_signs_with_its_own_key(sim: Simulator,
                                                                  sa: DfnsApi) -> None:
    alice = human(sim, sa, "alice@example.com")
    created, pat = create_pat(alice.api, "ci", externalId="ext-1")
    assert created["kind"] == "Pat" and created["accessToken"].startswith("eyJ")
    assert created["linkedUserId"] == alice.user_id and created["linkedAppId"] == ""
    assert created["publicKey"].startswith("SHA256:") and created["isActive"] is True
    assert base64.urlsafe_b64decode(created["credId"] + "==").startswith(b"ci-")
    assert created["externalId"] == "ext-1" and created["orgId"] == sim.org_id
    # without its own permission it carries the user's, shown as inherited
    assert created["permissionAssignments"] and all(a["assignmentId"] == ""
                                                    for a in created["permissionAssignments"])
    listed = ok(alice.api.request("GET", "/auth/pats"))["items"]
    assert [t["tokenId"] for t in listed] == [created["tokenId"]]
    assert "accessToken" not in listed[0]
    assert "accessToken" not in ok(alice.api.request("GET", f"/auth/pats/{created['tokenId']}"))
    # the PAT is a bearer of its own and signs user actions only with its own key
    challenge = pat.action_challenge("PUT", f"/auth/pats/{created['tokenId']}", {"name": "renamed"})
    assert [c["id"] for c in challenge["allowCredentials"]["key"]] == [created["credId"]]
    assert challenge["allowCredentials"]["webauthn"] == []
    renamed = ok(pat.signed("PUT", f"/auth/pats/{created['tokenId']}", {"name": "renamed"}))
    assert renamed["name"] == "renamed"
    # the user's own device cannot answer the PAT's challenge
    forged = alice.device.assertion(challenge["challenge"])
    response = pat.request("POST", "/auth/action",
                           {"challengeIdentifier": challenge["challengeIdentifier"],
                            "firstFactor": {"kind": "Key",
                                            "credentialAssertion": forged}})
    assert response.status_code == 401


def test_pat_restricted_below_its_user_and_killed_by_user_deactivation(sim: Simulator,
                                                                       sa: DfnsApi) -> None:
    """The FAQ-adjacent scenario: permissions intersect, the user's deactivation ends the PAT."""
    bob = human(sim, sa, "bob@example.com", operations=PAT_OPS)
    read_only = new_permission(sim, ["Auth:Users:Read", "Auth:Action:Sign"])
    created, pat = create_pat(bob.api, "read-only", permissionId=read_only)
    assert [a["permissionId"] for a in created["permissionAssignments"]] == [read_only]
    assert ok(pat.request("GET", "/auth/users"))["items"]
    # the user may create users, the PAT may not
    body = {"email": "new@example.com", "kind": "CustomerEmployee"}
    assert error(pat.signed("POST", "/auth/users", body)) == (
        403, not_permitted("CustomerEmployee", bob.user_id, "Auth:Users:Create"))
    ok(bob.api.signed("POST", "/auth/users", body))
    # the admin deactivates the user: PAT and login session die at once
    ok(sa.signed("PUT", f"/auth/users/{bob.user_id}/deactivate"))
    assert error(pat.request("GET", "/auth/users")) == (401, errors.NOT_AUTHORIZED)
    assert error(bob.api.request("GET", "/auth/pats")) == (401, errors.NOT_AUTHORIZED)
    # reactivation resumes the PAT (suspended), but the login session stays revoked
    ok(sa.signed("PUT", f"/auth/users/{bob.user_id}/activate"))
    assert ok(pat.request("GET", "/auth/users"))["items"]
    assert error(bob.api.request("GET", "/auth/pats")) == (401, errors.NOT_AUTHORIZED)
    # archiving the user ends the PAT for good
    ok(sa.signed("DELETE", f"/auth/users/{bob.user_id}"))
    assert error(pat.request("GET", "/auth/users")) == (401, errors.NOT_AUTHORIZED)
    assert error(sa.request("GET", f"/auth/users/{bob.user_id}")) == (404, "user not found")
    assert error(sa.signed("PUT", f"/auth/users/{bob.user_id}/activate")) == (404, "user not found")


def test_pat_cannot_exceed_its_user(sim: Simulator, sa: DfnsApi) -> None:
    carol = human(sim, sa, "carol@example.com", operations=PAT_OPS)
    wallets = new_permission(sim, ["Auth:Users:Read", "Wallets:Create"])
    device = KeyAuthenticator()
    body = {"name": "too-much", "publicKey": device.public_key_pem, "permissionId": wallets}
    assert error(carol.api.signed("POST", "/auth/pats", body)) == (
        403, not_permitted("CustomerEmployee", carol.user_id, "Wallets:Create"))
    full = next(p.id for p in sim.core.store.scan("permissions") if p.name == "DfnsFullAdminAccess")
    assert error(carol.api.signed("POST", "/auth/pats", {**body, "permissionId": full})) == (
        403, not_permitted("CustomerEmployee", carol.user_id, "*"))
    assert error(carol.api.signed("POST", "/auth/pats", {**body, "permissionId": "pm-nope"})) == (
        404, "permission not found")
    assert ok(carol.api.request("GET", "/auth/pats"))["items"] == []
    # the user loses an operation later: the PAT (use-time intersection) loses it too
    created, pat = create_pat(carol.api, "reader",
                              permissionId=new_permission(sim, ["Auth:Users:Read"]))
    assert pat.request("GET", "/auth/users").status_code == 200
    for assignment in list(sim.core.store.find("assignments", "identity", carol.user_id)):
        sim.core.replace("assignments", assignment.id, assignment, is_archived=True)
    assert error(pat.request("GET", "/auth/users")) == (
        403, not_permitted("CustomerEmployee", carol.user_id, "Auth:Users:Read"))


def test_pat_validation_rules(sim: Simulator, sa: DfnsApi) -> None:
    dave = human(sim, sa, "dave@example.com")
    create_pat(dave.api, "dup")
    pem = KeyAuthenticator().public_key_pem
    cases = [
        ({"name": "dup", "publicKey": pem}, 409,
         "a personal access token with this name already exists"),
        ({"name": "x", "publicKey": pem, "daysValid": 731}, 400,
         "invalid daysValid: must be at most 730"),
        ({"name": "x", "publicKey": pem, "daysValid": 0}, 400,
         "invalid daysValid: must be at least 1"),
        ({"name": "x", "publicKey": pem, "secondsValid": 0}, 400,
         "invalid secondsValid: must be at least 1"),
        ({"name": "x", "publicKey": pem, "colour": "red"}, 400, "unknown field colour"),
        ({"name": "x", "publicKey": "not a key"}, 400, errors.INVALID_PUBLIC_KEY),
        ({"publicKey": pem}, 400, "name is required"),
    ]
    for body, status, message in cases:
        assert error(dave.api.signed("POST", "/auth/pats", body)) == (status, message), body


def test_seconds_valid_wins_and_expiry_follows_the_clock(sim: Simulator, sa: DfnsApi) -> None:
    erin = human(sim, sa, "erin@example.com")
    _, pat = create_pat(erin.api, "short", secondsValid=120, daysValid=30)
    assert pat.request("GET", "/auth/users").status_code == 200
    sim.clock.advance(119)
    assert pat.request("GET", "/auth/users").status_code == 200
    sim.clock.advance(2)
    assert error(pat.request("GET", "/auth/users")) == (401, errors.NOT_AUTHORIZED)


def test_only_human_users_create_pats(sim: Simulator, sa: DfnsApi, bootstrap: dict) -> None:
    pem = KeyAuthenticator().public_key_pem
    sa_id = bootstrap["serviceAccount"]["userId"]
    assert error(sa.signed("POST", "/auth/pats", {"name": "x", "publicKey": pem})) == (
        403, not_permitted("CustomerEmployee", sa_id, "Auth:Pats:Create"))
    frank = human(sim, sa, "frank@example.com")
    _, pat = create_pat(frank.api, "first")
    assert error(pat.signed("POST", "/auth/pats", {"name": "second", "publicKey": pem})) == (
        403, not_permitted("CustomerEmployee", frank.user_id, "Auth:Pats:Create"))


def test_pat_lifecycle(sim: Simulator, sa: DfnsApi) -> None:
    gina = human(sim, sa, "gina@example.com")
    created, pat = create_pat(gina.api, "life")
    path = f"/auth/pats/{created['tokenId']}"
    assert ok(gina.api.signed("PUT", f"{path}/deactivate"))["isActive"] is False
    assert error(pat.request("GET", "/auth/users")) == (401, errors.NOT_AUTHORIZED)
    assert ok(gina.api.signed("PUT", f"{path}/activate"))["isActive"] is True
    assert pat.request("GET", "/auth/users").status_code == 200
    archived = ok(gina.api.signed("DELETE", path))
    assert archived["isActive"] is False and "accessToken" not in archived
    assert error(pat.request("GET", "/auth/users")) == (401, errors.NOT_AUTHORIZED)
    assert error(gina.api.request("GET", path)) == (404, "token not found")
    assert error(gina.api.signed("PUT", f"{path}/activate")) == (404, "token not found")
    # another user's PAT is invisible
    other, _ = create_pat(human(sim, sa, "hank@example.com").api, "theirs")
    assert error(gina.api.request("GET", f"/auth/pats/{other['tokenId']}")) == (
        404, "token not found")
    # a name is reusable once its PAT is archived
    create_pat(gina.api, "life")


def test_pat_stays_limited_when_its_permission_is_archived(sim: Simulator, sa: DfnsApi) -> None:
    """Archiving a PAT's own permission must not widen it to its user's permissions."""
    carol = human(sim, sa, "carol@example.com", operations=PAT_OPS)
    read_only = new_permission(sim, ["Auth:Users:Read", "Auth:Action:Sign"])
    _, pat = create_pat(carol.api, "narrow", permissionId=read_only)
    assert ok(pat.request("GET", "/auth/users"))["items"]
    ok(sa.signed("PUT", f"/permissions/{read_only}/archive", {"isArchived": True}))
    assert error(pat.request("GET", "/auth/users")) == (
        403, not_permitted("CustomerEmployee", carol.user_id, "Auth:Users:Read"))
