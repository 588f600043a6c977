"""The ``dfns-sim load`` and ``dfns-sim bench`` subcommands (registered by simulator/cli.py)."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any


def _load(args: argparse.Namespace) -> int:
    from load.runner import Interrupted, run

    try:
        summary = run(args.profile, users=args.users, spawn_rate=args.spawn_rate,
                      run_time=args.run_time, shape=args.shape, processes=args.processes,
                      master_workers=args.master_workers, max_requests=args.max_requests,
                      server_workers=args.server_workers, bootstrap=args.bootstrap,
                      out_dir=args.out)
    except Interrupted as stopped:  # Locust and the server are stopped already: say where to look
        where = (f"partial report in {stopped.out}" if stopped.summary is not None
                 else "no report (stopped before Locust started)")
        verb = "interrupted" if stopped.signum == signal.SIGINT else "terminated"
        print(f"dfns-sim: {verb}; {where}", file=sys.stderr)
        return stopped.exit_code
    if summary["requests"] == 0:  # a run that measured nothing did not pass
        print("dfns-sim load: no request was recorded; see locust.log in the report folder",
              file=sys.stderr)
        return 1
    return 0 if summary["failures"] == 0 and summary["exit_code"] == 0 else 1


BENCH_STEPS = ("P1", "P2", "P3", "P4")


def bench_steps(text: str) -> str:
    """``bench --only``: a comma-separated subset of P1-P4, as ``P1,P4``. Checked by argparse,
    before anything runs: an unknown entry would otherwise measure nothing and still overwrite
    the reports."""
    parts = [part.strip() for part in text.split(",")]
    parts = [part for part in parts if part] or [""]  # "P3," is P3; "" alone is an error
    unknown = [part for part in parts if part.upper() not in BENCH_STEPS]
    if unknown:
        entries = "entry" if len(unknown) == 1 else "entries"
        raise argparse.ArgumentTypeError(
            f"unknown {entries} {', '.join(map(repr, unknown))}; choose from "
            f"{', '.join(BENCH_STEPS)} (comma-separated)")
    return ",".join(dict.fromkeys(part.upper() for part in parts))


def _bench(args: argparse.Namespace) -> int:
    from load.bench import main

    return main(args)


def add_commands(sub: Any) -> None:
    from load.common import SHAPE_NAMES  # not load.shapes: importing locust patches sockets
    from load.runner import PROFILES
    from simulator import cli_types

    load = sub.add_parser(
        "load", help="run a Locust profile headless against a loopback dfns-sim serve",
        description="Starts dfns-sim serve on a free loopback port (or drives one already "
                    "running: --bootstrap), runs PROFILE with Locust (headless, bounded), "
                    "writes reports/load/PROFILE/ (HTML, CSV, summary, latency picture).")
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
    servers = load.add_mutually_exclusive_group()
    servers.add_argument("--server-workers", type=cli_types.positive_int, default=1,
                         help="dfns-sim serve --workers N (shared SQLite state)")
    servers.add_argument("--bootstrap", metavar="FILE", default=None,
                         help="drive the dfns-sim serve already running that wrote this "
                              "--bootstrap-out file (started with your own options) instead "
                              "of starting one; it is left running")
    load.add_argument("--max-requests", type=cli_types.positive_int, default=200_000,
                      help="stop each Locust process after this many requests")
    load.add_argument("--out", default=None, help="report folder (default reports/load/PROFILE)")
    load.set_defaults(func=_load)

    bench = sub.add_parser("bench",
                           help="P1-P4 performance ratios; writes reports/bench/bench.{json,md}")
    bench.add_argument("--quick", action="store_true", help="short rounds (a smoke run, noisy)")
    bench.add_argument("--out", default="reports/bench", help="report folder")
    bench.add_argument("--only", type=bench_steps, default=",".join(BENCH_STEPS),
                       help="comma-separated subset, e.g. P1,P4")
    bench.set_defaults(func=_bench)
