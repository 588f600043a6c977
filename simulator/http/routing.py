"""Route declarations: what each endpoint needs before its handler may run.

A handler is a plain function ``(call) -> body`` or ``(call) -> (status, body)``; everything
else (auth, application, permissions, schema, user-action token) is declared here and enforced
by :mod:`simulator.http.app` once for all routes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.http.schema import Obj

# Who may call: nobody in particular, a temporary registration/recovery session, any bearer,
# or only a service account.
NONE, TEMP, AUTH, SA = "none", "temp", "auth", "sa"


@dataclass(frozen=True, kw_only=True)
class RouteSpec:
    method: str
    path: str
    handler: Callable[[Any], Any]
    caller: str = NONE
    user_action: bool = False
    operations: tuple[str, ...] = ()
    # "(app)" in endpoints.md: the operations are checked on the application only, e.g. the
    # caller's own credentials and user-action signing.
    app_only: bool = False
    body: Obj | None = None
    query: Obj | None = None
    summary: str = ""
    temp_kinds: tuple[str, ...] = ("registration",)
    # SA-only routes report this operation in their 403 (endpoints.md §12 SDK names).
    sa_operation: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


class RouteTable:
    """Collects routes declared with the :meth:`route` decorator in one module."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.routes: list[RouteSpec] = []

    def route(self, method: str | tuple[str, ...], path: str, **options: Any) -> Callable:
        methods = (method,) if isinstance(method, str) else method

        def register(handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
            summary = options.pop("summary", None) or (handler.__doc__ or "").strip().split("\n")[0]
            for m in methods:
                self.routes.append(RouteSpec(method=m, path=path, handler=handler, summary=summary,
                                             tags=(self.tag,), **options))
            return handler

        return register
