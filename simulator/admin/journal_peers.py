"""One request journal for all the workers of ``dfns-sim serve --workers N`` on a machine.

Recording stays in each worker's memory, so the request path pays nothing more. Each worker
also answers for its journal on a Unix socket, ``<pid>.sock`` in a directory the parent
process makes (mode 0700, removed when the server stops). ``GET /_sim/journal`` on any worker
asks every socket there and merges the answers by the time each request arrived;
``DELETE /_sim/journal`` and ``/_sim/reset`` ask each worker to clear its own. Each entry then
says which worker (``"worker"``: its pid, as ``GET /_sim/health`` gives it) answered, since
every worker numbers its entries (``seq``) on its own.

Workers on other hosts (several machines on one Redis) keep their own journals: each host's
``/_sim/journal`` lists the exchanges that host answered.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import socketserver
import threading
from pathlib import Path
from typing import Any

from simulator.admin.journal import Journal, newest

PEERS_ENV = "DFNS_SIM_WORKER_PEERS"  # the directory of the workers' sockets
SUFFIX = ".sock"
# A Unix socket's path must fit in ~104 bytes (macOS; 108 on Linux); a pid has up to 7 digits.
MAX_DIRECTORY_LENGTH = 104 - len("/4194304" + SUFFIX) - 1
TIMEOUT_SECONDS = 2.0  # a worker stuck longer than this is left out of the answer
_MAX_REQUEST = 4096

log = logging.getLogger("dfns_sim.journal")


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    journal: Journal


class _Handler(socketserver.StreamRequestHandler):
    """One question per connection: a JSON line in, one JSON document out."""

    server: _Server
    timeout = TIMEOUT_SECONDS  # a caller that connects and sends nothing does not keep a thread

    def handle(self) -> None:
        try:
            line = self.rfile.readline(_MAX_REQUEST)
        except OSError:  # timed out, or the caller went away
            return
        try:
            answer = _answer(self.server.journal, json.loads(line))
        except (ValueError, TypeError, AttributeError) as exc:
            answer = {"error": f"bad question: {exc}"}
        with contextlib.suppress(OSError):
            self.wfile.write(json.dumps(answer).encode())


def _answer(journal: Journal, question: dict[str, Any]) -> dict[str, Any]:
    if question.get("op") == "clear":
        journal.clear()
        return {"cleared": True}
    rows = journal.stamped(question.get("limit"), **question.get("filters", {}))
    return {"rows": rows}


class JournalPeers:
    """This worker's journal served to its siblings, and their journals read as one.

    Reads like a :class:`Journal` (``entries``, ``clear``, ``size``), so the admin API takes
    either.
    """

    def __init__(self, directory: str | Path, journal: Journal, *, worker: int | None = None
                 ) -> None:
        self.directory = Path(directory)
        self.journal = journal
        self.worker = os.getpid() if worker is None else worker
        self._server: _Server | None = None

    @property
    def size(self) -> int:
        return self.journal.size

    @property
    def path(self) -> Path:
        return self.directory / f"{self.worker}{SUFFIX}"

    def start(self) -> JournalPeers:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # left by an earlier process with this pid
        server = _Server(str(self.path), _Handler)
        server.journal = self.journal
        # Checks for shutdown 10 times a second: close() then returns at once, for ~10 µs of
        # CPU a second while idle.
        threading.Thread(target=server.serve_forever, args=(0.1,), name="journal-peers",
                         daemon=True).start()
        self._server = server
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def entries(self, limit: int | None = None, *, method: str | None = None,
                path: str | None = None, status: int | None = None) -> list[dict[str, Any]]:
        """Every worker's entries, oldest first; ``limit`` keeps the newest N of them all."""
        filters = {"method": method, "path": path, "status": status}
        rows: list[tuple[float, int, int, dict[str, Any]]] = []
        for worker, answer in self._ask({"op": "entries", "limit": limit, "filters": filters}):
            for wall, view in answer.get("rows", []):
                rows.append((wall, worker, view["seq"], {**view, "worker": worker}))
        rows.sort(key=lambda row: row[:3])
        return [view for *_, view in newest(rows, limit)]

    def clear(self) -> None:
        self._ask({"op": "clear"})  # each worker clears its own as it answers

    def _ask(self, question: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
        """(worker, answer) from this worker (directly) and from every sibling's socket."""
        answers = [(self.worker, _answer(self.journal, question))]
        for sock_path in sorted(self.directory.glob(f"*{SUFFIX}")):
            if sock_path == self.path or not sock_path.stem.isdigit():
                continue
            answer = _ask_one(sock_path, question)
            if answer is not None:
                answers.append((int(sock_path.stem), answer))
        return answers


def _ask_one(sock_path: Path, question: dict[str, Any]) -> dict[str, Any] | None:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(TIMEOUT_SECONDS)
            conn.connect(str(sock_path))
            conn.sendall(json.dumps(question).encode() + b"\n")
            conn.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        answer = json.loads(b"".join(chunks))
    except (ConnectionRefusedError, FileNotFoundError):
        # The worker is gone (uvicorn replaced it): its socket is stale.
        with contextlib.suppress(FileNotFoundError):
            sock_path.unlink()
        return None
    except (OSError, ValueError) as exc:
        log.warning("journal of worker %s not read: %s", sock_path.stem, exc)
        return None
    return answer if isinstance(answer, dict) else None
