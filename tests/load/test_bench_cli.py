"""``dfns-sim bench`` arguments and output hygiene (nothing here times anything; the profile
test runs 20 in-process flows)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from load.cli import bench_steps
from simulator.cli import main


@pytest.mark.parametrize(("only", "unknown"), [
    ("P9", "entry 'P9'"), ("", "entry ''"), ("P1,X", "entry 'X'"), ("P5, p0", "entries 'P5', 'p0'"),
])
def test_unknown_only_is_a_usage_error_before_anything_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], only: str, unknown: str) -> None:
    out = tmp_path / "bench"
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--only", only, "--out", str(out)])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[-1] == (
        f"dfns-sim bench: error: argument --only: unknown {unknown}; "
        "choose from P1, P2, P3, P4 (comma-separated)")
    assert not out.exists()  # no report folder, so no bench.json or bench.md overwritten


def test_only_accepts_a_subset_in_any_case() -> None:
    assert bench_steps("p1, P4") == "P1,P4"
    assert bench_steps("P2,P2") == "P2"
    assert bench_steps("P1,P2,P3,P4") == "P1,P2,P3,P4"
    assert bench_steps("P3,") == "P3"  # a trailing comma is no entry


def test_testclient_import_does_not_warn_about_httpx() -> None:
    """P4 compares with Starlette's TestClient on httpx: the httpx2 deprecation warning is
    silenced there, and only there (in a fresh interpreter: the warning fires at import)."""
    prelude = ("import warnings\n"
               "from starlette.exceptions import StarletteDeprecationWarning\n"
               "warnings.simplefilter('error', StarletteDeprecationWarning)\n")
    ours = subprocess.run(
        [sys.executable, "-c", prelude + "from load.bench import testclient_class\n"
                                         "testclient_class()\n"
                                         "warnings.warn('after', StarletteDeprecationWarning)\n"],
        capture_output=True, text=True, timeout=60)
    # the filter is local: a StarletteDeprecationWarning after the import still fires
    assert ours.returncode != 0
    assert "StarletteDeprecationWarning: after" in ours.stderr, ours.stderr
    assert "httpx2" not in ours.stderr, ours.stderr


def test_the_profile_covers_the_server_side_only(tmp_path: Path) -> None:
    """The client's httpx and the authenticator's signing are the load generator's cost, not
    the simulator's: the profile must not show them, and must show the request path."""
    from load.bench.inprocess import profile

    top = profile(tmp_path, flows=20)
    text = (tmp_path / "profile.txt").read_text()
    assert "simulator/http/app.py" in text and "services/actions.py" in text
    assert "httpx" not in text and "virtual_authenticators" not in text
    assert top[0].split()[:2] == ["ncalls", "tottime"]
