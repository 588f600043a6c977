"""``dfns-sim serve --workers N``: N uvicorn worker processes sharing one persistent store.

The parent process opens the shared store, creates (or restores) the default org, the JWT
secret and the bootstrap identity — the store's ``meta`` table keeps them — and writes the
bootstrap file. uvicorn then spawns N workers; each calls :func:`create_app`, which builds its
own ``Simulator(store=<same store>)`` and so reads the same org, secret and bootstrap back. Every
single-use rule holds across workers because the store's ``transaction()`` is atomic across
processes (SQLite ``BEGIN IMMEDIATE``; Redis: one lock, then ``MULTI``/``EXEC``). The simulated
clock and the faults are shared through the store too (:mod:`simulator.admin.shared`); each
worker keeps its own request journal, and reads its siblings' through
:mod:`simulator.admin.journal_peers`.

Store URLs: ``sqlite:///path/to/state.sqlite`` (one machine, WAL) or ``redis://host:port/db``
(several machines: run ``dfns-sim serve --workers N --store redis://...`` on each host).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from simulator.admin.journal_peers import MAX_DIRECTORY_LENGTH, PEERS_ENV, JournalPeers

STORE_ENV = "DFNS_SIM_WORKER_STORE"
SETTINGS_ENV = "DFNS_SIM_WORKER_SETTINGS"


def open_store(url: str) -> Any:
    """A shared store from a URL (``sqlite:///file``, a bare path, or ``redis://...``)."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        from simulator.persistence.redis_store import RedisStore

        return RedisStore(url)
    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else url
    from simulator.persistence.sqlite_store import SqliteStore

    # Measured: queueing writers on an extra flock before BEGIN IMMEDIATE was ~10 % slower
    # than SQLite's own busy handler (3 processes, 2 cores), so the store is used as is.
    return SqliteStore(path)


def _settings() -> dict[str, Any]:
    return json.loads(os.environ.get(SETTINGS_ENV, "{}"))


def create_app() -> Any:
    """uvicorn factory, called once in every worker process."""
    from simulator.simulator import Simulator

    url = os.environ.get(STORE_ENV)
    if not url:
        raise RuntimeError(f"{STORE_ENV} is not set: start workers with dfns-sim serve --workers N")
    sim = Simulator(store=open_store(url), **_settings())
    sim.bootstrap()  # restored from the store's meta table, never re-created
    sim.control.share()  # one clock and one set of faults for all workers (admin/shared.py)
    share_journal(sim)
    return sim.app


def share_journal(sim: Any) -> None:
    """Serve this worker's journal to its siblings and read theirs (admin/journal_peers.py).
    A socket that cannot be made leaves the journal per worker; the server still starts."""
    directory = os.environ.get(PEERS_ENV)
    if not directory or not sim.control.journal.enabled:
        return
    try:
        sim.control.journal_peers = JournalPeers(directory, sim.control.journal).start()
    except OSError as exc:
        print(f"dfns-sim: warning: the request journal stays per worker ({exc})",
              file=sys.stderr, flush=True)


def journal_directory() -> str | None:
    """A private (0700) directory for the workers' journal sockets whose paths fit a socket
    address: under the temporary directory, or /tmp when that one's path is too long (as on
    macOS, or under pytest); None when neither will do (the journal then stays per worker)."""
    for base in (None, "/tmp"):
        try:
            path = tempfile.mkdtemp(prefix="dfns-sim-journal-", dir=base)
        except OSError:
            continue
        if len(path) <= MAX_DIRECTORY_LENGTH:
            return path
        shutil.rmtree(path, ignore_errors=True)
    return None


def store_url(args: argparse.Namespace) -> tuple[str, Path | None]:
    """The shared store's URL, and the temporary directory made for it (None: the user's)."""
    explicit = getattr(args, "store", None) or getattr(args, "state", None)
    if explicit:
        return str(explicit), None
    # No --state: the shared state is ephemeral, so keep it in RAM (tmpfs) when the machine
    # has one; the SQLite store fsyncs every commit, which on a disk would set the pace.
    shm = "/dev/shm"
    shm_usable = os.path.isdir(shm) and os.access(shm, os.W_OK)
    directory = Path(tempfile.mkdtemp(prefix="dfns-sim-workers-",
                                      dir=shm if shm_usable else None))
    return str(directory / "state.sqlite"), directory


def serve_workers(args: argparse.Namespace) -> int:
    url, temporary = store_url(args)
    # The workers' journal sockets (admin/journal_peers.py): private to this user (0700).
    peers = journal_directory() if args.workers > 1 else None
    if peers is not None:
        os.environ[PEERS_ENV] = peers
    # uvicorn stops on SIGTERM, then raises it again once stopped; without a handler of ours
    # that would end the process before the clean-up below (a single process does, with
    # --store). Ours turns it into a normal exit.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return _serve_on(args, url)
    finally:  # ephemeral state: nothing left in /dev/shm (RAM) or /tmp once the server stops
        signal.signal(signal.SIGTERM, previous)
        if peers is not None:
            os.environ.pop(PEERS_ENV, None)
            shutil.rmtree(peers, ignore_errors=True)
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _serve_on(args: argparse.Namespace, url: str) -> int:
    import uvicorn

    # The same settings for every worker, and the same atomic bootstrap file as one process.
    from simulator.cli import admin_settings, retention_settings, write_bootstrap
    from simulator.simulator import Simulator

    # Ids are random per process; a shared seed would make workers mint the same ids.
    settings = {"rp_id": args.rp_id, "origin": args.origin, **admin_settings(args),
                **retention_settings(args)}
    parent = Simulator(store=open_store(url), **settings)
    boot = dict(parent.bootstrap())
    boot["baseUrl"] = f"http://{args.host}:{args.port}"
    if args.bootstrap_out:
        write_bootstrap(args.bootstrap_out, boot)
    parent.control.share(fresh=True)  # real time, no faults: nothing left from an earlier run
    close = getattr(parent.core.store, "close", None)
    if close is not None:
        close()
    os.environ[STORE_ENV] = url
    os.environ[SETTINGS_ENV] = json.dumps(settings)
    workers = f"{args.workers} worker{'s' if args.workers != 1 else ''}"
    print(f"dfns-sim serving on http://{args.host}:{args.port} with {workers} "
          f"sharing {url} (org {boot['orgId']})", flush=True)
    uvicorn.run("simulator.multiworker:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, access_log=False, lifespan="off")
    return 0
