"""``dfns-sim conformance`` refuses to start, in one line and before any check runs, when the
target cannot be reached, the bootstrap identity is not that server's, or a
``--dfns-disable-rules`` id does not exist — instead of the same failure in every check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator import Simulator
from simulator.cli import main
from simulator.server import ThreadedServer


@pytest.fixture
def served() -> Iterator[str]:
    with ThreadedServer(Simulator().app) as server:
        yield server.base_url


def _boot_file(tmp_path: Path, sim: Simulator) -> Path:
    boot_file = tmp_path / "boot.json"
    boot_file.write_text(json.dumps(sim.bootstrap()))
    return boot_file


def test_an_unreachable_target_is_one_line(tmp_path: Path,
                                           capfd: pytest.CaptureFixture[str]) -> None:
    boot_file = _boot_file(tmp_path, Simulator())
    rc = main(["conformance", "--target", "http://127.0.0.1:1", "--bootstrap", str(boot_file)])
    out, err = capfd.readouterr()
    assert rc == 2
    assert err == ("dfns-sim conformance: error: cannot reach http://127.0.0.1:1 "
                   "(connection refused)\n")
    assert out == ""  # no pytest run at all


def test_a_bootstrap_file_from_another_server_is_one_line(
        tmp_path: Path, served: str, capfd: pytest.CaptureFixture[str]) -> None:
    boot_file = _boot_file(tmp_path, Simulator())  # not the served simulator's identity
    rc = main(["conformance", "--target", served, "--bootstrap", str(boot_file)])
    out, err = capfd.readouterr()
    assert rc == 2
    assert err == (f"dfns-sim conformance: error: the bootstrap identity in {boot_file} is not "
                   f"accepted by {served}: 401 Not Authorized. (is it this server's bootstrap "
                   "file?)\n")
    assert out == ""


def test_demo_checks_the_target_the_same_way(tmp_path: Path,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    boot_file = _boot_file(tmp_path, Simulator())
    rc = main(["demo", "--out", str(tmp_path / "out"), "--target", "http://127.0.0.1:1",
               "--bootstrap", str(boot_file)])
    assert rc == 2
    assert capfd.readouterr().err == ("dfns-sim demo: error: cannot reach http://127.0.0.1:1 "
                                      "(connection refused)\n")


def test_an_unknown_rule_id_is_one_usage_error(capfd: pytest.CaptureFixture[str]) -> None:
    rc = main(["conformance", "--workers", "0", "-k", "REG-KEY-F-3",
               "--dfns-disable-rules", "nosuchrule,ua.requird"])
    out, err = capfd.readouterr()
    assert rc == pytest.ExitCode.USAGE_ERROR
    assert err.strip() == (
        "ERROR: --dfns-disable-rules: unknown rule ids: nosuchrule, ua.requird (did you mean "
        "ua.required?); `dfns-sim rules` lists the valid ones")
    assert "Traceback" not in out + err and "passed" not in out and "error" not in out


def test_rule_lists_are_read_leniently() -> None:
    from conformance.plugin import disabled_rules

    assert disabled_rules(" ua.required, ,") == frozenset({"ua.required"})
    assert disabled_rules("") == frozenset()
    with pytest.raises(ValueError, match=r"unknown rule ids: nosuchrule;"):
        disabled_rules("ua.required,nosuchrule")


def test_a_least_privilege_identity_is_accepted_and_a_dead_token_is_not() -> None:
    """The pre-flight call lists users: a 403 proves the token was accepted (an account that
    may not list users still runs the checks it may), a 401 that it was not."""
    from scenarios.client import probe_target
    from simulator import Simulator
    from tests.authz.helpers import service_account_with

    sim = Simulator()
    sim.bootstrap()
    reader = service_account_with(sim, ["Permissions:Read"])
    with sim.serve() as server:
        assert probe_target(server.base_url,
                            {"serviceAccount": {"accessToken": reader.token}}) is None
        problem = probe_target(server.base_url, {"serviceAccount": {"accessToken": "x.y.z"}},
                               source="b.json")
    assert problem == (f"the bootstrap identity in b.json is not accepted by {server.base_url}: "
                       "401 Not Authorized. (is it this server's bootstrap file?)")


def test_the_command_probes_the_target_once(tmp_path: Path) -> None:
    """`dfns-sim conformance --target` checks the target itself; the pytest run it starts
    does not ask again."""
    import subprocess
    import sys

    sim = Simulator()
    boot = dict(sim.bootstrap())
    boot_file = tmp_path / "boot.json"
    boot_file.write_text(json.dumps(boot))
    with sim.serve() as server:
        subprocess.run([sys.executable, "-m", "simulator.cli", "conformance", "--target",
                        server.base_url, "--bootstrap", str(boot_file), "--workers", "0",
                        "-k", "no-check-has-this-name"], capture_output=True, timeout=120)
    probes = [e for e in sim.journal() if e["path"] == "/auth/users" and "limit=1" in e["query"]]
    assert len(probes) == 1, probes
