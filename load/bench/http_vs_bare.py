"""P2: ``POST /auth/action`` on one uvicorn worker ÷ a bare Starlette endpoint that parses the
same JSON and verifies the same P-256 signature (load/bare_server.py), same bodies, same
generator, rounds alternated."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

from load.bench.common import (
    GENERATOR_KERNEL,
    Identity,
    cpu_us,
    median_known,
    placement,
    process_cpu,
    spawn,
    split_cpus,
    spread,
    start_sim,
    wait_until_up,
)
from load.loadgen import Connection, pin, replay, request_bytes
from load.runner import free_port, stop


def p2(tmp: Path, quick: bool, generators: int) -> dict[str, Any]:
    sim, boot, sim_port = start_sim(tmp, "p2-sim")
    bare = None
    try:
        ident = Identity(sim_port, boot)
        key_file = tmp / "p2-key.pem"
        key_file.write_text(ident.device.public_key_pem)
        bare_port = free_port()
        bare = spawn([sys.executable, "-m", "load.bare_server", "--port", str(bare_port),
                       "--key", str(key_file)], tmp / "p2-bare.log")
        wait_until_up(f"http://127.0.0.1:{bare_port}/ping", bare)
        # One core for the server under test, the others for the generator: neither then
        # takes CPU (or cache) from the other, and the figure is "what one core serves".
        server_cpus, generator_cpus = split_cpus()
        pin(sim.pid, server_cpus)
        pin(bare.pid, server_cpus)
        per_round = 400 if quick else 2000
        rounds = 3 if quick else 9  # odd: the median is a measured round
        sims, bares, ratios = [], [], []
        cpu: dict[str, list[float | None]] = {"sim": [], "bare": [], "generator": [],
                                              GENERATOR_KERNEL: []}
        prep = Connection(sim_port)
        for i in range(rounds):
            bodies = [ident.signed_action_request(prep, "") for _ in range(per_round)]
            batches = [bodies[g::generators] for g in range(generators)]
            measured: dict[str, dict[str, float]] = {}
            for name in (("sim", "bare") if i % 2 else ("bare", "sim")):
                proc, port = (sim, sim_port) if name == "sim" else (bare, bare_port)
                before = process_cpu(proc.pid)
                measured[name] = replay(port, batches, generator_cpus)
                cpu[name].append(cpu_us(before, process_cpu(proc.pid), per_round))
                cpu["generator"].append(cpu_us(0.0, measured[name]["generator_cpu_s"], per_round))
                cpu[GENERATOR_KERNEL].append(
                    cpu_us(0.0, measured[name]["generator_kernel_s"], per_round))
            s, b = measured["sim"], measured["bare"]
            if s["errors"] or b["errors"]:
                raise RuntimeError(f"P2 requests failed: sim {s['errors']}, bare {b['errors']}")
            sims.append(s["rps"])
            bares.append(b["rps"])
            ratios.append(s["rps"] / b["rps"])
        prep.close()
        ping = request_bytes("GET", "/ping")
        ceiling = replay(bare_port, [[ping] * per_round for _ in range(generators)],
                         generator_cpus)["rps"]
        return {"sim_rps": spread(sims), "bare_rps": spread(bares),
                "ratio": round(statistics.median(ratios), 3),
                "generator_ceiling_ping_rps": round(ceiling, 1), "generators": generators,
                "requests_per_round": per_round,
                "placement": placement(server_cpus, generator_cpus),
                # CPU per request (noise-robust where req/s is not): the server's own, and
                # the generator's (all its processes), medians over rounds.
                "cpu_us_per_request": {k: median_known(v) for k, v in cpu.items()}}
    finally:
        stop(sim)
        if bare is not None:
            stop(bare)
