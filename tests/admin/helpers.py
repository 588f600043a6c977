"""Small helpers for the admin-API tests."""

from __future__ import annotations

from typing import Any

import httpx


def admin(door: httpx.Client, verb: str, route: str, body: Any = None, /, **params: Any) -> Any:
    """Call ``/_sim/<path>`` and return the JSON of a 2xx (assert otherwise)."""
    response = door.request(verb, f"/_sim/{route}", json=body,
                            params={k: v for k, v in params.items() if v is not None})
    assert response.status_code < 300, response.text
    return response.json()


def error_of(response: httpx.Response, status: int) -> str:
    """The Dfns envelope's message, after checking status and envelope shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["status"] == status
    assert body["message"] == body["error"]["message"]
    return str(body["message"])
