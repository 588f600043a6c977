"""``dfns-sim`` command line: serve the simulator over HTTP (more subcommands join later)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from simulator.simulator import Simulator

    sim = Simulator(rp_id=args.rp_id, origin=args.origin, seed=args.seed)
    boot = dict(sim.bootstrap())
    boot["baseUrl"] = f"http://{args.host}:{args.port}"
    if args.bootstrap_out:
        Path(args.bootstrap_out).write_text(json.dumps(boot, indent=2))
    config = uvicorn.Config(sim.app, host=args.host, port=args.port, log_level=args.log_level,
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    print(f"dfns-sim serving on http://{args.host}:{args.port} (org {boot['orgId']})", flush=True)
    server.run()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dfns-sim", description="Dfns auth API simulator")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the simulator over HTTP (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--bootstrap-out", help="write the bootstrap identity (JSON) to this file")
    serve.add_argument("--rp-id", default="localhost")
    serve.add_argument("--origin", default="http://localhost:3000")
    serve.add_argument("--seed", type=int, default=None, help="deterministic ids and tokens")
    serve.add_argument("--log-level", default="warning")
    serve.set_defaults(func=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
