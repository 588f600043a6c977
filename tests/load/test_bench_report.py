"""bench P3's figures: the write-lock arithmetic over the workers' counters, the report lines,
and the generator's routing of its processes to several independent servers."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from load.bench import TARGETS, lock_waits, markdown, verdicts
from load.loadgen import Connection, run_flows


def test_lock_waits_are_per_flow_and_a_share_of_every_workers_time() -> None:
    before = {1: {"busyRetries": 10, "waitSeconds": 0.5},
              2: {"busyRetries": 0, "waitSeconds": 0.0}}
    after = {1: {"busyRetries": 310, "waitSeconds": 0.8},
             2: {"busyRetries": 300, "waitSeconds": 0.5}}
    # Two rounds: 1,000 + 1,000 flows over 2.5 + 2.5 s, so 10 s of worker time in all.
    waits = lock_waits(before, after, [(1000, 2.5), (1000, 2.5)])
    assert waits == {"busy_retries_per_flow": 0.3, "waiting_share": 0.08}


def test_lock_waits_without_counters_is_none() -> None:
    assert lock_waits({1: {}}, {1: {}}, [(100, 1.0)]) is None  # in-memory: nothing to count
    assert lock_waits({}, {}, [(100, 1.0)]) is None
    assert lock_waits({1: {}}, {1: {"busyRetries": 1, "waitSeconds": 0.1}}, []) is None


def test_report_names_each_setups_write_lock() -> None:
    p3 = {"flows_s": {}, "one_worker_flows_s": 1000.0, "scaling_2w_over_1w_sqlite": 1.2,
          "scaling_2w_sqlite_over_1w_memory": 0.6, "generators": 2, "cpus": 2, "errors": 0,
          "write_lock": {"1 worker, SQLite": {"busy_retries_per_flow": 0.0, "waiting_share": 0.0},
                         "2 workers, SQLite": {"busy_retries_per_flow": 1.5,
                                               "waiting_share": 0.0812}}}
    text = markdown({"P3": p3, "date": "now", "machine": "m"})
    assert ("- write lock (2 workers, SQLite): 1.5 busy answers per flow, workers asleep "
            "waiting for it 8.1 % of the time") in text
    assert "- write lock (1 worker, SQLite): 0.0 busy answers per flow" in text


def _p3_report(**extra: object) -> str:
    p3 = {"flows_s": {}, "one_worker_flows_s": 1000.0, "scaling_2w_over_1w_sqlite": 1.2,
          "scaling_2w_sqlite_over_1w_memory": 0.6, "generators": 2, "cpus": 2, "errors": 0,
          **extra}
    return markdown({"P3": p3, "date": "now", "machine": "m"})


def test_report_gives_the_measured_unshared_ceiling_and_the_shared_stores_share_of_it() -> None:
    text = _p3_report(unshared_2_over_1w_sqlite=1.557, shared_over_unshared=0.771)
    assert ("- measured ceiling: 2 servers sharing nothing (a SQLite file each, same generator)"
            " ÷ 1 worker: 1.557; the shared store keeps 0.771 of that") in text
    assert "measured ceiling" not in _p3_report()  # a report written before the setup existed


def test_report_gives_every_setups_cpu_per_flow_and_the_generators_kernel_part() -> None:
    cpu = {"server (1 worker, in-memory)": 900.0, "server (1 worker, SQLite)": 1460.0,
           "server (2 workers, SQLite)": 2027.0, "server (2 servers, SQLite, unshared)": 1692.0,
           "generator": 363.0, "generator, in the kernel": 140.0}
    text = _p3_report(cpu_us_per_flow=cpu)
    assert ("- CPU µs per flow: server 900.0 in memory (so one fully busy core would serve "
            "≈ 1111 flows/s), 1460.0 on SQLite, 2027.0 for 2 workers on SQLite (both "
            "processes), 1692.0 for the unshared pair; generator 363.0 (of which 140.0 in the "
            "kernel: loopback TCP)") in text
    # A report from before the unshared setup and the kernel split still reads.
    older = _p3_report(cpu_us_per_flow={k: v for k, v in cpu.items()
                                        if "unshared" not in k and "kernel" not in k})
    assert "2 workers on SQLite (both processes); generator 363.0: on a machine" in older


def test_p2_report_gives_cpu_per_request_and_the_generators_kernel_part() -> None:
    def p2(cpu: dict[str, float]) -> str:
        rps = {"median": 3000.0, "min": 2900.0, "max": 3100.0, "rounds": 5}
        return markdown({"P2": {"sim_rps": rps, "bare_rps": rps, "ratio": 0.7, "generators": 2,
                                "generator_ceiling_ping_rps": 12000.0,
                                "cpu_us_per_request": cpu}, "date": "now", "machine": "m"})

    cpu = {"sim": 320.0, "bare": 240.0, "generator": 61.0, "generator, in the kernel": 22.5}
    assert ("- CPU µs per request (medians): simulator 320.0, bare 240.0 (CPU ratio bare ÷ "
            "simulator 0.750); generator 61.0 (of which 22.5 in the kernel)\n") in p2(cpu)
    del cpu["generator, in the kernel"]  # a report from before the split
    assert "; generator 61.0\n" in p2(cpu)


def test_generator_cpu_is_split_into_its_kernel_part() -> None:
    def factory(conn: Connection, index: int) -> Callable[[], bool]:
        def flow() -> bool:  # a syscall-heavy flow: its CPU is mostly the kernel's
            for _ in range(200):
                os.stat("/")
            return True
        return flow

    server = socket.create_server(("127.0.0.1", 0))
    try:
        result = run_flows(server.getsockname()[1], factory, 1, 0.2)
    finally:
        server.close()
    assert 0 < result["generator_kernel_s"] <= result["generator_cpu_s"]


def test_flows_go_to_each_generators_own_server_when_given_several_ports() -> None:
    # Two listening sockets stand in for two servers: a connection is made (the kernel's
    # backlog accepts it) and each flow only checks which port its process was given.
    servers = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    ports = [s.getsockname()[1] for s in servers]
    try:
        def factory(conn: Connection, index: int) -> Callable[[], bool]:
            peer = conn.sock.getpeername()[1]
            return lambda: peer == ports[index % 2]

        result = run_flows(ports, factory, 2, 0.05)
    finally:
        for s in servers:
            s.close()
    assert result["flows"] > 0
    assert result["errors"] == 0


def _full_report(p2_ratio: float, flows_s: float) -> dict[str, object]:
    rps = {"median": 3000.0, "min": 2900.0, "max": 3100.0, "rounds": 5}
    return {"date": "now", "machine": "m",
            "P1": {"rows": {"Key P-256": {"core_ops_s": 1.0, "bare_ops_s": 1.0, "ratio": 0.95},
                            "Key RSA-2048": {"core_ops_s": 1.0, "bare_ops_s": 1.0,
                                             "ratio": 0.79}}},
            "P2": {"sim_rps": rps, "bare_rps": rps, "ratio": p2_ratio, "generators": 2,
                   "generator_ceiling_ping_rps": 12000.0},
            "P3": {"flows_s": {}, "one_worker_flows_s": flows_s,
                   "scaling_2w_over_1w_sqlite": 1.7, "scaling_2w_sqlite_over_1w_memory": 0.9,
                   "scaling_bound_here": 1.55, "generators": 2, "cpus": 2, "errors": 0},
            "P4": {"call": "POST /auth/action/init", "inprocess_calls_s": {"median": 10.0},
                   "testclient_calls_s": {"median": 2.0}, "ratio": 5.0}}


def test_verdicts_hold_each_figure_against_its_target_and_p1_by_its_lowest_case() -> None:
    rows = verdicts(_full_report(p2_ratio=0.8, flows_s=999.9))
    assert [(figure, target, met) for figure, _, _, target, met in rows] == [
        ("P1", "≥ 0.8", False), ("P2", "≥ 0.8", True), ("P3", "≥ 1,000", False),
        ("P3", "≥ 1.7", True), ("P4", "≥ 5", True)]
    assert rows[0][1] == "lowest case (Key RSA-2048) ÷ bare cryptography"
    assert rows[0][2] == 0.79
    assert verdicts({"date": "now", "machine": "m"}) == []  # nothing measured, nothing judged
    assert [r[0] for r in verdicts({"P4": {"ratio": 6.0}})] == ["P4"]  # --only P4


def test_report_opens_with_the_verdict_table_and_the_targets_come_from_one_place() -> None:
    text = markdown(_full_report(p2_ratio=0.698, flows_s=1022.0))
    table = text.split("## Against the targets\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert table[2:] == [
        "| P1 | lowest case (Key RSA-2048) ÷ bare cryptography | 0.790 | ≥ 0.8 | missed |",
        "| P2 | POST /auth/action ÷ bare Starlette, one worker | 0.698 | ≥ 0.8 | missed |",
        "| P3 | hot-path flows/s, one worker (median) | 1,022.0 | ≥ 1,000 | met |",
        "| P3 | 2 workers ÷ 1 worker (shared SQLite) | 1.700 | ≥ 1.7 | met |",
        "| P4 | sim.client() ÷ Starlette TestClient | 5.000 | ≥ 5 | met |"]
    assert "allows with the generator on its cores is 1.55" in text
    assert text.index("## Against the targets") < text.index("## P1 ")
    for heading in ("## P1 core verification ÷ bare cryptography (target ≥ 0.8)",
                    "(target ≥ 1,000)", "(target ≥ 1.7)",
                    "## P4 in-process client ÷ Starlette TestClient (target ≥ 5)"):
        assert heading in text
    assert TARGETS == {"P1": 0.8, "P2": 0.8, "P3_flows_s": 1000, "P3_scaling": 1.7, "P4": 5.0}
