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


def test_a_busy_port_fails_before_touching_anything(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A second serve on a running server's port must not rewrite its bootstrap file."""
    import socket

    boot = tmp_path / "boot.json"
    boot.write_text('{"orgId": "or-running"}')
    with socket.create_server(("127.0.0.1", 0)) as running:
        port = running.getsockname()[1]
        for extra in ([], ["--workers", "2", "--state", str(tmp_path / "s.db")]):
            code = main(["serve", "--port", str(port), "--bootstrap-out", str(boot), *extra])
            err = capsys.readouterr().err.strip()
            assert code == 2
            assert err == ("dfns-sim: error: cannot listen there (Address already in use): "
                           f"127.0.0.1:{port}")
    assert boot.read_text() == '{"orgId": "or-running"}'
    assert not (tmp_path / "s.db").exists()


def test_an_unreachable_redis_store_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:  # a port nothing answers Redis on
        port = taken.getsockname()[1]
    code = main(["serve", "--port", "0", "--store", f"redis://127.0.0.1:{port}/0"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith("dfns-sim: error: the Redis store: ") and err.count("\n") == 1


def test_ctrl_c_stops_serve_quietly(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    import httpx

    boot = tmp_path / "boot.json"
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "serve", "--port", "0",
                             "--bootstrap-out", str(boot)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not boot.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        url = __import__("json").loads(boot.read_text())["baseUrl"]
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/_sim/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "Traceback" not in err, err


def test_an_unknown_host_fails_before_touching_anything(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    boot, state = tmp_path / "boot.json", tmp_path / "s.db"
    code = main(["serve", "--host", "nosuchhost.invalid", "--port", "18261",
                 "--bootstrap-out", str(boot), "--state", str(state)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("dfns-sim: error: cannot resolve the host (")
    assert err.rstrip().endswith("): nosuchhost.invalid") and err.count("\n") == 1
    assert not boot.exists() and not state.exists()


def test_rules_lists_every_id_the_options_accept(capsys: pytest.CaptureFixture[str]) -> None:
    from simulator.verification.policy import all_rule_ids

    assert main(["rules"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert sorted(listed) == sorted(all_rule_ids()) and len(listed) == len(set(listed))
    assert main(["rules", "ua."]) == 0
    narrowed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert narrowed and all(rule.startswith("ua.") for rule in narrowed)


def test_the_bootstrap_file_is_never_seen_half_written(tmp_path: Path) -> None:
    # A script that waits for --bootstrap-out to appear then reads it (as the Ctrl-C test
    # above does) must never read an empty or cut-off file: readers race one writer here.
    import json
    import threading

    from simulator.cli import write_bootstrap

    target = tmp_path / "boot.json"
    boot = {"orgId": "or-1", "padding": "x" * 200_000}
    done, torn = threading.Event(), []

    def read_while_written() -> None:
        while not done.is_set():
            try:
                json.loads(target.read_text())
            except FileNotFoundError:
                continue
            except ValueError as exc:
                torn.append(str(exc))

    reader = threading.Thread(target=read_while_written)
    reader.start()
    try:
        for _ in range(60):
            write_bootstrap(str(target), boot)
    finally:
        done.set()
        reader.join()
    assert torn == [] and json.loads(target.read_text()) == boot
    assert [p.name for p in tmp_path.iterdir()] == ["boot.json"]  # no partial file left
