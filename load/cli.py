"""The ``dfns-sim load`` and ``dfns-sim bench`` subcommands (registered by simulator/cli.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _load(args: argparse.Namespace) -> int:
    from load.runner import run

    summary = run(args.profile, users=args.users, spawn_rate=args.spawn_rate,
                  run_time=args.run_time, shape=args.shape, processes=args.processes,
                  master_workers=args.master_workers, max_requests=args.max_requests,
                  server_workers=args.server_workers, out_dir=args.out)
    if summary["requests"] == 0:  # a run that measured nothing did not pass
        print("dfns-sim load: no request was recorded; see locust.log in the report folder",
              file=sys.stderr)
        return 1
    return 0 if summary["failures"] == 0 and summary["exit_code"] == 0 else 1


def _bench(args: argparse.Namespace) -> int:
    from load.bench import main

    return main(args)


def add_commands(sub: Any) -> None:
    from load.common import SHAPE_NAMES  # not load.shapes: importing locust patches sockets
    from load.runner import PROFILES
    from simulator import cli_types

    load = sub.add_parser(
        "load", help="run a Locust profile headless against a loopback dfns-sim serve",
        description="Starts dfns-sim serve on a free loopback port, runs PROFILE with Locust "
                    "(headless, bounded), writes reports/load/PROFILE/ (HTML, CSV, summary, "
                    "latency picture).")
    load.add_argument("profile", choices=sorted(PROFILES))
    load.add_argument("--users", "-u", type=cli_types.positive_int, default=10,
                      help="peak concurrent users")
    load.add_argument("--spawn-rate", "-r", type=cli_types.positive_float, default=None,
                      help="users started per second")
    load.add_argument("--run-time", "-t", type=cli_types.run_time, default="20s",
                      help="bounded run time (20s, 2m, ...)")
    load.add_argument("--shape", choices=SHAPE_NAMES, default=None,
                      help="load shape over the run (default: constant users)")
    generators = load.add_mutually_exclusive_group()
    generators.add_argument("--processes", type=cli_types.non_negative_int, default=0,
                            help="Locust --processes N (forked load-generator processes)")
    generators.add_argument("--master-workers", type=cli_types.non_negative_int, default=0,
                            metavar="N",
                            help="distributed Locust on loopback: one --master and N --worker "
                                 "processes")
    load.add_argument("--server-workers", type=cli_types.positive_int, default=1,
                      help="dfns-sim serve --workers N (shared SQLite state)")
    load.add_argument("--max-requests", type=cli_types.positive_int, default=200_000,
                      help="stop each Locust process after this many requests")
    load.add_argument("--out", default=None, help="report folder (default reports/load/PROFILE)")
    load.set_defaults(func=_load)

    bench = sub.add_parser("bench",
                           help="P1-P4 performance ratios; writes reports/bench/bench.{json,md}")
    bench.add_argument("--quick", action="store_true", help="short rounds (a smoke run, noisy)")
    bench.add_argument("--out", default="reports/bench", help="report folder")
    bench.add_argument("--only", default="P1,P2,P3,P4", help="comma-separated subset, e.g. P1,P4")
    bench.set_defaults(func=_bench)
