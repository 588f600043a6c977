"""``dfns-sim`` command line: serve the simulator over HTTP (more subcommands join later)."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulator import cli_types


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def admin_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Simulator keywords for the admin API (/_sim/): on by default on loopback; bound
    elsewhere, only with --admin-token (otherwise off, with a warning)."""
    token = getattr(args, "admin_token", None) or None
    enabled = not getattr(args, "no_admin", False)
    if enabled and token is None and not is_loopback(args.host):
        print(f"dfns-sim: warning: admin API (/_sim/) disabled: --host {args.host} is not loopback "
              "and no --admin-token was given", file=sys.stderr, flush=True)
        enabled = False
    return {"admin": enabled, "admin_token": token,
            "journal_size": getattr(args, "journal_size", 500)}


def _store_url(text: str) -> str:
    if not text.startswith(("sqlite:///", "redis://", "rediss://", "unix://")):
        raise argparse.ArgumentTypeError(
            f"must be sqlite:///FILE or redis://HOST:PORT/DB, not {text!r}")
    return text


def retention_settings(args: argparse.Namespace) -> dict[str, Any]:
    """``expired_retention`` (--keep-expired / --expired-retention, services/housekeeping) and
    ``audit_max_entries`` (--keep-audit / --audit-max-entries, services/audit)."""
    settings: dict[str, Any] = {}
    if getattr(args, "keep_expired", False):
        settings["expired_retention"] = None
    elif getattr(args, "expired_retention", None) is not None:
        settings["expired_retention"] = float(args.expired_retention)
    if getattr(args, "keep_audit", False):
        settings["audit_max_entries"] = None
    elif getattr(args, "audit_max_entries", None) is not None:
        settings["audit_max_entries"] = int(args.audit_max_entries)
    return settings


