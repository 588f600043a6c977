"""``limit`` / ``paginationToken`` → ``{items, nextPageToken?}`` over a stable ordering."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from simulator.errors import ApiError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def paginate(call: Any, rows: Sequence[Any], *, key: Callable[[Any], str],
             render: Callable[[Any], Any]) -> dict[str, Any]:
    raw_limit = call.query.get("limit")
    try:
        limit = DEFAULT_LIMIT if raw_limit in (None, "") else int(raw_limit)
    except ValueError:
        raise ApiError(400, "invalid limit: must be an integer",
                       details={"field": "limit"}) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"invalid limit: must be between 1 and {MAX_LIMIT}",
                       details={"field": "limit"})
    ordered = sorted(rows, key=key)
    token = call.query.get("paginationToken")
    if token:
        ordered = [r for r in ordered if key(r) > token]
    page = ordered[:limit]
    body: dict[str, Any] = {"items": [render(r) for r in page]}
    if len(ordered) > limit:
        body["nextPageToken"] = key(page[-1])
    return body
