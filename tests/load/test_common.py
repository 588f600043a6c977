"""Unit checks of the profile helpers: Server-Timing parsing, loopback guard, run-time syntax."""

from __future__ import annotations

import pytest

from load.common import check_target, is_loopback_host, parse_server_timing
from load.runner import PROFILES, parse_seconds


def test_parse_server_timing() -> None:
    assert parse_server_timing("verify;dur=0.120, app;dur=0.410") == {"verify": 0.12, "app": 0.41}
    assert parse_server_timing(None) == {}
    assert parse_server_timing("app;desc=x;dur=bad, verify;dur=1") == {"verify": 1.0}


@pytest.mark.parametrize(("header", "expected"), [
    (["verify;dur=0.5", "app;dur=1.5"], {"verify": 0.5, "app": 1.5}),  # the header repeated
    ("Verify;DUR=0.4", {"Verify": 0.4}),
    ('app;dur="1.5"', {"app": 1.5}),
    ("verify ; dur = 0.3", {"verify": 0.3}),
    ("verify;dur=0.2, proxy;dur=9, verify;dur=7", {"verify": 0.2, "proxy": 9.0}),
    (";dur=1, , app", {}),
])
def test_parse_server_timing_follows_the_grammar(header: object, expected: dict) -> None:
    assert parse_server_timing(header) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("url,loopback", [
    ("http://127.0.0.1:8000", True), ("http://localhost:1", True), ("http://[::1]:80", True),
    ("http://10.0.0.1:80", False), ("https://api.dfns.io", False),
])
def test_loopback_guard(url: str, loopback: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DFNS_LOAD_ALLOW_REMOTE", raising=False)
    assert is_loopback_host(url) is loopback
    if loopback:
        check_target(url)
    else:
        with pytest.raises(SystemExit, match="loopback only"):
            check_target(url)


def test_run_time_syntax() -> None:
    assert parse_seconds("20s") == 20
    assert parse_seconds("1m30s") == 90
    assert parse_seconds("15") == 15
    with pytest.raises(ValueError):
        parse_seconds("soon")


def test_every_profile_file_exists() -> None:
    for profile in PROFILES.values():
        assert profile.path.endswith(".py")
        assert __import__("pathlib").Path(profile.path).exists()


def test_unknown_profile_is_refused() -> None:
    from load.runner import run

    with pytest.raises(SystemExit, match="unknown profile"):
        run("nope")


def test_history_series_skips_empty_windows_and_counts_throughput() -> None:
    from load.report import history_series

    def row(t: int, p50: str, total: int, rps: str = "0.000000") -> dict[str, str]:
        return {"Timestamp": str(t), "50%": p50, "95%": p50, "Requests/s": rps,
                "Total Request Count": str(total)}

    rows = [row(100, "N/A", 0), row(101, "2", 2212), row(102, "3", 5086), row(104, "3", 9086)]
    assert history_series(rows) == ([0.0, 1.0, 3.0], [2.0, 3.0, 3.0], [2.0, 3.0, 3.0],
                                     [2212.0, 2874.0, 2000.0])
    assert history_series([row(100, "N/A", 0)]) is None
    # Nothing before the first row: no rate to show rather than an invented one.
    assert history_series(rows[1:2]) == ([0.0], [2.0], [2.0], [0.0])


def test_history_series_skips_the_rows_before_locust_has_a_window() -> None:
    """Locust writes 0 for every percentile until its 10-s window exists (a real run: 2,664
    requests in the first second, all read 0 ms); a 0 ms window later in the run is real."""
    from load.report import history_series

    def row(t: int, p: str, total: int) -> dict[str, str]:
        return {"Timestamp": str(t), "50%": p, "95%": p, "100%": p,
                "Total Request Count": str(total)}

    rows = [row(100, "N/A", 0), row(101, "0", 2664), row(102, "4", 4979), row(103, "0", 5000)]
    assert history_series(rows) == ([0.0, 1.0], [4.0, 0.0], [4.0, 0.0], [2315.0, 21.0])
    assert history_series(rows[:2]) is None


def test_server_timing_series_follows_the_busiest_verify_entry() -> None:
    from load.report import server_timing_series

    def row(t: int, name: str, p50: str, p95: str, total: int) -> dict[str, str]:
        return {"Timestamp": str(t), "Type": "SERVER-TIMING", "Name": name, "50%": p50,
                "95%": p95, "Total Request Count": str(total)}

    rows = [row(100, "verify /auth/action (Key:P-256) [us]", "0", "0", 5),  # empty window
            row(101, "verify /auth/action (Key:P-256) [us]", "92", "130", 900),
            row(101, "verify /auth/login (Key:P-256) [us]", "95", "140", 40),
            row(101, "app /auth/action (Key:P-256) [us]", "200", "300", 900),
            {"Timestamp": "101", "Type": "POST", "Name": "verify", "50%": "1", "95%": "1",
             "Total Request Count": "99999"}]
    assert server_timing_series(rows, t0=100.0) == (
        "verify /auth/action (Key:P-256)", [1.0], [92.0], [130.0])
    assert server_timing_series(rows, t0=100.0, metric="app") == (
        "app /auth/action (Key:P-256)", [1.0], [200.0], [300.0])
    assert server_timing_series(rows[3:], t0=100.0) is None  # no verify entry at all


def test_server_timing_series_skips_an_entry_with_no_sample_drawn() -> None:
    from load.report import server_timing_series

    rows = [{"Timestamp": "101", "Type": "SERVER-TIMING", "Name": "verify /a [us]", "50%": "0",
             "95%": "0", "Total Request Count": "900"},
            {"Timestamp": "101", "Type": "SERVER-TIMING", "Name": "verify /b [us]", "50%": "90",
             "95%": "120", "Total Request Count": "10"}]
    assert server_timing_series(rows, t0=100.0) == ("verify /b", [1.0], [90.0], [120.0])
