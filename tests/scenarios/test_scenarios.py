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
    assert capsys.readouterr().out.strip() == f"scenario recovery-direct: {MAIL_NEEDED}"
    assert len(list(sim.core.store.scan("users"))) == users_before
