"""``dfns-sim bench`` (``make bench``): the P1–P4 ratios against the physical limits, one run.

- **P1** core verification (no HTTP) ÷ bare ``cryptography`` verify of the same signature, per
  key type and for a Fido2 ES256 assertion (load/bench_verification.py, interleaved rounds).
- **P2** ``POST /auth/action`` on one uvicorn worker ÷ a bare Starlette endpoint that parses the
  same JSON and verifies the same P-256 signature (load/bare_server.py). Same generator
  (load/loadgen.py: raw keep-alive sockets in several processes), same bodies, rounds
  alternated. The generator's own ceiling (GET /ping on the bare app) is reported alongside.
- **P3** whole hot-path flows/s (init → sign → /auth/action → /auth/credentials/code) on one
  worker, median and spread over rounds; then ``--workers 2`` ÷ ``--workers 1`` on the shared
  SQLite store (and ÷ the in-memory single worker).
- **P4** ``sim.client()`` ÷ Starlette's ``TestClient`` on the same call (POST /auth/action/init).
- A cProfile of the server side of in-process hot-path flows (top functions) goes to
  reports/bench/profile.txt.

Figures depend on the machine and on what else runs on it: compare ratios, measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from load.bench.http_vs_bare import p2
from load.bench.inprocess import p1, p4, profile, testclient_class
from load.bench.report import TARGETS, markdown, verdicts
from load.bench.scaling import lock_waits, p3, scaling_bound
from load.cli import BENCH_STEPS, bench_steps

__all__ = ["TARGETS", "lock_waits", "main", "markdown", "scaling_bound", "testclient_class",
           "verdicts"]


def main(args: argparse.Namespace | None = None) -> int:
    if args is None or not hasattr(args, "quick"):
        parser = argparse.ArgumentParser(description="P1-P4 benchmark")
        parser.add_argument("--quick", action="store_true")
        parser.add_argument("--out", default="reports/bench")
        parser.add_argument("--only", type=bench_steps, default=",".join(BENCH_STEPS))
        args = parser.parse_args(None if args is None else [])
    only = set(bench_steps(args.only).split(","))  # a caller's own Namespace is checked too
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # One generator process per core (at least 2, at most 4): more processes than cores only
    # adds context switches that the server pays for (measured on 2 cores: 4 generators gave
    # ~20 % fewer flows/s than 2).
    generators = max(2, min(4, os.cpu_count() or 2))
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M"),
                              "python": platform.python_version(),
                              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                              "load_average": os.getloadavg()[0], "targets": TARGETS}
    with tempfile.TemporaryDirectory(prefix="dfns-bench-") as tmp_name:
        tmp = Path(tmp_name)
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("P1", lambda: p1(args.quick)), ("P2", lambda: p2(tmp, args.quick, generators)),
            ("P3", lambda: p3(tmp, args.quick, generators)), ("P4", lambda: p4(args.quick))]
        for name, step in steps:
            if name in only:
                print(f"measuring {name} ...", flush=True)
                report[name] = step()
    report["profile_top"] = profile(out, 100 if args.quick else 300)
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (out / "bench.md").write_text(text)
    print(text)
    print(f"wrote {out / 'bench.json'}, {out / 'bench.md'}, {out / 'profile.txt'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
