"""pytest plugin ``dfns_conformance`` (entry point pytest11).

Run the suite with ``pytest --pyargs conformance`` (the plugin loads by its entry point; with
autoloading off, ``-p dfns_conformance``) or ``dfns-sim conformance``. Target:
``--dfns-target inprocess`` (default) or ``--dfns-target URL --dfns-bootstrap FILE``. Both
this plugin and simulator/pytest_plugin.py (``dfns_sim``) register those two options,
whichever loads first (the other sees them and skips), so either plugin works alone. Also:
Allure labels and steps per HTTP exchange, stable JUnit names, a progress line, and the
one-page summary (``--dfns-summary FILE``).
"""

from __future__ import annotations

import difflib
import json
import os
import time
from pathlib import Path
from typing import Any, cast

import pytest

from conformance.registry import Check
from conformance.runner import judge
from conformance.target import Ctx, Target
from simulator.pytest_plugin import check_target_options, option_registered


def _add_option(group: Any, parser: pytest.Parser, *names: str, **kwargs: Any) -> None:
    try:
        group.addoption(*names, **kwargs)
    except ValueError:  # already registered (simulator/pytest_plugin.py)
        pass


@pytest.hookimpl(trylast=True)  # after simulator/pytest_plugin.py when both load together
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dfns_conformance", "Dfns conformance suite")
    if not option_registered(parser, "--dfns-target"):  # dfns_sim may have added them
        _add_target_options(group, parser)
    _add_option(group, parser, "--dfns-summary", default=None,
                help="write the one-page HTML summary (and a JSON next to it) here")
    _add_option(group, parser, "--dfns-progress", action="store_true", default=False,
                help="show a one-line progress indicator")
    _add_option(group, parser, "--dfns-disable-rules", default="",
                help="TEST-ONLY: comma-separated verification rule ids to switch off "
                     "(mutation proof)")


def _add_target_options(group: Any, parser: pytest.Parser) -> None:
    _add_option(group, parser, "--dfns-target", default="inprocess",
                help="'inprocess' (embedded simulator, default) or the base URL of an "
                     "implementation")
    _add_option(group, parser, "--dfns-bootstrap", default=None,
                help="bootstrap JSON for --dfns-target URL (dfns-sim serve --bootstrap-out FILE)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dfns_check(id): a numbered conformance check")
    config._dfns_results = []  # type: ignore[attr-defined]
    config._dfns_start = time.time()  # type: ignore[attr-defined]
    config._dfns_progress = [0, 0, 0]  # type: ignore[attr-defined]
    # Bad options are one usage error before collection, not the same error in every check.
    try:
        config._dfns_disabled_rules = disabled_rules(  # type: ignore[attr-defined]
            _option(config, "--dfns-disable-rules", ""))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if not config.pluginmanager.has_plugin("dfns_sim"):  # else simulator/pytest_plugin.py does
        check_target_options(config)


def disabled_rules(value: str | None) -> frozenset[str]:
    """``--dfns-disable-rules a,b``: the rule ids, or ValueError naming the unknown ones."""
    from simulator.verification.policy import all_rule_ids

    rules = frozenset(part.strip() for part in (value or "").split(",") if part.strip())
    known = all_rule_ids()
    unknown = sorted(rules - known)
    if not unknown:
        return rules
    named = [f"{rule} (did you mean {close[0]}?)"
             if (close := difflib.get_close_matches(rule, sorted(known), n=1)) else rule
             for rule in unknown]
    raise ValueError(f"--dfns-disable-rules: unknown rule ids: {', '.join(named)}; "
                     "`dfns-sim rules` lists the valid ones")


def _option(config: pytest.Config, name: str, default: Any = None) -> Any:
    try:
        return config.getoption(name)
    except ValueError:
        return default


@pytest.fixture(scope="session")
def dfns_target(pytestconfig: pytest.Config) -> Target:
    spec = _option(pytestconfig, "--dfns-target", "inprocess") or "inprocess"
    policy = None
    disabled: frozenset[str] = getattr(pytestconfig, "_dfns_disabled_rules", frozenset())
    if disabled:
        from simulator.verification.policy import VerificationPolicy

        policy = VerificationPolicy(disabled_rules=disabled)
    return Target(spec, _option(pytestconfig, "--dfns-bootstrap"), policy=policy)


def _attach_exchanges(ctx: Ctx) -> None:
    try:
        import allure
    except ImportError:  # pragma: no cover
        return
    for exchange in ctx.exchanges:
        with allure.step(exchange.title()):
            allure.attach(exchange.request_text(), "request", allure.attachment_type.TEXT)
            body_type = (allure.attachment_type.JSON if exchange.response_body.startswith("{")
                         else allure.attachment_type.TEXT)
            allure.attach(exchange.response_body, "response", body_type)


