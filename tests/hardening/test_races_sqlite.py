"""The same races on a simulator whose store is SQLite (BEGIN IMMEDIATE transactions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator import Simulator
from simulator.persistence.sqlite_store import SqliteStore

from .test_races import (  # noqa: F401 - re-collected here against the SQLite store
    racer,
    test_credential_code,
    test_login_challenge,
    test_registration_temp_token,
    test_user_action_token,
)


@pytest.fixture
def sim(tmp_path: Path) -> Simulator:
    return Simulator(store=SqliteStore(tmp_path / "races.db"))
