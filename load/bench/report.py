"""bench.md: the figures of one bench run, with how each was measured."""

from __future__ import annotations

from typing import Any

from load.bench.common import GENERATOR_KERNEL
from load.bench.scaling import ONE_MEMORY, ONE_SQLITE, TWO_SQLITE, UNSHARED

# The targets: every figure below is "at least" its target.
TARGETS: dict[str, float] = {"P1": 0.8, "P2": 0.8, "P3_flows_s": 1000, "P3_scaling": 1.7,
                             "P4": 5.0}


def _target(key: str) -> str:
    """A target as the issue writes it: ``≥ 0.8``, ``≥ 1,000``, ``≥ 5``."""
    value = TARGETS[key]
    return f"≥ {value:,.0f}" if value >= 1000 else f"≥ {value:g}"


def verdicts(report: dict[str, Any]) -> list[tuple[str, str, float, str, bool]]:
    """(figure, what was measured, its value, the target, met) for each figure in ``report``.

    P1 is met only when every case is: its row is the lowest ratio.
    """
    rows: list[tuple[str, str, float, str, bool]] = []

    def add(figure: str, what: str, value: Any, key: str) -> None:
        if isinstance(value, (int, float)):
            rows.append((figure, what, float(value), _target(key), value >= TARGETS[key]))

    if report.get("P1", {}).get("rows"):
        case, lowest = min(report["P1"]["rows"].items(), key=lambda item: item[1]["ratio"])
        add("P1", f"lowest case ({case}) ÷ bare cryptography", lowest["ratio"], "P1")
    if "P2" in report:
        add("P2", "POST /auth/action ÷ bare Starlette, one worker", report["P2"].get("ratio"),
            "P2")
    if "P3" in report:
        p3 = report["P3"]
        add("P3", "hot-path flows/s, one worker (median)", p3.get("one_worker_flows_s"),
            "P3_flows_s")
        add("P3", "2 workers ÷ 1 worker (shared SQLite)", p3.get("scaling_2w_over_1w_sqlite"),
            "P3_scaling")
    if "P4" in report:
        add("P4", "sim.client() ÷ Starlette TestClient", report["P4"].get("ratio"), "P4")
    return rows


def _verdict_table(report: dict[str, Any]) -> list[str]:
    rows = verdicts(report)
    if not rows:
        return []
    out = ["## Against the targets", "", "| figure | measured | value | target | |",
           "|---|---|---:|---|---|"]
    for figure, what, value, target, met in rows:
        shown = f"{value:,.1f}" if value >= 100 else f"{value:.3f}"
        out.append(f"| {figure} | {what} | {shown} | {target} | {'met' if met else 'missed'} |")
    bound = report.get("P3", {}).get("scaling_bound_here")
    if bound is not None:
        out += ["", f"The 2 ÷ 1 ratio this machine allows with the generator on its cores is "
                f"{bound} (see P3); the sections below say how each figure was measured."]
    return [*out, ""]