def check_port(host: str, port: int) -> None:
    """Fail before any state is touched when the address cannot be served: a second ``serve``
    on a busy port must not rewrite the running server's bootstrap file or shared clock."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(exc.errno, f"cannot resolve the host ({exc.strerror})", host) from None
    for family, kind, proto, _, address in dict.fromkeys(infos):  # every address uvicorn binds
        shown = f"[{address[0]}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            if family == socket.AF_INET6:  # as asyncio binds: :: does not take 0.0.0.0 too
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise OSError(exc.errno, f"cannot listen there ({exc.strerror})",
                              shown) from None


def write_bootstrap(path: str, boot: dict[str, Any]) -> None:
    """Write the bootstrap identity so that a reader never sees it half written.

    Scripts wait for this file to appear and then read it; a plain write lets them read an
    empty or cut-off file in between. A sibling temporary renamed over the path is atomic.
    """
    target = Path(path)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        partial.write_text(json.dumps(boot, indent=2))
        os.replace(partial, target)
    except OSError as exc:  # name the file the user gave, not our temporary
        partial.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(target)) from None


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    if args.port == 0:  # report (and write to --bootstrap-out) the port really listened on
        import socket

        with socket.create_server((args.host, 0)) as probe:
            args.port = int(probe.getsockname()[1])
    else:
        check_port(args.host, args.port)
    # Several processes sharing one store (issue 7); also one process on a --store that other
    # hosts share, which must then share their clock and faults too: the same path.
    if getattr(args, "workers", 1) > 1 or getattr(args, "store", None):
        from simulator.multiworker import serve_workers

        return serve_workers(args)

    from simulator.simulator import Simulator

    store, state_note = None, ""
    if getattr(args, "state", None):
        # Persistent state (docs/persistence-and-hardening.md): a restart from the same file
        # keeps orgs, users, credentials, tokens, ...; the bootstrap is restored, not re-created.
        from simulator.persistence.sqlite_store import SqliteStore

        restored = Path(args.state).exists() and Path(args.state).stat().st_size > 0
        state_note = f", state {'restored from' if restored else 'kept in new file'} {args.state}"
        store = SqliteStore(args.state)
    sim = Simulator(rp_id=args.rp_id, origin=args.origin, seed=args.seed, store=store,
                    **admin_settings(args), **retention_settings(args))
    boot = dict(sim.bootstrap())
    boot["baseUrl"] = f"http://{args.host}:{args.port}"
    if args.bootstrap_out:
        write_bootstrap(args.bootstrap_out, boot)
    config = uvicorn.Config(sim.app, host=args.host, port=args.port, log_level=args.log_level,
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    print(f"dfns-sim serving on http://{args.host}:{args.port} (org {boot['orgId']}"
          f"{state_note})", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down: that is a stop
        pass
    return 0


def _rules(args: argparse.Namespace) -> int:
    """Every rule the simulator enforces that a test may switch off (TEST-ONLY mutants), with
    what it checks: the verification rules, then the service rules."""
    from simulator.services.rules import SERVICE_RULES
    from simulator.verification.policy import RULES

    for group in (RULES, SERVICE_RULES):
        for rule, what in group.items():
            if rule.startswith(args.prefix):
                print(f"{rule:34} {what}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dfns-sim", description="Dfns auth API simulator")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the simulator over HTTP (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=cli_types.port, default=8000,
                       help="TCP port (0: any free one)")
    serve.add_argument("--bootstrap-out", help="write the bootstrap identity (JSON) to this file")
    serve.add_argument("--rp-id", default="localhost")
    serve.add_argument("--origin", default="http://localhost:3000")
    serve.add_argument("--seed", type=int, default=None, help="deterministic ids and tokens")
    serve.add_argument("--log-level", default="warning",
                       choices=("critical", "error", "warning", "info", "debug", "trace"))
    where = serve.add_mutually_exclusive_group()
    where.add_argument("--state", metavar="FILE",
                       help="keep state in this SQLite file "
                            "(created if missing; restored on restart)")
    where.add_argument("--store", default=None, type=_store_url,
                       help="state in a store shared with other processes or hosts: "
                            "sqlite:///FILE or redis://HOST:PORT/DB (clock and faults shared too)")
    serve.add_argument("--workers", type=cli_types.positive_int, default=1,
                       help="uvicorn worker processes sharing one store "
                            "(--state, --store or a temp SQLite)")
    serve.add_argument("--admin-token", default=os.environ.get("DFNS_SIM_ADMIN_TOKEN") or None,
                       help="require 'Authorization: Bearer TOKEN' on /_sim/ (needed to enable the "
                            "admin API on a non-loopback host; env DFNS_SIM_ADMIN_TOKEN)")
    serve.add_argument("--no-admin", action="store_true",
                       help="serve no admin API (/_sim/ answers 404 except /_sim/health)")
    serve.add_argument("--journal-size", type=cli_types.non_negative_int, default=500,
                       help="how many requests the /_sim/journal ring buffer keeps")
    retention = serve.add_mutually_exclusive_group()
    retention.add_argument("--expired-retention", type=cli_types.non_negative_seconds,
                           metavar="SECONDS",
                           help="drop challenges, user-action records and one-time codes this "
                                "long after they expired (default 900)")
    retention.add_argument("--keep-expired", action="store_true",
                           help="never drop expired challenges, user actions and codes")
    audit_retention = serve.add_mutually_exclusive_group()
    audit_retention.add_argument("--audit-max-entries", type=cli_types.positive_int, metavar="N",
                                 help="keep the newest N audit-log entries per org, dropping the "
                                      "oldest (default 100000)")
    audit_retention.add_argument("--keep-audit", action="store_true",
                                 help="never drop audit-log entries")
    serve.set_defaults(func=_serve)
    rules = sub.add_parser("rules", help="list the rule ids that --dfns-disable-rules and "
                                         "SimulatorConfig(disabled_rules=...) accept")
    rules.add_argument("prefix", nargs="?", default="", help="only ids starting with this")
    rules.set_defaults(func=_rules)
    from load.cli import add_commands as add_load_commands  # dfns-sim load / bench (issue 7)

    add_load_commands(sub)
    from conformance.cli import add_commands as add_qa_commands  # conformance / demo (issue 6)
    from scenarios.cli import add_commands as add_scenario_commands  # scenario (issue 6)

    add_qa_commands(sub)
    add_scenario_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["conformance"]:  # unknown arguments pass through to pytest
            from conformance.cli import main_conformance

            return main_conformance(argv[1:])
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except (OSError, sqlite3.Error, json.JSONDecodeError) as exc:
        # A path that cannot be written, a state file that cannot be opened, a bootstrap file
        # that is not JSON, an address already in use: one line saying so, not a traceback.
        if isinstance(exc, BrokenPipeError):  # `dfns-sim scenario list | head`
            sys.stderr.close()
            return 0
        print(f"dfns-sim: error: {_describe(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dfns-sim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if type(exc).__module__.split(".")[0] == "redis":  # --store redis://… unreachable
            print(f"dfns-sim: error: the Redis store: {exc}", file=sys.stderr)
            return 2
        raise


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc}: {exc.filename}"
    if isinstance(exc, json.JSONDecodeError):
        return f"not a JSON file ({exc.msg} at line {exc.lineno})"
    return str(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
