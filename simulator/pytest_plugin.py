"""pytest plugin ``dfns_sim`` (entry point ``pytest11``): the simulator as test fixtures.

Fixtures (all prefixed ``dfns_`` so they never clash with a project's own):

- ``dfns_sim``: an in-process :class:`simulator.Simulator`, fresh per test by default; the
  scope is set with the ini option ``dfns_sim_scope`` (function | class | module | session)
  or per test with ``@pytest.mark.dfns_sim(scope="module", seed=7, ...)`` (other keywords go
  to ``Simulator(...)``).
- ``dfns_sim_server``: a loopback HTTP server (threaded uvicorn on a free port) serving the
  *same* simulator, like moto's ``ThreadedMotoServer(port=0)``.
- ``dfns_client``: an ``httpx.Client`` for the chosen target: in-process (default), the
  threaded server (``--dfns-door http``), or ``--dfns-target URL``.
- ``dfns_bootstrap``: the bootstrap identity (DESIGN.md contract) for that target.
- ``dfns_sa``: a ``scenarios.client.DfnsApi`` acting as the bootstrap service account.
- ``dfns_authenticator_factory(kind="Key"|"Fido2"|"PasswordProtectedKey"|"RecoveryKey", ...)``.
- ``dfns_user_factory(kind=..., username=None, user_kind="EndUser")``: a registered, logged-in
  user (``.username``, ``.userId``, ``.token``, ``.authenticator``, ``.api``).

Options: ``--dfns-target URL`` and ``--dfns-bootstrap FILE`` point the same tests at a running
server (``dfns-sim serve --bootstrap-out FILE`` or any Dfns-compatible URL). This plugin owns
those two options; other plugins (the conformance suite) read them with
``config.getoption("dfns_target")`` / ``config.getoption("dfns_bootstrap")`` and must not
register them again. Tests needing the simulator's controls carry ``@pytest.mark.dfns_sim_only``
and are skipped, with the reason, against a URL.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

# Fixture names: the conformance plugin owns ``dfns_target`` (a Target object) and
# ``dfns_run_check``; everything here is dfns_sim*/dfns_client/... so nothing overlaps.
SCOPES = ("function", "class", "module", "session")
DOORS = ("inprocess", "http")
# Set by `dfns-sim conformance` / `demo` for the pytest run it starts: the target it probed.
PROBED_ENV = "DFNS_SIM_TARGET_PROBED"
SKIP_REASON = "needs the simulator's controls; the tests run against --dfns-target {url}"


def option_registered(parser: pytest.Parser, name: str) -> bool:
    """Whether any plugin already added ``name`` (in any option group)."""
    groups = [*getattr(parser, "_groups", []), getattr(parser, "_anonymous", None)]
    return any(name in option.names() for group in groups if group is not None
               for option in getattr(group, "options", []))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dfns-sim", "Dfns auth simulator")
    # The conformance plugin registers the same two when it loads first; pytest only notices
    # a duplicate within one group, so look across all of them.
    if not option_registered(parser, "--dfns-target"):
        group.addoption("--dfns-target", dest="dfns_target", metavar="URL", default=None,
                        help="run the dfns_* fixtures (and the conformance suite) against this "
                             "base URL; 'inprocess' or unset: the in-process simulator")
        group.addoption("--dfns-bootstrap", dest="dfns_bootstrap", metavar="FILE", default=None,
                        help="bootstrap identity JSON for --dfns-target "
                             "(dfns-sim serve --bootstrap-out)")
    group.addoption("--dfns-door", dest="dfns_door", choices=DOORS, default=None,
                    help="without --dfns-target: reach the simulator in-process (default) or over "
                         "loopback HTTP")
    parser.addini("dfns_sim_scope", "scope of the dfns_sim fixture: function (default), class, "
                  "module or session", default="function")
    parser.addini("dfns_door", "default for --dfns-door", default="inprocess")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dfns_sim_only: needs simulator controls (reset, clock, "
                            "faults, outbox...); skipped against --dfns-target")
    config.addinivalue_line("markers", "dfns_sim(scope=None, **settings): scope and Simulator "
                            "settings of this test's dfns_sim")
    _check_options(config)


def _check_options(config: pytest.Config) -> None:
    """Bad settings are one usage error at start, not the same traceback in every test."""
    scope = config.getini("dfns_sim_scope") or "function"
    if scope not in SCOPES:
        raise pytest.UsageError(f"ini dfns_sim_scope must be one of {', '.join(SCOPES)}, "
                                f"not {scope!r}")
    _door(config)
    check_target_options(config)


def check_target_options(config: pytest.Config) -> None:
    """``--dfns-target URL`` and ``--dfns-bootstrap FILE``, checked once at start (also by the
    conformance plugin when it runs without this one): a URL, a readable JSON file, and one
    authenticated read as the bootstrap service account, so a server that is down or a
    bootstrap file from another server is one usage error, not a failure in every test."""
    target = _target(config)
    if target is None:
        return
    if not target.startswith(("http://", "https://")):
        raise pytest.UsageError(f"--dfns-target must be 'inprocess' or an http(s):// URL, "
                                f"not {target!r}")
    bootstrap = config.getoption("dfns_bootstrap", None)
    boot: Any = None
    if bootstrap:
        try:
            boot = json.loads(Path(bootstrap).read_text())
        except (OSError, ValueError) as exc:
            raise pytest.UsageError(f"--dfns-bootstrap {bootstrap}: {exc}") from None
    if hasattr(config, "workerinput"):  # an xdist worker: the controller has probed already
        return
    if os.environ.get(PROBED_ENV) == target:  # dfns-sim conformance / demo probed it already
        return
    from scenarios.client import probe_target

    problem = probe_target(target, boot if isinstance(boot, dict) else None,
                           source=str(bootstrap))
    if problem is not None:
        raise pytest.UsageError(problem)


def pytest_runtest_setup(item: pytest.Item) -> None:
    target = _target(item.config)
    if target and item.get_closest_marker("dfns_sim_only") is not None:
        pytest.skip(SKIP_REASON.format(url=target))


# -- internals ----------------------------------------------------------------------------
class _Pool:
    """Simulators kept for wider scopes and the one loopback server of the session."""

    def __init__(self) -> None:
        self.sims: dict[tuple[Any, ...], Any] = {}
        self.server: Any = None
        self.mounted: Any = None

    def server_for(self, sim: Any) -> Any:
        if self.server is None:
            from simulator.server import ThreadedServer

            pool = self

            async def app(scope: dict, receive: Any, send: Any) -> Any:
                return await pool.mounted(scope, receive, send)

            self.server = ThreadedServer(app).start()
        self.mounted = sim.app  # one test at a time per process: mount this test's simulator
        return self.server

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        self.sims.clear()


@pytest.fixture(scope="session")
def _dfns_pool() -> Iterator[_Pool]:
    pool = _Pool()
    yield pool
    pool.close()


def _scope_key(request: pytest.FixtureRequest, scope: str) -> tuple[Any, ...] | None:
    node = request.node
    if scope == "function":
        return None
    if scope == "session":
        return ("session",)
    if scope == "class":
        if getattr(request, "cls", None) is None:
            return None  # as pytest does: a test outside any class is its own class scope
        return ("class", node.parent.nodeid if node.parent else node.nodeid)
    module = getattr(node, "module", None)
    return ("module", getattr(module, "__name__", node.nodeid))


def _target(config: pytest.Config) -> str | None:
    """The target URL; "inprocess" (the conformance suite's spelling of the default) is None."""
    value = config.getoption("dfns_target", None) or None
    return None if value in (None, "inprocess") else str(value)


def _door(config: pytest.Config) -> str:
    door = config.getoption("dfns_door", None) or config.getini("dfns_door") or "inprocess"
    if door not in DOORS:
        raise pytest.UsageError(f"dfns_door must be one of {', '.join(DOORS)}, not {door!r}")
    return str(door)


# -- fixtures -----------------------------------------------------------------------------
@pytest.fixture
def dfns_target_url(request: pytest.FixtureRequest) -> str | None:
    """The ``--dfns-target`` URL, or None when the tests drive the simulator itself."""
    return _target(request.config)


@pytest.fixture
def dfns_sim(request: pytest.FixtureRequest, _dfns_pool: _Pool) -> Iterator[Any]:
    """The in-process simulator (skipped with a reason under ``--dfns-target``)."""
    target = _target(request.config)
    if target:
        pytest.skip(SKIP_REASON.format(url=target))
    from simulator import Simulator

    marker = request.node.get_closest_marker("dfns_sim")
    if marker is not None and marker.args:
        raise pytest.UsageError(f"dfns_sim takes keywords only (scope=..., seed=..., other "
                                f"Simulator settings), not {marker.args!r}")
    settings = dict(marker.kwargs) if marker is not None else {}
    seed = settings.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise pytest.UsageError(f"dfns_sim seed must be an integer, not {seed!r}")
    scope = settings.pop("scope", None) or request.config.getini("dfns_sim_scope") or "function"
    if scope not in SCOPES:
        raise pytest.UsageError(f"dfns_sim scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    key = _scope_key(request, scope)
    if key is None:
        yield Simulator(**settings)
        return
    key = (*key, tuple(sorted((k, repr(v)) for k, v in settings.items())))
    if key not in _dfns_pool.sims:
        _dfns_pool.sims[key] = Simulator(**settings)
    yield _dfns_pool.sims[key]


@pytest.fixture
def dfns_sim_server(dfns_sim: Any, _dfns_pool: _Pool) -> Any:
    """A loopback HTTP server sharing ``dfns_sim``'s state (``.base_url``, ``.client()``)."""
    return _dfns_pool.server_for(dfns_sim)


@pytest.fixture
def dfns_base_url(request: pytest.FixtureRequest) -> str:
    """Where ``dfns_client`` points: the target URL, the loopback server or the in-process URL."""
    target = _target(request.config)
    if target:
        return target.rstrip("/")
    sim = request.getfixturevalue("dfns_sim")
    if _door(request.config) == "http":
        return str(request.getfixturevalue("dfns_sim_server").base_url)
    return str(sim.base_url)


@pytest.fixture
def dfns_client(request: pytest.FixtureRequest, dfns_base_url: str) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` for the chosen target, closed after the test."""
    if _target(request.config) or _door(request.config) == "http":
        client = httpx.Client(base_url=dfns_base_url, timeout=30)
    else:
        client = request.getfixturevalue("dfns_sim").client()
    with client:
        yield client


@pytest.fixture
def dfns_bootstrap(request: pytest.FixtureRequest, dfns_base_url: str) -> dict[str, Any]:
    """The bootstrap identity: ``orgId``, ``appId``, ``rpId``, ``origin``, ``serviceAccount``..."""
    if _target(request.config):
        path = request.config.getoption("dfns_bootstrap", None)
        if not path:
            pytest.fail("--dfns-target needs --dfns-bootstrap FILE (from dfns-sim serve "
                        "--bootstrap-out FILE) for tests using the bootstrap identity",
                        pytrace=False)
        boot = dict(json.loads(Path(path).read_text()))
    else:
        boot = dict(request.getfixturevalue("dfns_sim").bootstrap())
    boot["baseUrl"] = dfns_base_url
    return boot


@pytest.fixture
def dfns_sa(dfns_client: httpx.Client, dfns_bootstrap: dict[str, Any]) -> Any:
    """``DfnsApi`` as the bootstrap service account (signs user actions with its key)."""
    from scenarios.client import service_account_api

    return service_account_api(dfns_client, dfns_bootstrap)


def _new_username() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture
def dfns_authenticator_factory(dfns_bootstrap: dict[str, Any]) -> Callable[..., Any]:
    """``make(kind="Key", **knobs)``: a virtual authenticator for the target's origin."""
    import virtual_authenticators as va

    def make(kind: str = "Key", *, username: str | None = None, password: str | None = None,
             **knobs: Any) -> Any:
        knobs.setdefault("origin", dfns_bootstrap.get("origin", "http://localhost:3000"))
        return va.authenticator_for(kind, username=username or _new_username(),
                                    password=password or uuid.uuid4().hex, **knobs)

    return make


@dataclass
class DfnsUser:
    """A registered, logged-in user; ``api`` calls as them and signs with ``authenticator``."""

    username: str
    userId: str  # noqa: N815 - the Dfns wire name
    token: str
    authenticator: Any
    api: Any
    registration: dict[str, Any]

    def __repr__(self) -> str:  # never print the token
        return f"DfnsUser(username={self.username!r}, userId={self.userId!r})"


@pytest.fixture
def dfns_user_factory(dfns_sa: Any,
                      dfns_authenticator_factory: Callable[..., Any]) -> Callable[..., DfnsUser]:
    """``make(kind="Key", username=None, user_kind="EndUser", **knobs)``: delegated
    registration by the service account, then a delegated login."""
    from scenarios.client import DfnsApi, delegated_login, register_delegated

    def make(kind: str = "Key", *, username: str | None = None, user_kind: str = "EndUser",
             **knobs: Any) -> DfnsUser:
        name = username or _new_username()
        if kind in ("PasswordProtectedKey", "RecoveryKey"):
            knobs["username"] = name
        device = dfns_authenticator_factory(kind, **knobs)
        result = register_delegated(dfns_sa, name, device, kind=user_kind)
        token = delegated_login(dfns_sa, name)
        api = DfnsApi(dfns_sa.http, token, device, dfns_sa.app_id)
        return DfnsUser(username=name, userId=str(result["user"]["id"]), token=token,
                        authenticator=device, api=api, registration=result)

    return make
