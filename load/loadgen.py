"""A lean HTTP/1.1 keep-alive load generator for the benchmark (raw sockets, several processes).

Why not Locust or httpx: both cost more CPU per request than the simulator does to answer it
(one Locust process tops out near 3k req/s; httpx near 2k), so they would measure themselves.
Here each process keeps one connection open and writes prebuilt request bytes; parsing a
response is a ``recv`` and a ``Content-Length`` lookup. Processes start together on a barrier;
the rate is requests completed ÷ wall time from the barrier to the last finish.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import resource
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any


class Connection:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def roundtrip(self, raw: bytes) -> tuple[int, bytes]:
        self.sock.sendall(raw)
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
                break
        while len(rest) < length:
            rest += self.sock.recv(65536) or self._closed()
        self.buffer = rest[length:]
        return status, rest[:length]

    def _fill(self) -> None:
        self.buffer += self.sock.recv(65536) or self._closed()

    @staticmethod
    def _closed() -> bytes:
        raise ConnectionError("server closed the connection")

    def close(self) -> None:
        self.sock.close()

    def health(self) -> dict[str, Any]:
        """``GET /_sim/health`` of the simulator process answering on this connection."""
        status, body = self.roundtrip(request_bytes("GET", "/_sim/health"))
        if status != 200:
            raise RuntimeError(f"GET /_sim/health answered {status}")
        answer: dict[str, Any] = json.loads(body)
        return answer

    def worker_pid(self) -> int:
        """The simulator process answering on this connection."""
        return int(self.health()["pid"])


def store_lock_stats(port: int, workers: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Each worker's shared-store lock counters (``storeLock`` in its health answer; a store
    without them, e.g. in memory, gives an empty dict)."""
    stats = {}
    for pid in workers:
        conn = connect_to_worker(port, pid)
        try:
            stats[pid] = conn.health().get("storeLock") or {}
        finally:
            conn.close()
    return stats


def worker_pids(port: int, expected: int, timeout: float = 30.0) -> list[int]:
    """The ``expected`` worker processes behind ``port`` (``serve --workers N``), found by
    connecting again and again: the kernel hands each new connection to whichever worker
    accepts first, and a worker still starting accepts none."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"found {len(seen)} of {expected} workers in {timeout:.0f} s")
        conn = Connection(port)
        try:
            seen.add(conn.worker_pid())
        finally:
            conn.close()
        if len(seen) < expected:
            time.sleep(0.01)
    return sorted(seen)


def connect_to_worker(port: int, pid: int | None, tries: int = 200) -> Connection:
    """A keep-alive connection served by worker ``pid`` (any worker for ``None``).

    With a few long-lived connections, which worker accepts each is a coin toss: both of a
    2-worker server's connections land on one worker half the time, and the measurement is
    then of one worker. Reconnecting until each lands where it is wanted spreads them as a
    round-robin load balancer would."""
    for _ in range(tries):
        conn = Connection(port)
        if pid is None or conn.worker_pid() == pid:
            return conn
        conn.close()
    raise RuntimeError(f"no connection reached worker {pid} in {tries} tries")


def request_bytes(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                  host: str = "127.0.0.1") -> bytes:
    payload = b"" if body is None else (body if isinstance(body, bytes)
                                        else json.dumps(body, separators=(",", ":")).encode())
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(payload)}"]
    if payload:
        lines.append("Content-Type: application/json")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


# -- CPU placement -------------------------------------------------------------------------
def pin(pid: int, cpus: set[int] | None) -> None:
    """Run every thread of process ``pid`` (0: this one) on ``cpus`` only (Linux; no-op
    elsewhere or when ``cpus`` is None)."""
    if not cpus or not hasattr(os, "sched_setaffinity"):
        return
    try:
        threads = [int(t) for t in os.listdir(f"/proc/{pid or os.getpid()}/task")]
    except OSError:
        threads = [pid]
    for tid in threads:
        try:
            os.sched_setaffinity(tid, cpus)
        except OSError:  # the thread ended meanwhile
            pass


# -- fixed request lists (P2) ----------------------------------------------------------
def _replay_worker(port: int, requests: Sequence[bytes], barrier: Any, out: Any,
                   cpus: set[int] | None = None) -> None:
    pin(0, cpus)
    conn = Connection(port)
    conn.roundtrip(request_bytes("GET", "/_warmup"))
    barrier.wait()
    started = time.perf_counter()
    bad = 0
    for raw in requests:
        status, _ = conn.roundtrip(raw)
        bad += status >= 400
    out.put((started, time.perf_counter(), len(requests), bad))
    conn.close()


def _children_cpu() -> tuple[float, float]:
    """CPU seconds (all, and in the kernel) of this process's finished children (the generator
    processes, once joined). The kernel part is mostly loopback TCP, which any HTTP client on
    this machine pays; the rest is the client's own code and its signing."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_stime


def _cpu_since(before: tuple[float, float]) -> dict[str, float]:
    total, kernel = _children_cpu()
    return {"generator_cpu_s": total - before[0], "generator_kernel_s": kernel - before[1]}


def replay(port: int, batches: Sequence[Sequence[bytes]],
           cpus: set[int] | None = None) -> dict[str, float]:
    """Send each batch over its own process + connection (on ``cpus``, if given); requests/s
    over the whole run."""
    cpu_before = _children_cpu()
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(len(batches)), ctx.Queue()
    procs = [ctx.Process(target=_replay_worker, args=(port, batch, barrier, out, cpus))
             for batch in batches]
    for p in procs:
        p.start()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join()
    start = min(r[0] for r in results)
    end = max(r[1] for r in results)
    total = sum(r[2] for r in results)
    return {"rps": total / (end - start), "requests": total, "errors": sum(r[3] for r in results),
            **_cpu_since(cpu_before)}


# -- closed-loop flows for a duration (P3) ---------------------------------------------
FlowFactory = Callable[[Connection, int], Callable[[], bool]]


def _flow_worker(port: int, factory: FlowFactory, index: int, seconds: float, barrier: Any,
                 out: Any, worker: int | None) -> None:
    conn = connect_to_worker(port, worker)
    flow = factory(conn, index)
    flow()  # warm: first flow pays imports and key loading
    barrier.wait()
    started = time.perf_counter()
    deadline = started + seconds
    done = bad = 0
    while time.perf_counter() < deadline:
        if flow():
            done += 1
        else:
            bad += 1
    out.put((started, time.perf_counter(), done, bad))
    conn.close()


def run_flows(port: int | Sequence[int], factory: FlowFactory, processes: int, seconds: float,
              workers: Sequence[int] = ()) -> dict[str, float]:
    """``processes`` closed loops of ``factory`` flows for ``seconds``; with ``workers`` (pids),
    generator process i keeps its connection on worker ``workers[i % len(workers)]``. With
    several ports (independent servers), process i talks to ``port[i % len(port)]``."""
    ports = [port] if isinstance(port, int) else list(port)
    cpu_before = _children_cpu()
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(processes), ctx.Queue()
    procs = [ctx.Process(target=_flow_worker, args=(
        ports[i % len(ports)], factory, i, seconds, barrier, out,
        workers[i % len(workers)] if workers else None))
        for i in range(processes)]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    start = min(r[0] for r in results)
    end = max(r[1] for r in results)
    done = sum(r[2] for r in results)
    return {"flows_s": done / (end - start), "flows": done, "seconds": end - start,
            "errors": sum(r[3] for r in results), **_cpu_since(cpu_before)}
