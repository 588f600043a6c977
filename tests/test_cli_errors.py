"""Bad command-line input ends in one line naming the problem (exit status 2), never a
traceback and never a run that starts and fails later."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.cli import main

USAGE = [
    (["serve", "--port", "70000"], "argument --port: must be a port number 0-65535, not '70000'"),
    (["serve", "--port", "-1"], "argument --port: must be a port number 0-65535, not '-1'"),
    (["serve", "--log-level", "loud"], "argument --log-level: invalid choice: 'loud'"),
    (["serve", "--store", "bogus://x"],
     "argument --store: must be sqlite:///FILE or redis://HOST:PORT/DB, not 'bogus://x'"),
    (["serve", "--workers", "0"], "argument --workers: must be a whole number >= 1, not '0'"),
    (["serve", "--journal-size", "-1"],
     "argument --journal-size: must be a whole number >= 0, not '-1'"),
    (["serve", "--expired-retention", "nan"],
     "argument --expired-retention: must be a finite number, not 'nan'"),
    (["load", "hot-path", "--run-time", "abc"],
     "argument --run-time/-t: must be a duration such as 20s, 2m or 1h30m, not 'abc'"),
    (["load", "hot-path", "--run-time", "0"],
     "argument --run-time/-t: must be positive: every load run is bounded"),
    (["load", "hot-path", "--users", "-5"],
     "argument --users/-u: must be a whole number >= 1, not '-5'"),
    (["load", "hot-path", "--spawn-rate", "-1"],
     "argument --spawn-rate/-r: must be a number > 0, not '-1'"),
    (["load", "hot-path", "--processes", "-2"],
     "argument --processes: must be a whole number >= 0, not '-2'"),
    (["load", "hot-path", "--server-workers", "-1"],
     "argument --server-workers: must be a whole number >= 1, not '-1'"),
    (["load", "hot-path", "--max-requests", "-1"],
     "argument --max-requests: must be a whole number >= 1, not '-1'"),
]


@pytest.mark.parametrize(("argv", "message"), USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_bad_option_values_are_usage_errors(argv: list[str], message: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_unusable_files_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_json = tmp_path / "boot.txt"
    not_json.write_text("hello")
    cases = [
        (["serve", "--bootstrap-out", str(tmp_path / "missing" / "boot.json"), "--port", "1"],
         f"dfns-sim: error: No such file or directory: {tmp_path / 'missing' / 'boot.json'}"),
        (["scenario", "run", "recovery-direct", "--target", "http://127.0.0.1:9",
          "--bootstrap", str(tmp_path / "nowhere.json")],
         f"dfns-sim: error: No such file or directory: {tmp_path / 'nowhere.json'}"),
        (["scenario", "run", "recovery-direct", "--target", "http://127.0.0.1:9",
          "--bootstrap", str(not_json)],
         "dfns-sim: error: not a JSON file (Expecting value at line 1)"),
        (["conformance", "--target", "http://127.0.0.1:9"],
         "dfns-sim conformance: error: --target URL needs --bootstrap FILE"),
        (["conformance", "--target", "http://127.0.0.1:9", "--bootstrap", str(not_json)],
         f"dfns-sim conformance: error: cannot read --bootstrap {not_json}"),
        (["conformance", "--workers", "-3"],
         "dfns-sim conformance: error: --workers must be a whole number >= 0 or 'auto'"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith(message) and "Traceback" not in err, (argv, err)
