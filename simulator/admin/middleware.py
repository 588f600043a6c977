"""ASGI middleware around the Dfns routes: applies scheduled faults and records the journal.

Never applied to ``/_sim/`` (the dispatcher in :mod:`simulator.admin.app` routes those
around it). Both doors run the same code; the in-process door is recognised by the
``dfns_sim.inprocess`` scope extension, where real awaiting is impossible, so latency is a
blocking sleep and a dropped connection is an ``httpx.RemoteProtocolError`` raised straight
to the caller, which is what httpx raises over a socket the server closed without answering.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Container
from typing import Any

import httpx

from simulator.admin.faults import FaultRegistry, FaultRule
from simulator.admin.journal import Journal
from simulator.http.app import EXCHANGE_SINK
from simulator.transport import INPROCESS_EXTENSION

log = logging.getLogger("dfns_sim.faults")
_STARTED = "dfns_sim.started"


def _error_payload(status: int, message: str) -> bytes:
    from simulator.http.app import _error_id, error_body

    body = error_body(status, message, {"simulatedFault": True}, error_id=_error_id())
    return json.dumps(body, separators=(",", ":")).encode()


async def _close_connection(receive: Callable) -> bool:
    """Close the client's TCP connection without a response (uvicorn).

    uvicorn runs each request as a task over ``RequestResponseCycle.run_asgi``; that cycle
    holds the asyncio transport. Closing it, then waiting for the disconnect, leaves uvicorn
    nothing to send and nothing to log; the client sees the peer close the connection.
    """
    task = asyncio.current_task()
    frame = getattr(task.get_coro(), "cr_frame", None) if task is not None else None
    cycle = frame.f_locals.get("self") if frame is not None else None
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "close"):
        return False
    transport.close()
    try:
        async with asyncio.timeout(5):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:  # pragma: no cover - the transport is closed either way
        pass
    return True


async def _drain(receive: Callable) -> None:
    """Read the request body so the server is not left with unread bytes."""
    more = True
    while more:
        message = await receive()
        more = message["type"] == "http.request" and message.get("more_body", False)


class _Capture:
    """What one exchange sent and received, for the journal (bound methods, no per-request
    closures: this wraps every Dfns request)."""

    __slots__ = ("inner_receive", "inner_send", "request_chunks", "status", "headers", "chunks")

    def __init__(self, receive: Callable, send: Callable) -> None:
        self.inner_receive = receive
        self.inner_send = send
        self.request_chunks: list[bytes] = []
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []

    async def receive(self) -> dict[str, Any]:
        message = await self.inner_receive()
        if message["type"] == "http.request":
            self.request_chunks.append(message.get("body", b""))
        return message

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", ()))
        elif kind == "http.response.body":
            self.chunks.append(message.get("body", b""))
        await self.inner_send(message)


def is_inprocess(scope: dict) -> bool:
    """True for a request through ``sim.client()`` (no event loop to await timers on)."""
    return INPROCESS_EXTENSION in (scope.get("extensions") or {})


async def pause(scope: dict, seconds: float) -> None:
    """Wait ``seconds`` before answering: awaited under a server, a blocking sleep in process."""
    if is_inprocess(scope):
        time.sleep(seconds)
    else:
        await asyncio.sleep(seconds)


class FaultsAndJournal:
    """Wraps the Dfns ASGI app.

    ``self_recording`` holds the (method, path) pairs answered by a Dfns endpoint: with no
    fault to apply, such a request is not wrapped; the endpoint hands its exchange to
    :meth:`_sink` instead (measured: wrapping ``receive``/``send`` was ~7 % of the hot path).
    """

    def __init__(self, app: Any, faults: FaultRegistry, journal: Journal,
                 now: Callable[[], float],
                 self_recording: Container[tuple[str, str]] = frozenset()) -> None:
        self.app = app
        self.faults = faults
        self.journal = journal
        self.now = now
        self.self_recording = self_recording

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> Any:
        if scope["type"] != "http" or (not self.journal.enabled and not len(self.faults)):
            return await self.app(scope, receive, send)
        rule = self.faults.pick(scope["method"], scope["path"])
        started = time.perf_counter()
        if rule is None and (scope["method"], scope["path"]) in self.self_recording:
            scope[_STARTED] = started
            scope[EXCHANGE_SINK] = self._sink
            return await self.app(scope, receive, send)
        capture = _Capture(receive, send)
        try:
            if rule is not None:
                handled = await self._apply(rule, scope, capture.receive, capture.send,
                                            is_inprocess(scope))
                if handled:
                    return None
            return await self.app(scope, capture.receive, capture.send)
        finally:
            self._record(scope, capture, started, rule)

    async def _apply(self, rule: FaultRule, scope: dict, receive: Callable, send: Callable,
                     inprocess: bool) -> bool:
        """Apply ``rule``; True when it produced the outcome (the app is not called)."""
        if rule.latency_ms:
            await pause(scope, rule.latency_ms / 1000)
        if rule.action == "latency":
            return False
        if rule.action == "drop":
            if inprocess:
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            await _drain(receive)  # an unread body would turn the close into a TCP reset
            if await _close_connection(receive):
                return True
            # Not under uvicorn: the closest we can do is a response that never completes.
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", b"1")]})
            raise ConnectionAbortedError("dfns-sim dropped the connection (simulated fault)")
        await _drain(receive)
        payload = _error_payload(rule.status, rule.message)
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(payload)).encode()),
                   (b"x-dfns-sim-fault", rule.id.encode())]
        if rule.action == "rate_limit" or rule.status in (429, 503):
            headers.append((b"retry-after", str(rule.retry_after).encode()))
        await send({"type": "http.response.start", "status": rule.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        return True

    def _sink(self, scope: dict, request_body: bytes, status: int,
              response_headers: list[tuple[bytes, bytes]], response_body: bytes) -> None:
        self._append(scope, request_body, status, response_headers, response_body,
                     scope[_STARTED], None)

    def _append(self, scope: dict, request_body: bytes, status: int | None,
                response_headers: list[tuple[bytes, bytes]], response_body: bytes,
                started: float, rule: FaultRule | None) -> None:
        # Raw values only (epoch, bytes, header lists): formatting and masking happen when the
        # journal is read, not on the request path.
        try:
            elapsed = time.perf_counter() - started
            self.journal.record(
                self.now(), scope["method"], scope["path"], scope.get("query_string", b""),
                list(scope.get("headers", ())), request_body, status, response_headers,
                response_body, round(elapsed * 1000, 3),
                None if rule is None else {"id": rule.id, "action": rule.action},
                arrived=time.time() - elapsed,
            )
        except Exception:  # noqa: BLE001 - the journal must never break a request
            log.exception("could not record a journal entry")

    def _record(self, scope: dict, capture: _Capture, started: float,
                rule: FaultRule | None) -> None:
        chunks, body = capture.request_chunks, capture.chunks
        self._append(scope, chunks[0] if len(chunks) == 1 else b"".join(chunks),
                     capture.status or None,  # None: the connection was dropped
                     capture.headers, body[0] if len(body) == 1 else b"".join(body),
                     started, rule)
