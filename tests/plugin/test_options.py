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
    assert "dfns_sim scope must be one of function, class, module, session" in result.stdout.str()


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