def markdown(report: dict[str, Any]) -> str:
    out = [f"# dfns-sim bench ({report['date']}, {report['machine']})", "",
           *_verdict_table(report)]
    if "P1" in report:
        out += [f"## P1 core verification ÷ bare cryptography (target {_target('P1')})", "",
                "| case | core ops/s | bare ops/s | ratio |", "|---|---:|---:|---:|"]
        for name, r in report["P1"]["rows"].items():
            out.append(f"| {name} | {r['core_ops_s']:.0f} | {r['bare_ops_s']:.0f} "
                       f"| {r['ratio']:.3f} |")
        out.append("")
    if "P2" in report:
        r = report["P2"]
        sim, bare = r["sim_rps"], r["bare_rps"]
        out += ["## P2 POST /auth/action (1 uvicorn worker) ÷ bare Starlette parse + verify "
                f"(target {_target('P2')})", "",
                f"- simulator: {sim['median']} req/s (min {sim['min']}, max {sim['max']})",
                f"- bare Starlette: {bare['median']} req/s (min {bare['min']}, max {bare['max']})",
                f"- **ratio {r['ratio']}** (median of per-round ratios, "
                f"{sim['rounds']} rounds alternated)",
                f"- generator: {r['generators']} processes, raw keep-alive sockets; its ceiling "
                f"(GET /ping on the bare app) {r['generator_ceiling_ping_rps']} req/s",
                f"- placement: {r.get('placement', 'not pinned')}"]
        c = r.get("cpu_us_per_request") or {}
        if c.get("sim") and c.get("bare"):
            out.append(f"- CPU µs per request (medians): simulator {c['sim']}, bare {c['bare']} "
                       f"(CPU ratio bare ÷ simulator {c['bare'] / c['sim']:.3f}); "
                       f"generator {c['generator']}"
                       + (f" (of which {c[GENERATOR_KERNEL]} in the kernel)"
                          if c.get(GENERATOR_KERNEL) else ""))
        out.append("")
    if "P3" in report:
        r = report["P3"]
        out += ["## P3 hot-path flows/s (init → sign → action → protected call)", ""]
        for name, s in r["flows_s"].items():
            out.append(f"- {name}: {s['median']} flows/s "
                       f"(min {s['min']}, max {s['max']}, {s['rounds']} rounds)")
        out += [f"- **one worker: {r['one_worker_flows_s']} flows/s** "
                f"(target {_target('P3_flows_s')})",
                f"- **2 workers ÷ 1 worker (SQLite both): {r['scaling_2w_over_1w_sqlite']}** "
                f"(target {_target('P3_scaling')}); "
                f"2 workers SQLite ÷ 1 worker in-memory: {r['scaling_2w_sqlite_over_1w_memory']}",
                f"- best ratio this machine allows with the generator on it: "
                f"{r.get('scaling_bound_here')} (2s/(s+g) on 2 cores, s and g the server's and "
                "the generator's CPU per flow, 1 worker SQLite)",
                *_unshared_lines(r),
                f"- generator: {r['generators']} processes; machine CPUs: {r['cpus']}; "
                f"failed flows: {r['errors']}"]
        out += _cpu_lines(r.get("cpu_us_per_flow") or {})
        if r.get("sharing_cpu_2w_over_1w"):
            out.append(f"- sharing the store: 2 workers spend {r['sharing_cpu_2w_over_1w']}× "
                       "the server CPU per flow of 1 worker (SQLite both), so with spare cores "
                       f"2 workers would serve ≈ {2 / r['sharing_cpu_2w_over_1w']:.2f}× one "
                       "(an estimate from CPU, not a measurement)")
        for name, waits in (r.get("write_lock") or {}).items():
            if waits:
                out.append(f"- write lock ({name}): {waits['busy_retries_per_flow']} busy "
                           "answers per flow, workers asleep waiting for it "
                           f"{waits['waiting_share'] * 100:.1f} % of the time")
        out.append("- connections: each generator process keeps its connection on its own "
                   "worker (found through `GET /_sim/health`'s pid)")
        out.append("")
    if "P4" in report:
        r = report["P4"]
        out += [f"## P4 in-process client ÷ Starlette TestClient (target {_target('P4')})", "",
                f"- {r['call']}: sim.client() {r['inprocess_calls_s']['median']} calls/s, "
                f"TestClient {r['testclient_calls_s']['median']} calls/s: "
                f"**ratio {r['ratio']}**", ""]
    if report.get("profile_top"):
        out += ["## Hot-path profile (cProfile, server side of in-process flows, by own time)",
                "", "```", *report["profile_top"], "```", ""]
    return "\n".join(out)


def _unshared_lines(r: dict[str, Any]) -> list[str]:
    """The measured ceiling: 2 servers sharing nothing ÷ 1, and what the shared store keeps."""
    if r.get("unshared_2_over_1w_sqlite") is None:
        return []  # a report from before the unshared setup
    return [f"- measured ceiling: 2 servers sharing nothing (a SQLite file each, same "
            f"generator) ÷ 1 worker: {r['unshared_2_over_1w_sqlite']}; the shared store keeps "
            f"{r['shared_over_unshared']} of that (2 workers on one file ÷ the unshared pair)"]


def _cpu_lines(c: dict[str, float | None]) -> list[str]:
    """CPU µs per flow of each P3 setup's server processes and of the generator."""
    server_us = c.get(f"server ({ONE_MEMORY})")
    if not server_us:
        return []
    unshared = c.get(f"server ({UNSHARED})")
    kernel = c.get(GENERATOR_KERNEL)
    return [f"- CPU µs per flow: server {server_us} in memory (so one fully busy core would "
            f"serve ≈ {1e6 / server_us:.0f} flows/s), {c.get(f'server ({ONE_SQLITE})')} on "
            f"SQLite, {c.get(f'server ({TWO_SQLITE})')} for 2 workers on SQLite (both "
            "processes)" + (f", {unshared} for the unshared pair" if unshared else "")
            + f"; generator {c.get('generator')}"
            + (f" (of which {kernel} in the kernel: loopback TCP)" if kernel else "")
            + ": on a machine whose cores the generator shares, it takes that CPU from the "
            "server"]
