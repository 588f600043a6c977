"""P3: whole hot-path flows per second on one worker, and how they scale to 2 workers on one
shared SQLite file, measured against 2 servers that share nothing (the ceiling this machine
allows with the generator on it)."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from load.bench.common import (
    GENERATOR_KERNEL,
    PROTECTED,
    Identity,
    action_payload,
    cpu_us,
    median_known,
    process_cpu,
    spread,
    start_sim,
)
from load.loadgen import Connection, request_bytes, run_flows, store_lock_stats, worker_pids
from load.runner import stop


def _flow_factory(identities: list[Identity]) -> Callable[[Connection, int], Callable[[], bool]]:
    def factory(conn: Connection, index: int) -> Callable[[], bool]:
        ident = identities[index % len(identities)]

        def flow() -> bool:
            payload = action_payload()
            status, body = conn.roundtrip(ident.signed_action_request(conn, payload))
            if status != 200:
                return False
            token = json.loads(body)["userAction"]
            status, _ = conn.roundtrip(request_bytes(
                "POST", PROTECTED, payload.encode(), {**ident.auth, "X-DFNS-USERACTION": token}))
            return status == 200

        return flow

    return factory


# P3's setups: each a list of servers (the serve arguments of each); a setup of several
# servers gives generator process i to server i % n. The unshared pair measures the ceiling
# of any shared store here: the same 2 processes and the same generator, nothing shared.
ONE_MEMORY, ONE_SQLITE, TWO_SQLITE, UNSHARED = "1 worker, in-memory", "1 worker, SQLite", \
    "2 workers, SQLite", "2 servers, SQLite, unshared"


def _p3_setups(state: Path) -> dict[str, list[list[str]]]:
    return {
        ONE_MEMORY: [[]],
        ONE_SQLITE: [["--state", str(state / "p3-one.sqlite")]],
        TWO_SQLITE: [["--workers", "2", "--store", f"sqlite:///{state / 'p3-two.sqlite'}"]],
        UNSHARED: [["--state", str(state / f"p3-unshared-{i}.sqlite")] for i in range(2)],
    }


def p3(tmp: Path, quick: bool, generators: int) -> dict[str, Any]:
    seconds = 1.5 if quick else 3.0
    rounds = 2 if quick else 5  # the 2-worker figure swings most on a 2-core machine
    # SQLite files in RAM (as serve --workers does without --state): the store fsyncs every
    # commit, and on a disk P3 would measure the disk, not the simulator's scaling.
    shm = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else tmp
    state = Path(tempfile.mkdtemp(prefix="dfns-bench-", dir=shm))
    setups = _p3_setups(state)
    servers: dict[str, tuple[list[subprocess.Popen], list[int], Callable, list[int]]] = {}
    cpu: dict[str, list[float | None]] = {f"server ({name})": [] for name in setups}
    cpu["generator"] = []  # every round; the scaling bound takes the 1-worker SQLite rounds'
    cpu[GENERATOR_KERNEL] = []
    generator_sql: list[float | None] = []
    try:
        for name, server_args in setups.items():
            procs: list[subprocess.Popen] = []
            ports: list[int] = []
            identities: list[Identity] = []
            workers: list[int] = []
            for i, extra in enumerate(server_args):
                label = f"p3-{name.split(',')[0].replace(' ', '')}-{i}"
                proc, boot, port = start_sim(tmp, label, extra)
                procs.append(proc)
                ports.append(port)
                # Each generator process keeps its connection on its own worker, as a
                # round-robin balancer would: left to the kernel, both often land on one of
                # 2 workers.
                if len(server_args) == 1:
                    workers = worker_pids(port, int(name.split()[0]))
                # Generator i flows as identities[i % n] against ports[i % len(ports)]: with
                # several servers, one identity per server, in server order.
                count = generators if len(server_args) == 1 else 1
                identities += [Identity(port, boot) for _ in range(count)]
            servers[name] = (procs, ports, _flow_factory(identities), workers)
        results: dict[str, list[float]] = {name: [] for name in setups}
        walls: dict[str, list[tuple[int, float]]] = {name: [] for name in setups}
        # The write-lock counters of the setups sharing one file's lock, before and after.
        locked = {name: (servers[name][1][0], servers[name][3])
                  for name in (ONE_SQLITE, TWO_SQLITE)}
        locks_before = {name: store_lock_stats(*where) for name, where in locked.items()}
        errors = 0
        for i in range(rounds):
            order = list(setups) if i % 2 == 0 else list(reversed(setups))
            for name in order:
                procs, ports, factory, workers = servers[name]
                before = _tree_cpu(procs)
                r = run_flows(ports, factory, generators, seconds, workers)
                flows = int(r["flows"])
                errors += int(r["errors"])
                results[name].append(r["flows_s"])
                walls[name].append((flows, r["seconds"]))
                cpu[f"server ({name})"].append(cpu_us(before, _tree_cpu(procs), flows))
                generator_us = cpu_us(0.0, r["generator_cpu_s"], flows)
                cpu["generator"].append(generator_us)
                cpu[GENERATOR_KERNEL].append(cpu_us(0.0, r["generator_kernel_s"], flows))
                if name == ONE_SQLITE:
                    generator_sql.append(generator_us)
        write_lock = {name: lock_waits(locks_before[name], store_lock_stats(*where), walls[name])
                      for name, where in locked.items()}
    finally:
        for procs, *_ in servers.values():
            for proc in procs:
                stop(proc)
        shutil.rmtree(state, ignore_errors=True)
    one = statistics.median(results[ONE_MEMORY])
    one_sql = statistics.median(results[ONE_SQLITE])
    two = statistics.median(results[TWO_SQLITE])
    unshared = statistics.median(results[UNSHARED])
    medians = {k: median_known(v) for k, v in cpu.items()}
    one_cpu, two_cpu = medians[f"server ({ONE_SQLITE})"], medians[f"server ({TWO_SQLITE})"]
    return {
            # What sharing the store costs: server CPU per flow, 2 workers ÷ 1 worker. With
            # cores to spare (generator elsewhere), 2 workers would give 2 ÷ this.
            "sharing_cpu_2w_over_1w": round(two_cpu / one_cpu, 3) if one_cpu and two_cpu else None,
            "flows_s": {k: spread(v) for k, v in results.items()},
            "one_worker_flows_s": round(one, 1),
            "scaling_2w_over_1w_sqlite": round(two / one_sql, 3),
            "scaling_bound_here": scaling_bound(one_cpu, median_known(generator_sql),
                                                os.cpu_count() or 1),
            # Measured, not computed: 2 servers that share nothing, same generator.
            "unshared_2_over_1w_sqlite": round(unshared / one_sql, 3),
            "shared_over_unshared": round(two / unshared, 3),
            "scaling_2w_sqlite_over_1w_memory": round(two / one, 3),
            "errors": errors, "generators": generators, "seconds_per_round": seconds,
            "cpus": os.cpu_count(), "cpu_us_per_flow": medians,
            # SQLite admits one writer at a time: how often a worker found the lock taken, and
            # the share of its time it then spent asleep before retrying.
            "write_lock": write_lock}


def _tree_cpu(procs: Sequence[subprocess.Popen]) -> float | None:
    """CPU seconds of ``procs`` and their workers, None when any is unknown (off Linux)."""
    times = [process_cpu(proc.pid, children=True) for proc in procs]
    return None if any(t is None for t in times) else sum(t for t in times if t is not None)


def lock_waits(before: dict[int, dict[str, Any]], after: dict[int, dict[str, Any]],
               rounds: list[tuple[int, float]]) -> dict[str, float] | None:
    """Busy write-lock answers per flow, and the share of the workers' time spent waiting,
    over the measured ``rounds`` ((flows, wall seconds) each) of one setup."""
    flows = sum(n for n, _ in rounds)
    wall = sum(seconds for _, seconds in rounds)
    if not flows or not wall or not after or not all(after.values()):
        return None  # a store without counters
    retries = sum(after[pid]["busyRetries"] - before.get(pid, {}).get("busyRetries", 0)
                  for pid in after)
    asleep = sum(after[pid]["waitSeconds"] - before.get(pid, {}).get("waitSeconds", 0.0)
                 for pid in after)
    return {"busy_retries_per_flow": round(retries / flows, 3),
            "waiting_share": round(asleep / (wall * len(after)), 4)}


def scaling_bound(server_us: float | None, generator_us: float | None, cpus: int) -> float | None:
    """The best 2-workers ÷ 1-worker ratio this machine allows when the generator runs on it.

    A flow costs the server ``s`` and the generator ``g`` CPU-µs. One worker is bound by its
    core: ≤ 1/s flows per µs (or by all cores, cpus/(s+g)). Two workers are bound by 2/s and by
    cpus/(s+g). On 2 cores that is 2s/(s+g): the generator's share is taken from the server.
    """
    if not server_us or not generator_us:
        return None
    one = min(1 / server_us, cpus / (server_us + generator_us))
    two = min(2 / server_us, cpus / (server_us + generator_us))
    return round(two / one, 3)
