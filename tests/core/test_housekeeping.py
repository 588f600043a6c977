"""Expired challenges and user-action records are dropped after the retention, and no answer
changes: every test asks the same question before and after the sweep."""

from __future__ import annotations

import time
from typing import Any

import pytest

from scenarios.client import delegated_login, register_delegated, service_account_api
from simulator import Simulator
from simulator.cli import build_parser, retention_settings
from simulator.verification.policy import VerificationPolicy
from virtual_authenticators import KeyAuthenticator

PATH = "/auth/credentials/code"
RETENTION = 900.0


class World:
    """A simulator with a user, and a wall clock the housekeeper reads that tests move."""

    def __init__(self, **settings: Any) -> None:
        self.sim = Simulator(**settings)
        self.wall = time.time()
        self.sim.core.housekeeper.wall = lambda: self.wall
        boot = self.sim.bootstrap()
        self.client = self.sim.client()
        sa = service_account_api(self.client, boot)
        self.device = KeyAuthenticator(origin=boot["origin"])
        register_delegated(sa, "keeper@example.com", self.device)
        self.user = sa.as_(delegated_login(sa, "keeper@example.com"), self.device)

    def body(self) -> dict[str, int]:
        return {"expiration": int((self.sim.clock.now() + 50) * 1000)}

    def pending(self) -> tuple[dict[str, Any], str, dict[str, int]]:
        """An unanswered action challenge, and a signed but unused user-action token."""
        open_challenge = self.user.action_challenge("POST", PATH, {"x": 1})
        body = self.body()
        token = self.user.user_action("POST", PATH, body)
        return open_challenge, token, body

    def answers(self, open_challenge: dict[str, Any], token: str,
                body: dict[str, int]) -> list[tuple[int, str]]:
        complete = self.user.request("POST", "/auth/action", {
            "challengeIdentifier": open_challenge["challengeIdentifier"],
            "firstFactor": self.device.sign(open_challenge)})
        redeem = self.user.request("POST", PATH, body, user_action=token)
        return [(r.status_code, r.json()["message"]) for r in (complete, redeem)]

    def count(self, table: str) -> int:
        return sum(1 for _ in self.sim.core.store.scan(table))

    def pass_time(self, seconds: float, *, wall: bool = True) -> None:
        self.sim.clock.advance(seconds)
        if wall:
            self.wall += seconds


def test_expired_records_are_dropped_after_the_retention_and_answer_the_same() -> None:
    world = World()
    pending = world.pending()
    challenges, actions = world.count("challenges"), world.count("user_actions")
    world.pass_time(300 + RETENTION + 60)  # expired by more than the retention on both clocks
    before = world.answers(*pending)
    assert before[0] == (400, "Challenge token is not valid.") and before[1][0] == 403
    dropped = world.sim.core.housekeeper.sweep()
    assert dropped >= 2
    assert world.count("challenges") < challenges and world.count("user_actions") < actions
    assert world.answers(*pending) == before


def test_nothing_is_dropped_before_the_retention_has_passed_on_both_clocks() -> None:
    world = World()
    pending = world.pending()
    world.pass_time(300 + RETENTION - 60)  # expired, within the retention
    assert world.sim.core.housekeeper.sweep() == 0
    assert world.answers(*pending)[0] == (400, "Challenge token is not valid.")
    world.pass_time(10 * 86400, wall=False)  # only the simulated clock moves: clock travel
    assert world.sim.core.housekeeper.sweep() == 0


def test_live_records_are_never_dropped() -> None:
    world = World()
    world.wall += 10 * 86400  # the wall clock far ahead, the simulated clock at now
    open_challenge, token, body = world.pending()
    assert world.sim.core.housekeeper.sweep() == 0
    assert world.user.request("POST", PATH, body, user_action=token).status_code == 200
    signed = world.user.request("POST", "/auth/action", {
        "challengeIdentifier": open_challenge["challengeIdentifier"],
        "firstFactor": world.device.sign(open_challenge)})
    assert signed.status_code == 200


@pytest.mark.parametrize("rule", ["challenge.expiry", "ua.expiry"])
def test_kept_when_a_test_only_policy_switches_the_expiry_rule_off(rule: str) -> None:
    world = World(policy=VerificationPolicy(disabled_rules=frozenset({rule})))
    world.pending()
    table = "challenges" if rule == "challenge.expiry" else "user_actions"
    count = world.count(table)
    world.pass_time(3600)
    world.sim.core.housekeeper.sweep()
    assert world.count(table) == count


def test_keep_expired_tracks_and_drops_nothing() -> None:
    world = World(expired_retention=None)
    world.pending()
    world.pass_time(86400)
    assert world.sim.core.housekeeper.sweep() == 0 and not world.sim.core.housekeeper._due


def test_requests_trigger_the_sweep_at_most_once_per_interval() -> None:
    world = World(expired_retention=0.0)
    keeper = world.sim.core.housekeeper
    keeper.every, keeper._next = 0.0, 0.0  # due at once
    for _ in range(5):
        world.pending()
    world.pass_time(400)
    world.user.request("GET", "/auth/credentials")  # any request, after its answer
    assert keeper.dropped >= 10 and world.count("user_actions") == 0
    keeper.every = 3600.0
    keeper._next = time.monotonic() + 3600
    world.pending()
    world.pass_time(400)
    world.user.request("GET", "/auth/credentials")
    assert world.count("user_actions") == 1


def test_a_long_run_stays_bounded() -> None:
    world = World(expired_retention=0.0)
    keeper = world.sim.core.housekeeper
    for _ in range(10):  # 10 × 301 s: within the login token's hour
        for _ in range(10):
            world.user.signed("POST", PATH, world.body())
        world.pass_time(301)
        keeper.sweep()
    assert world.count("challenges") <= 12 and world.count("user_actions") <= 12


def test_serve_options() -> None:
    parse = build_parser().parse_args
    assert retention_settings(parse(["serve"])) == {}
    assert retention_settings(parse(["serve", "--expired-retention", "60"])) == {
        "expired_retention": 60.0}
    assert retention_settings(parse(["serve", "--keep-expired"])) == {"expired_retention": None}
    for bad in (["--expired-retention", "-1"], ["--expired-retention", "nan"],
                ["--keep-expired", "--expired-retention", "5"]):
        with pytest.raises(SystemExit):
            parse(["serve", *bad])


def test_expired_credential_codes_go_too_and_answer_the_same() -> None:
    world = World()
    made = world.user.signed("POST", PATH, world.body())
    code = made.json()["code"]
    org = world.sim.org_id

    def redeem() -> tuple[int, str]:
        response = world.client.post("/auth/credentials/code/init", json={
            "code": code, "credentialKind": "Key", "orgId": org})
        return response.status_code, response.json()["message"]

    world.pass_time(60 + RETENTION + 60)
    before = redeem()
    assert before == (403, "Invalid code")
    world.sim.core.housekeeper.sweep()
    assert world.sim.core.store.get("codes", code) is None
    assert redeem() == before


def test_registration_codes_are_never_dropped() -> None:
    from simulator.services.users import send_registration_code

    world = World()
    core = world.sim.core
    [user] = core.store.find("users", "org_username", (world.sim.org_id, "keeper@example.com"))
    code = send_registration_code(core, user)
    world.pass_time(5 * 3600)
    core.housekeeper.sweep()
    assert core.store.get("codes", code) is not None  # it still answers "Registration code expired"
