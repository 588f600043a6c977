"""``dfns-sim scenario list`` / ``dfns-sim scenario run NAME [--target URL --bootstrap FILE]``
/ ``dfns-sim scenario matrix``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from conformance.registry import CHALLENGES, KINDS, NOT_APPLICABLE


def pending(info: Any, routes: set[tuple[str, str]] | None) -> list[str]:
    if routes is None:
        return []
    return [" ".join(r) for r in info.routes if r not in routes]


def served_routes() -> set[tuple[str, str]]:
    from simulator.http.routes import ALL_TABLES

    return {(r.method, r.path) for t in ALL_TABLES for r in t.routes}


def render_matrix(markdown: bool = True) -> str:
    from scenarios.library import matrix

    cells = matrix()
    lines = ["| challenge \\ kind | " + " | ".join(KINDS) + " |",
             "|---|" + "---|" * len(KINDS)]
    for challenge in CHALLENGES:
        row = []
        for kind in KINDS:
            if (challenge, kind) in NOT_APPLICABLE:
                row.append("n/a")
            else:
                names = cells.get((challenge, kind), [])
                row.append(f"{len(names)} ({', '.join(names[:2])}{'…' if len(names) > 2 else ''})"
                           if names else "**EMPTY**")
        lines.append(f"| {challenge} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def _list(args: argparse.Namespace) -> int:
    from scenarios.library import SCENARIOS

    routes = served_routes()
    for info in SCENARIOS.values():
        missing = pending(info, routes)
        flag = f"  [pending-on-route: {', '.join(missing)}]" if missing else ""
        sim = "  [reads e-mail: in-process or a dfns-sim target]" if info.needs_sim else ""
        print(f"{info.name:40} {info.summary}{flag}{sim}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from scenarios.library import SCENARIOS
    from scenarios.stage import Stage

    info = SCENARIOS.get(args.name)
    if info is None:
        print(f"unknown scenario {args.name!r}; see `dfns-sim scenario list`", file=sys.stderr)
        return 2
    if args.target and args.target != "inprocess":
        if not args.bootstrap:
            print("--target URL needs --bootstrap FILE (dfns-sim serve --bootstrap-out FILE)",
                  file=sys.stderr)
            return 2
        from scenarios.client import probe_target

        stage = Stage.remote(args.target, args.bootstrap)
        # before it registers anybody there: one line for each reason it cannot run
        problem = probe_target(args.target, stage.boot, source=args.bootstrap)
        if problem is None and info.needs_sim:
            problem = stage.mail_problem()
        if problem is not None:
            print(f"scenario {info.name}: {problem}", file=sys.stderr)
            return 2
    else:
        stage = Stage.inprocess()
    print(f"scenario {info.name}: {info.summary}")
    try:
        info.fn(stage)
    except Exception as exc:  # noqa: BLE001 - report the failing step and exit non-zero
        print(f"  FAILED after step {len(stage.steps)}: {type(exc).__name__}: {exc}")
        return 1
    print(f"  done: {len(stage.steps)} steps")
    return 0


def _matrix(args: argparse.Namespace) -> int:
    print(render_matrix())
    return 0


def add_commands(sub: Any) -> None:
    scen = sub.add_parser("scenario", help="list, run and map the scripted end-to-end scenarios")
    inner = scen.add_subparsers(dest="scenario_command", required=True)
    inner.add_parser("list", help="list the scenarios").set_defaults(func=_list)
    inner.add_parser("matrix",
                     help="challenge x kind coverage (markdown)").set_defaults(func=_matrix)
    run = inner.add_parser("run", help="run one scenario, printing each step")
    run.add_argument("name")
    run.add_argument("--target", default="inprocess", help="'inprocess' or a base URL")
    run.add_argument("--bootstrap", default=None, help="bootstrap JSON for --target URL")
    run.set_defaults(func=_run)
