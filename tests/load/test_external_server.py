"""``dfns-sim load --bootstrap FILE``: drive a ``dfns-sim serve`` someone else started.

The run uses the server's bootstrap identity, never configures or stops that server, and
refuses a file that names no reachable loopback simulator before anything starts.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from load.runner import run, start_server, stop
from simulator.cli import main


@pytest.mark.slow
def test_drives_a_running_server_and_leaves_it_running(tmp_path: Path) -> None:
    server_dir = tmp_path / "server"
    server_dir.mkdir()
    # a server with options of its own choosing, which dfns-sim load cannot pass itself
    proc, boot = start_server(server_dir, extra=["--journal-size", "0"])
    out = tmp_path / "report"
    try:
        summary = run("login", users=2, run_time="3s", out_dir=str(out), quiet=True,
                      max_requests=20_000, bootstrap=str(server_dir / "bootstrap.json"))
        assert summary["exit_code"] == 0, (out / "locust.log").read_text()[-3000:]
        assert summary["failures"] == 0, summary["failure_samples"]
        assert summary["requests"] > 0
        assert summary["target"] == boot["baseUrl"]
        assert summary["server_workers"] is None
        assert f"server {boot['baseUrl']} (already running)" in (out / "summary.md").read_text()
        assert json.loads((out / "bootstrap.json").read_text()) == boot
        assert not (out / "serve.log").exists()  # no server of the run's own
        assert proc.poll() is None  # still serving
        health = httpx.get(boot["baseUrl"] + "/_sim/health", timeout=5)
        assert health.status_code == 200
        assert health.json()["orgId"] == boot["orgId"]
    finally:
        stop(proc)


def _refused(tmp_path: Path, bootstrap: Path, **options: object) -> str:
    out = tmp_path / "report"
    with pytest.raises(SystemExit) as exit_info:
        run("login", users=1, run_time="2s", out_dir=str(out), quiet=True,
            bootstrap=str(bootstrap), **options)
    assert not out.exists()  # refused before the report folder (and Locust) existed
    return str(exit_info.value.code)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    assert _refused(tmp_path, missing) == (
        f"dfns-sim load: cannot read {str(missing)!r}: No such file or directory")


@pytest.mark.parametrize("content", ["not json", "\xff\xfe"], ids=["text", "not-utf8"])
def test_a_file_that_is_not_json_is_refused(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content.encode("latin-1"))
    assert _refused(tmp_path, bad) == (
        f"dfns-sim load: {str(bad)!r} is not JSON "
        "(expected the file dfns-sim serve --bootstrap-out writes)")


@pytest.mark.parametrize("document", [
    [], {}, {"baseUrl": "127.0.0.1:8000", "serviceAccount": {}},
    {"baseUrl": "http://127.0.0.1:8000"}, {"baseUrl": 8000, "serviceAccount": {}},
], ids=["list", "empty", "no-scheme", "no-account", "number"])
def test_a_file_without_a_server_is_refused(tmp_path: Path, document: object) -> None:
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(document))
    assert _refused(tmp_path, odd) == (
        f"dfns-sim load: {str(odd)!r} names no baseUrl and service account "
        "(expected the file dfns-sim serve --bootstrap-out writes)")


def test_a_remote_server_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DFNS_LOAD_ALLOW_REMOTE", raising=False)
    remote = tmp_path / "remote.json"
    remote.write_text(json.dumps({"baseUrl": "http://10.9.9.9:8000", "serviceAccount": {}}))
    assert _refused(tmp_path, remote) == (
        "dfns-sim load profiles target loopback only, not 'http://10.9.9.9:8000' "
        "(set DFNS_LOAD_ALLOW_REMOTE=1 for a deliberate multi-host run)")


def test_a_server_that_does_not_answer_is_refused(tmp_path: Path) -> None:
    dead = tmp_path / "dead.json"
    dead.write_text(json.dumps({"baseUrl": "http://127.0.0.1:1", "serviceAccount": {}}))
    message = _refused(tmp_path, dead)
    assert message.startswith(
        f"dfns-sim load: no dfns-sim answers at http://127.0.0.1:1 (from {dead}): ")


def test_server_workers_and_bootstrap_are_exclusive(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    boot = tmp_path / "boot.json"
    boot.write_text(json.dumps({"baseUrl": "http://127.0.0.1:1", "serviceAccount": {}}))
    assert _refused(tmp_path, boot, server_workers=2) == (
        "dfns-sim load: --server-workers starts a server; with --bootstrap the server is "
        "already running (start it with --workers instead)")
    with pytest.raises(SystemExit) as exit_info:
        main(["load", "login", "--bootstrap", str(boot), "--server-workers", "2"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "dfns-sim load: error: argument --server-workers: not allowed with argument --bootstrap")
