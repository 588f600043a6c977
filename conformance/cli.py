"""``dfns-sim conformance`` (run the suite, pytest arguments pass through) and ``dfns-sim demo``
(the README main job: the whole suite in-process, then every report under reports/out/)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPORTS_DIR = Path(__file__).resolve().parent.parent / "reports"


def _pytest_command(args: argparse.Namespace, out: Path | None, extra: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "conformance",
           "-q", "--no-header", "-o", "console_output_style=progress"]
    workers = getattr(args, "workers", None)
    if workers and workers != "0":
        cmd += ["-n", str(workers)]
    if args.target and args.target != "inprocess":
        cmd += ["--dfns-target", args.target]
        if args.bootstrap:
            cmd += ["--dfns-bootstrap", args.bootstrap]
    if out is not None:
        cmd += ["--junitxml", str(out / "junit.xml"), "--alluredir", str(out / "allure-results"),
                "--clean-alluredir", "--dfns-summary", str(out / "summary.html")]
    return cmd + extra


def _check_target(args: argparse.Namespace) -> str | None:
    """Why the run cannot start (checked once here, not failed again by every test)."""
    workers = str(getattr(args, "workers", "0"))
    if workers != "auto" and not workers.isdigit():
        return f"--workers must be a whole number >= 0 or 'auto', not {workers!r}"
    if args.target and args.target != "inprocess":
        if not args.bootstrap:
            return "--target URL needs --bootstrap FILE (dfns-sim serve --bootstrap-out FILE)"
        try:
            boot = json.loads(Path(args.bootstrap).read_text())
        except (OSError, ValueError) as exc:
            return f"cannot read --bootstrap {args.bootstrap}: {exc}"
        if not isinstance(boot, dict) or "serviceAccount" not in boot:
            return f"--bootstrap {args.bootstrap} is not a dfns-sim bootstrap file"
        from scenarios.client import probe_target

        # one authenticated read before any check: a server that is down or a bootstrap file
        # from another server is one line here, not the same failure in every check
        return probe_target(args.target, boot, source=args.bootstrap)
    return None


def run_conformance(args: argparse.Namespace, extra: list[str]) -> int:
    problem = _check_target(args)
    if problem is not None:
        print(f"dfns-sim conformance: error: {problem}", file=sys.stderr)
        return 2
    out = Path(args.out).resolve() if args.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    return subprocess.call(_pytest_command(args, out, extra), cwd=Path.cwd(), env=_probed(args))


def _probed(args: argparse.Namespace) -> dict[str, str]:
    """The pytest run's environment, telling it the target was probed here already."""
    from simulator.pytest_plugin import PROBED_ENV

    env = dict(os.environ)
    if args.target and args.target != "inprocess":
        env[PROBED_ENV] = args.target
    return env


def allure_binary() -> Path | None:
    candidate = REPORTS_DIR / "node_modules" / ".bin" / "allure"
    return candidate if candidate.exists() else None


def build_allure_html(results: Path, report: Path) -> str:
    """Build the static Allure report offline (allure-commandline 2.x bundles its jar)."""
    binary = allure_binary()
    if binary is None:
        return ("skipped: run `npm install --no-save --prefix reports` (allure-commandline) "
                "once to enable it")
    env = dict(os.environ)
    env.setdefault("JAVA_TOOL_OPTIONS", "-Xss4m")
    completed = subprocess.run([str(binary), "generate", str(results), "-o", str(report),
                                "--clean"], capture_output=True, text=True, env=env)
    if completed.returncode != 0:
        return f"failed: {completed.stderr.strip()[:300]}"
    return "ok"


def _closing(out: Path, rc: int, seconds: float, allure: str) -> None:
    summary_json = out / "summary.json"
    if not summary_json.exists():
        print(f"\nno summary written (pytest exit code {rc})")
        return
    data: dict[str, Any] = json.loads(summary_json.read_text())
    results = data["results"]
    from collections import Counter

    outcomes = Counter(r["outcome"] for r in results)
    split = Counter(r["expect"] for r in results)
    groups = Counter(r["group"] for r in results)
    print("\n" + "=" * 72)
    print(f" {len(results)} checks ({split['P']} P / {split['F']} F): {outcomes['passed']} passed, "
          f"{outcomes['failed']} failed, {outcomes['skipped']} skipped — suite wall time "
          f"{data['wallSeconds']:.1f} s (total {seconds:.1f} s)")
    print(" per group: " + ", ".join(f"{g} {n}" for g, n in sorted(groups.items())))
    for r in [r for r in results if r["outcome"] == "failed"][:20]:
        print(f"  FAILED {r['id']}: {r['rule']} — {r['message'][:160]}")
    print(f" Allure HTML: {allure}")
    print(f" exit code {rc} ({'PASS' if rc == 0 else 'FAIL'})")
    print("=" * 72)


def demo(args: argparse.Namespace) -> int:
    problem = _check_target(args)
    if problem is not None:
        print(f"dfns-sim demo: error: {problem}", file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    print("dfns-sim demo — the Dfns auth conformance suite against the embedded simulator")
    print(f"  reports will be written to {out}/")
    for name, what in [("summary.html", "one-page summary (open in a browser, no server needed)"),
                       ("allure-report/index.html", "Allure HTML report"),
                       ("junit.xml", "JUnit XML (one testcase per check id)"),
                       ("allure-results/", "raw Allure results")]:
        print(f"    {out / name}  — {what}")
    print(flush=True)
    start = time.time()
    rc = subprocess.call(_pytest_command(args, out, []), env=_probed(args))
    allure = build_allure_html(out / "allure-results", out / "allure-report")
    if allure == "ok":
        allure = str(out / "allure-report" / "index.html")
    _closing(out, rc, time.time() - start, allure)
    return rc


PASS_THROUGH = ("Any other argument goes to pytest as is, e.g. -k REG-KEY, -x, or "
                "--dfns-disable-rules RULE[,RULE] (TEST-ONLY: show which checks turn red).")


def _conformance_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--target", default="inprocess", help="'inprocess' or a base URL")
    parser.add_argument("--bootstrap", default=None, help="bootstrap JSON for --target URL")
    parser.add_argument("--workers", default="2", help="pytest-xdist workers (0: none)")
    parser.add_argument("--out", default=None,
                        help="write junit.xml, allure-results, summary.html here")
    return parser


def add_commands(sub: Any) -> None:
    conf = _conformance_options(sub.add_parser(
        "conformance", help="run the conformance suite (extra args go to pytest)",
        description="Run the numbered conformance checks.", epilog=PASS_THROUGH))
    conf.set_defaults(func=None, _conformance=True)

    dem = sub.add_parser("demo", help="the main job: whole suite in-process + every report")
    dem.add_argument("--out", default=str(REPORTS_DIR / "out"))
    dem.add_argument("--workers", default="2")
    dem.add_argument("--target", default="inprocess")
    dem.add_argument("--bootstrap", default=None)
    dem.set_defaults(func=demo)


def main_conformance(argv: list[str]) -> int:
    """``dfns-sim conformance`` lets unknown arguments through to pytest."""
    parser = _conformance_options(argparse.ArgumentParser(
        prog="dfns-sim conformance", description="Run the numbered conformance checks.",
        epilog=PASS_THROUGH))
    args, extra = parser.parse_known_args(argv)
    return run_conformance(args, extra)
