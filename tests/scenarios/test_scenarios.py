"""Every scenario runs through both doors; the challenge x kind matrix has no empty cell."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conformance.registry import CHALLENGES, KINDS, NOT_APPLICABLE
from scenarios.cli import render_matrix, served_routes
from scenarios.library import SCENARIOS, matrix
from scenarios.stage import Stage


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
