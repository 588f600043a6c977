"""Scopes, doors and --dfns-target, checked on inner pytest runs (pytester)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator import Simulator
from simulator.server import ThreadedServer

pytest_plugins = ["pytester"]

CUSTOMER_EXAMPLE = (Path(__file__).parent / "test_customer_example.py").read_text()

SCOPE_PROBE = """
import pytest
seen = []

def test_one(dfns_sim):
    seen.append(id(dfns_sim))

def test_two(dfns_sim):
    seen.append(id(dfns_sim))

def test_compare():
    print("SAME" if seen[0] == seen[1] else "DIFFERENT")
"""


@pytest.fixture
def running_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    sim = Simulator()
    boot_file = tmp_path / "boot.json"
    with ThreadedServer(sim.app) as server:
        boot = dict(sim.bootstrap(), baseUrl=server.base_url)
        boot_file.write_text(json.dumps(boot))
        yield server.base_url, boot_file


def _outcome(result: pytest.RunResult) -> str:
    return "SAME" if "SAME" in result.stdout.str() else "DIFFERENT"


def test_fresh_simulator_per_test_by_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SCOPE_PROBE)
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert _outcome(result) == "DIFFERENT"


def test_scope_from_the_ini_option(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ndfns_sim_scope = module\n")
    pytester.makepyfile(SCOPE_PROBE)
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert _outcome(result) == "SAME"


def test_scope_from_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SCOPE_PROBE.replace("import pytest",
                                            'import pytest\n'
                                            'pytestmark = pytest.mark.dfns_sim(scope="session")'))
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert _outcome(result) == "SAME"


def test_bad_scope_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ndfns_sim_scope = forever\n")
    pytester.makepyfile("def test_x(dfns_sim):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "ini dfns_sim_scope must be one of function, class, module, session, not 'forever'" \
        in result.stderr.str()


@pytest.mark.parametrize(("args", "message"), [
    (["--dfns-target", "127.0.0.1:1"],
     "--dfns-target must be 'inprocess' or an http(s):// URL, not '127.0.0.1:1'"),
    (["--dfns-target", "http://127.0.0.1:1", "--dfns-bootstrap", "/nowhere/boot.json"],
     "--dfns-bootstrap /nowhere/boot.json: [Errno 2] No such file or directory"),
])
def test_bad_target_options_are_one_usage_error(pytester: pytest.Pytester, args: list[str],
                                                message: str) -> None:
    pytester.makepyfile("def test_x(dfns_client):\n    pass\n\n"
                        "def test_y(dfns_client):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str() and "Traceback" not in result.stdout.str()


def test_an_unreachable_target_is_one_usage_error(pytester: pytest.Pytester,
                                                   tmp_path: Path) -> None:
    boot_file = tmp_path / "boot.json"
    boot_file.write_text(json.dumps(Simulator().bootstrap()))
    pytester.makepyfile("def test_x(dfns_client):\n    pass\n\n"
                        "def test_y(dfns_client):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--dfns-target", "http://127.0.0.1:1",
                                "--dfns-bootstrap", str(boot_file))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.str().strip() == (
        "ERROR: cannot reach http://127.0.0.1:1 (connection refused)")
    assert "test_x" not in result.stdout.str()  # nothing collected, nothing run


def test_a_bootstrap_file_from_another_server_is_one_usage_error(
        pytester: pytest.Pytester, running_server: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = running_server
    foreign = tmp_path / "other-boot.json"
    foreign.write_text(json.dumps(Simulator().bootstrap()))
    pytester.makepyfile("def test_x(dfns_sa):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--dfns-target", url,
                                "--dfns-bootstrap", str(foreign))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.str().strip() == (
        f"ERROR: the bootstrap identity in {foreign} is not accepted by {url}: "
        "401 Not Authorized. (is it this server's bootstrap file?)")


def test_conformance_plugin_alone_checks_the_target(pytester: pytest.Pytester, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    boot_file = tmp_path / "boot.json"
    boot_file.write_text(json.dumps(Simulator().bootstrap()))
    result = pytester.runpytest_subprocess("-p", "dfns_conformance", "-p", "no:cacheprovider",
                                           "--pyargs", "conformance", "-k", "REG-KEY-F-1",
                                           "--dfns-target", "http://127.0.0.1:1",
                                           "--dfns-bootstrap", str(boot_file))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.str().strip() == (
        "ERROR: cannot reach http://127.0.0.1:1 (connection refused)")


@pytest.mark.parametrize(("marker", "message"), [
    ('"module"', "dfns_sim takes keywords only"),
    ('seed="x"', "dfns_sim seed must be an integer, not 'x'"),
])
def test_bad_marker_arguments_are_refused(pytester: pytest.Pytester, marker: str,
                                          message: str) -> None:
    pytester.makepyfile(f"import pytest\n\n@pytest.mark.dfns_sim({marker})\n"
                        "def test_x(dfns_sim):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert message in result.stdout.str()
    result.assert_outcomes(errors=1)


def test_class_scope_outside_a_class_is_per_test(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ndfns_sim_scope = class\n")
    pytester.makepyfile(SCOPE_PROBE)
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert _outcome(result) == "DIFFERENT"  # as pytest's own class-scoped fixtures behave


def test_conformance_plugin_alone_has_the_target_options(pytester: pytest.Pytester,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest_subprocess("-p", "dfns_conformance", "-p", "no:cacheprovider",
                                           "--pyargs", "conformance", "-k", "REG-KEY-F-1",
                                           "--dfns-target", "inprocess")
    assert result.ret == 0, result.stderr.str()


def test_http_door(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CUSTOMER_EXAMPLE + """

def test_the_client_goes_over_loopback(dfns_client, dfns_bootstrap):
    assert str(dfns_client.base_url).startswith("http://127.0.0.1:")
    assert dfns_bootstrap["baseUrl"] == str(dfns_client.base_url).rstrip("/")
""")
    result = pytester.runpytest("--dfns-door", "http", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_same_tests_against_a_target_url(pytester: pytest.Pytester,
                                         running_server: tuple[str, Path]) -> None:
    url, boot_file = running_server
    pytester.makepyfile(CUSTOMER_EXAMPLE + f"""

def test_needs_the_simulator(dfns_sim):
    pass

def test_points_at_the_target(dfns_client, dfns_target_url):
    assert dfns_target_url == {url!r} and str(dfns_client.base_url).rstrip("/") == {url!r}
""")
    result = pytester.runpytest("--dfns-target", url, "--dfns-bootstrap", str(boot_file),
                                "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, skipped=2)
    result.stdout.fnmatch_lines(
        [f"*needs the simulator's controls; the tests run against --dfns-target {url}*"])


def test_target_without_bootstrap_file_fails_clearly(pytester: pytest.Pytester,
                                                     running_server: tuple[str, Path]) -> None:
    url, _ = running_server
    pytester.makepyfile("def test_x(dfns_bootstrap):\n    pass\n")
    result = pytester.runpytest("--dfns-target", url, "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)  # a setup error, with the reason
    result.stdout.fnmatch_lines(["*--dfns-target needs --dfns-bootstrap FILE*"])


def test_inprocess_spelling_of_the_target_means_the_simulator(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(dfns_sim, dfns_target_url):\n"
                        "    assert dfns_target_url is None\n")
    result = pytester.runpytest("--dfns-target", "inprocess", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
