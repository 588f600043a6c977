"""The journals of several workers read as one (simulator/admin/journal_peers.py).

Two journals in this process, each served on its own socket as two workers' would be; the
``serve --workers 2`` end-to-end case is in tests/load/test_workers.py.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.admin.journal import MASK, Journal
from simulator.admin.journal_peers import JournalPeers, _ask_one


@pytest.fixture
def directory() -> Iterator[Path]:
    # Not tmp_path: a Unix socket's path must stay under ~100 bytes.
    path = Path(tempfile.mkdtemp(prefix="jp-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def peers(directory: Path) -> Iterator[list[JournalPeers]]:
    started = [JournalPeers(directory, Journal(50), worker=w).start() for w in (101, 202)]
    yield started
    for peer in started:
        peer.close()


def record(journal: Journal, path: str, *, status: int = 200, at: float = 1_800_000_000.0,
           method: str = "POST") -> None:
    journal.record(at, method, path, b"", [(b"authorization", b"Bearer secret")],
                   b'{"password":"hunter2"}', status, [], b"{}", 1.0, None)


def test_each_worker_reads_every_workers_entries_in_the_order_they_were_recorded(
        peers: list[JournalPeers]) -> None:
    first, second = peers
    # The simulated clock frozen: every entry has the same time, the wall clock orders them.
    for i, peer in enumerate([first, second, second, first]):
        record(peer.journal, f"/step/{i}")
    for reader in peers:
        items = reader.entries()
        assert [e["path"] for e in items] == ["/step/0", "/step/1", "/step/2", "/step/3"]
        assert [e["worker"] for e in items] == [101, 202, 202, 101]
        assert [e["seq"] for e in items] == [1, 1, 2, 2]  # each worker numbers its own
        # Masked as the local journal would be: nothing secret crosses the socket.
        assert items[0]["requestHeaders"]["authorization"] == MASK
        assert MASK in str(items[0]["requestBody"]) and "hunter2" not in str(items)


def test_entries_are_merged_in_the_order_the_requests_arrived(peers: list[JournalPeers]) -> None:
    first, second = peers
    # A slow request on the first worker arrived before a quick one on the second, but its
    # exchange is recorded after it: the merged journal follows arrival.
    second.journal.record(1.0, "POST", "/quick", b"", [], b"", 200, [], b"", 1.0, None,
                          arrived=1_800_000_001.0)
    first.journal.record(1.0, "POST", "/slow", b"", [], b"", 200, [], b"", 2000.0, None,
                         arrived=1_800_000_000.0)
    assert [e["path"] for e in second.entries()] == ["/slow", "/quick"]


def test_limit_and_filters_apply_to_the_merged_journal(peers: list[JournalPeers]) -> None:
    first, second = peers
    record(first.journal, "/auth/login", status=401)
    record(second.journal, "/auth/login", status=200)
    record(second.journal, "/auth/action", status=200, method="GET")
    record(first.journal, "/auth/action", status=200)
    assert [e["path"] for e in first.entries(2)] == ["/auth/action", "/auth/action"]
    assert [e["worker"] for e in first.entries(2)] == [202, 101]
    assert [e["worker"] for e in second.entries(path="/auth/login")] == [101, 202]
    assert [e["worker"] for e in second.entries(status=401)] == [101]
    assert [e["worker"] for e in second.entries(method="get")] == [202]
    assert first.entries(0) == []


def test_clearing_through_one_worker_clears_them_all(peers: list[JournalPeers]) -> None:
    first, second = peers
    record(first.journal, "/a")
    record(second.journal, "/b")
    second.clear()
    assert len(first.journal) == len(second.journal) == 0
    assert first.entries() == []


def test_a_gone_workers_socket_is_skipped_and_removed(peers: list[JournalPeers],
                                                     directory: Path) -> None:
    stale = directory / "303.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(stale))  # bound, never listening: what a killed worker leaves behind
    record(peers[0].journal, "/a")
    assert [e["worker"] for e in peers[1].entries()] == [101]
    assert not stale.exists()


def test_a_malformed_question_gets_an_error_and_the_worker_keeps_answering(
        peers: list[JournalPeers]) -> None:
    first, second = peers
    record(second.journal, "/b")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(second.path))
        conn.sendall(b"[1, 2]\n")
        conn.shutdown(socket.SHUT_WR)
        assert b"bad question" in conn.recv(4096)
    assert _ask_one(second.path, {"op": "entries", "limit": None, "filters": {}}) is not None
    assert [e["path"] for e in first.entries()] == ["/b"]


def test_a_caller_that_sends_nothing_is_dropped_and_others_are_answered(
        peers: list[JournalPeers], monkeypatch: pytest.MonkeyPatch) -> None:
    from simulator.admin import journal_peers

    monkeypatch.setattr(journal_peers._Handler, "timeout", 0.2)
    first, second = peers
    record(second.journal, "/b")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.connect(str(second.path))  # never asks
        assert [e["path"] for e in first.entries()] == ["/b"]  # meanwhile, others are answered
        silent.settimeout(5)
        assert silent.recv(100) == b""  # the worker hung up on it, answering nothing


def test_a_closed_peer_takes_its_socket_with_it(directory: Path) -> None:
    peer = JournalPeers(directory, Journal(5), worker=404).start()
    assert peer.path.exists()
    peer.close()
    assert not peer.path.exists()
    assert peer.size == 5


def test_a_reset_through_one_worker_clears_every_workers_journal(directory: Path) -> None:
    from simulator import Simulator

    sim = Simulator()
    sibling = JournalPeers(directory, Journal(50), worker=202).start()
    sim.control.journal_peers = JournalPeers(directory, sim.control.journal, worker=101).start()
    try:
        record(sibling.journal, "/b")
        assert sim.client().post("/auth/login/init", json={}).status_code == 400
        assert {e["worker"] for e in sim.control.journals.entries()} == {101, 202}
        sim.control.reset()
        assert len(sibling.journal) == len(sim.control.journal) == 0
    finally:
        sim.control.journal_peers.close()
        sibling.close()


def test_the_sockets_directory_falls_back_to_tmp_when_the_temporary_one_is_too_long(
        directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from simulator.multiworker import journal_directory

    deep = directory / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    chosen = journal_directory()
    assert chosen is not None and chosen.startswith("/tmp/dfns-sim-journal-")
    shutil.rmtree(chosen)
    assert list(deep.iterdir()) == []  # the too-long attempt is not left behind


def test_a_worker_whose_socket_cannot_be_made_starts_with_its_own_journal(
        directory: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from simulator import Simulator
    from simulator.admin.journal_peers import PEERS_ENV
    from simulator.multiworker import share_journal

    deep = directory / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setenv(PEERS_ENV, str(deep))
    sim = Simulator()
    share_journal(sim)
    assert sim.control.journal_peers is None
    assert sim.control.journals is sim.control.journal
    assert "the request journal stays per worker (AF_UNIX path too long)" in capsys.readouterr().err
