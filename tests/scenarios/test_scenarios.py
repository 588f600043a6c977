"""Every scenario runs through both doors; the challenge x kind matrix has no empty cell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.registry import CHALLENGES, KINDS, NOT_APPLICABLE
from scenarios.cli import render_matrix, served_routes
from scenarios.library import SCENARIOS, matrix
from scenarios.stage import MAIL_NEEDED, Stage
from simulator import Simulator
from simulator.cli import build_parser
from simulator.server import ThreadedServer


def test_matrix_has_no_empty_cell() -> None:
    cells = matrix()
    empty = [(c, k) for c in CHALLENGES for k in KINDS
             if (c, k) not in NOT_APPLICABLE and not cells.get((c, k))]
    assert empty == [], f"empty cells: {empty}\n{render_matrix()}"
    assert "EMPTY" not in render_matrix()


def test_no_scenario_is_pending_on_a_route() -> None:
    routes = served_routes()
    pending = {name: [r for r in info.routes if r not in routes]
               for name, info in SCENARIOS.items()}
    assert {k: v for k, v in pending.items() if v} == {}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_runs(name: str, door: httpx.Client, sim: Any, bootstrap: dict) -> None:
    stage = Stage(door, bootstrap, sim, echo=False)
    SCENARIOS[name].fn(stage)
    assert stage.steps


MAIL_READERS = [name for name, info in SCENARIOS.items() if info.needs_sim]


@pytest.mark.parametrize("name", MAIL_READERS)
def test_mail_reading_scenarios_run_against_a_dfns_sim_target(name: str, door: httpx.Client,
                                                              bootstrap: dict) -> None:
    # No Simulator object at hand, as with --target URL: codes come from GET /_sim/outbox.
    stage = Stage(door, bootstrap, None, echo=False)
    assert stage.reads_mail()
    SCENARIOS[name].fn(stage)
    assert stage.steps


def test_a_target_without_mail_is_refused_before_anything_is_registered(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sim = Simulator(admin=False)  # like a real deployment: no /_sim/outbox to read codes from
    boot_file = tmp_path / "boot.json"
    boot_file.write_text(json.dumps(sim.bootstrap()))
    users_before = len(list(sim.core.store.scan("users")))
    with ThreadedServer(sim.app) as server:
        args = build_parser().parse_args(["scenario", "run", "recovery-direct", "--target",
                                          server.base_url, "--bootstrap", str(boot_file)])
        assert args.func(args) == 2
    assert capsys.readouterr().err.strip() == f"scenario recovery-direct: {MAIL_NEEDED}"
    assert len(list(sim.core.store.scan("users"))) == users_before


def _run_remote(url: str, boot_file: Path) -> int:
    args = build_parser().parse_args(["scenario", "run", "recovery-direct", "--target", url,
                                      "--bootstrap", str(boot_file)])
    return int(args.func(args))


@pytest.mark.parametrize(("env_token", "message"), [
    (None, "GET /_sim/outbox answered 401: set DFNS_SIM_ADMIN_TOKEN to the server's "
           "--admin-token"),
    ("wrong", "GET /_sim/outbox answered 401: DFNS_SIM_ADMIN_TOKEN is not the server's "
              "--admin-token"),
])
def test_an_admin_api_behind_a_token_asks_for_the_token(
        env_token: str | None, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    if env_token is None:
        monkeypatch.delenv("DFNS_SIM_ADMIN_TOKEN", raising=False)
    else:
        monkeypatch.setenv("DFNS_SIM_ADMIN_TOKEN", env_token)
    sim = Simulator(admin_token="T")  # serve --admin-token T: the admin API is on
    boot_file = tmp_path / "boot.json"
    boot_file.write_text(json.dumps(sim.bootstrap()))
    users_before = len(list(sim.core.store.scan("users")))
    with ThreadedServer(sim.app) as server:
        assert _run_remote(server.base_url, boot_file) == 2
    assert capsys.readouterr().err.strip() == f"scenario recovery-direct: {message}"
    assert len(list(sim.core.store.scan("users"))) == users_before


def test_an_unreachable_target_is_one_line(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    boot_file = tmp_path / "boot.json"
    boot_file.write_text(json.dumps(Simulator().bootstrap()))
    assert _run_remote("http://127.0.0.1:1", boot_file) == 2  # nothing listens on port 1
    assert capsys.readouterr().err.strip() == (
        "scenario recovery-direct: cannot reach http://127.0.0.1:1 (connection refused)")


def test_a_bootstrap_file_from_another_server_is_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    boot_file = tmp_path / "boot.json"
    boot_file.write_text(json.dumps(Simulator().bootstrap()))  # not the served simulator's
    with ThreadedServer(Simulator().app) as server:
        assert _run_remote(server.base_url, boot_file) == 2
    assert capsys.readouterr().err.strip() == (
        f"scenario recovery-direct: the bootstrap identity in {boot_file} is not accepted by "
        f"{server.base_url}: 401 Not Authorized. (is it this server's bootstrap file?)")