def _label(check: Check) -> None:
    try:
        import allure
    except ImportError:  # pragma: no cover
        return
    allure.dynamic.id(check.id)
    allure.dynamic.epic(check.epic)
    allure.dynamic.feature(f"{check.group} {check.feature}")
    for challenge, kind in check.cells:
        allure.dynamic.story(f"{challenge} x {kind}")
    allure.dynamic.title(f"{check.id} {check.rule}")
    expectation = ("must succeed" if check.expect == "P" else
                   f"must be rejected with {check.status} {check.message or ''}")
    allure.dynamic.description(f"{check.rule}\n\n{check.expect}: {expectation}\n\n"
                               f"Spec: {check.section}")
    allure.dynamic.tag(check.expect, check.group)


@pytest.fixture
def dfns_run_check(request: pytest.FixtureRequest, dfns_target: Target) -> Any:
    def run(check: Check) -> None:
        props = request.node.user_properties
        props.extend([("dfns_id", check.id), ("dfns_group", check.group),
                      ("dfns_expect", check.expect), ("dfns_rule", check.rule),
                      ("dfns_cells", json.dumps(check.cells))])
        _label(check)
        if "sim" in check.needs and not dfns_target.is_simulator:
            pytest.skip("needs simulator-only controls (clock / outbox / faults)")
        if not dfns_target.has_routes(check.routes):
            pytest.skip("pending-on-route: " + ", ".join(" ".join(r) for r in check.routes))
        ctx = dfns_target.new_ctx()
        try:
            try:
                result = check.fn(ctx)
                judge(check, result)
            finally:
                if ctx.exchanges:
                    last = ctx.exchanges[-1]
                    props.append(("dfns_observed", f"{last.title()} {last.response_body[:300]}"))
                _attach_exchanges(ctx)
        finally:
            ctx.close()
    return run


# -- progress, results, summary (controller side: works with and without xdist) ----------------
def pytest_collection_finish(session: pytest.Session) -> None:
    session.config._dfns_progress[2] = len(session.items)  # type: ignore[attr-defined]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    props = dict(report.user_properties)
    if "dfns_id" not in props:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        config = _CONFIG.get("config")
        if config is None or hasattr(config, "workerinput"):
            return
        outcome = report.outcome
        message = ""
        if report.failed and report.longrepr is not None:
            crash = getattr(report.longrepr, "reprcrash", None)
            message = str(crash and crash.message or report.longrepr)[:600]
        if report.skipped and isinstance(report.longrepr, tuple):
            message = str(report.longrepr[2])
        cells = cast(str, props["dfns_cells"])  # json.dumps(check.cells), set by the fixture
        config._dfns_results.append({  # type: ignore[attr-defined]
            "id": props["dfns_id"], "group": props["dfns_group"], "expect": props["dfns_expect"],
            "rule": props["dfns_rule"], "cells": json.loads(cells),
            "outcome": outcome, "message": message, "observed": props.get("dfns_observed", ""),
            "duration": report.duration})
        progress = config._dfns_progress  # type: ignore[attr-defined]
        progress[0] += 1
        if report.failed:
            progress[1] += 1
        if _option(config, "--dfns-progress", False):
            total = progress[2] or 0
            done = progress[0]
            width = 30
            filled = int(width * done / total) if total else 0
            line = (f"\r  conformance [{'#' * filled}{'.' * (width - filled)}] "
                    f"{done}/{total} checks, {progress[1]} failed ")
            os.write(2, line.encode())


_CONFIG: dict[str, pytest.Config] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG["config"] = session.config


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput"):  # an xdist worker: the controller writes the summary
        return
    if _option(config, "--dfns-progress", False):
        os.write(2, b"\n")
    target = _option(config, "--dfns-summary")
    if not target:
        return
    from reports.summary import write_summary

    results = config._dfns_results  # type: ignore[attr-defined]
    write_summary(Path(target), results, started=config._dfns_start,  # type: ignore[attr-defined]
                  finished=time.time(), target=_option(config, "--dfns-target", "inprocess"),
                  workers=_option(config, "numprocesses", None))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Rename JUnit testcases to their check ids (stable names) once LogXML has written."""
    xml_path = _option(config, "--junitxml") or _option(config, "xmlpath")
    if hasattr(config, "workerinput") or not xml_path or not Path(xml_path).exists():
        return
    from reports.junit import rename_testcases

    rename_testcases(Path(xml_path))
