"""A lean synchronous httpx transport that calls the ASGI app in the calling thread.

Starlette's TestClient hops to a portal thread per request (~1.5 ms); the simulator's app
never awaits real I/O, so its coroutine can be driven to completion directly, which costs
a few microseconds. If an app ever does await a pending future, we fail loudly instead of
hanging.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import httpx

INPROCESS_EXTENSION = "dfns_sim.inprocess"


class InProcessTransport(httpx.BaseTransport):
    def __init__(self, app: Any, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self.app = app
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        url = request.url
        raw_path = url.raw_path.split(b"?", 1)[0]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": unquote(raw_path.decode("ascii")),
            "raw_path": raw_path,
            "query_string": url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            "client": self.client,
            "extensions": {INPROCESS_EXTENSION: {}},
            "state": {},
        }
        request_sent = False
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal request_sent
            if request_sent:
                return {"type": "http.disconnect"}
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        coroutine = self.app(scope, receive, send)
        try:
            coroutine.send(None)
        except StopIteration:
            pass
        else:
            coroutine.close()
            raise RuntimeError("the ASGI app awaited real I/O; InProcessTransport cannot drive it")
        return httpx.Response(status, headers=headers, content=b"".join(chunks), request=request)
