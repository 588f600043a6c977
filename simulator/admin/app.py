"""The admin API under ``/_sim/`` and the top-level ASGI dispatcher of a simulator.

``SimulatorApp`` sends ``/_sim/…`` to the admin routes and everything else through the
faults-and-journal middleware to the Dfns routes, so faults and the journal never touch the
admin API and the admin API never appears under a Dfns path.

Access: ``GET /_sim/health`` is always served (readiness probes, no state). Every other admin
route answers only when the admin API is enabled, and then needs ``Authorization: Bearer
<admin token>`` if a token is configured (compared in constant time). Disabled, the admin
routes answer 404 like any unknown path.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from simulator.admin.control import Control, ControlError
from simulator.admin.faults import FaultSpecError
from simulator.admin.middleware import FaultsAndJournal, pause
from simulator.errors import ApiError
from simulator.http.app import _error_id, error_body, read_body, send_json

log = logging.getLogger("dfns_sim.admin")

PREFIX = "/_sim"
MAX_ADMIN_BODY = 64 * 1024 * 1024  # restore takes whole state documents

Handler = Callable[["AdminRequest"], Awaitable[Any]]


class AdminRequest:
    def __init__(self, method: str, path: str, query: dict[str, str], body: Any) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.body = body

    def field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None


def _only_known(given: Any, known: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ControlError(400, f"unknown {what} {unknown[0]!r}; expected one of "
                                f"{', '.join(known)}", details={"field": unknown[0]})


def _int_query(request: AdminRequest, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ControlError(400, f"{name} must be an integer", details={"field": name}) from None
    if value < 0:
        raise ControlError(400, f"{name} must not be negative", details={"field": name})
    return value


class AdminApi:
    """Routes of ``/_sim/``; each handler returns a JSON body (or ``(status, body)``)."""

    def __init__(self, control: Control, routes: list[Any]) -> None:
        self.control = control
        self.routes = routes
        self.table: dict[tuple[str, str], Handler] = {
            ("GET", "/health"): self.health,
            ("POST", "/reset"): self.reset,
            ("GET", "/snapshot"): self.snapshot,
            ("POST", "/restore"): self.restore,
            ("POST", "/seed"): self.seed,
            ("GET", "/clock"): self.clock,
            ("POST", "/clock"): self.clock_command,
            ("GET", "/faults"): self.list_faults,
            ("POST", "/faults"): self.add_fault,
            ("DELETE", "/faults"): self.clear_faults,
            ("GET", "/outbox"): self.outbox,
            ("DELETE", "/outbox"): self.clear_outbox,
            ("GET", "/journal"): self.journal,
            ("DELETE", "/journal"): self.clear_journal,
            ("GET", "/openapi.json"): self.openapi,
            ("GET", "/signers"): self.signers,
            ("POST", "/signers"): self.set_signer,
        }

    def resolve(self, method: str, sub_path: str) -> Handler | None:
        handler = self.table.get((method, sub_path))
        if handler is None and method == "DELETE" and sub_path.startswith("/faults/"):
            return self.remove_fault
        return handler

    def allows(self, sub_path: str) -> bool:
        return any(path == sub_path for _, path in self.table) or sub_path.startswith("/faults/")

    async def health(self, request: AdminRequest) -> Any:
        # pid: which process answered (under serve --workers, each worker its own).
        body = {"status": "ok", "orgId": self.control.core.default_org_id, "pid": os.getpid()}
        lock_stats = getattr(self.control.core.store, "lock_stats", None)
        if lock_stats is not None:  # a shared SQLite store: its write-lock waits, this process
            body["storeLock"] = lock_stats()
        return body

    async def reset(self, request: AdminRequest) -> Any:
        if request.body is not None and not isinstance(request.body, dict):
            raise ControlError(400, "the body must be empty or {\"orgId\": ...}")
        _only_known(request.body or {}, ("orgId",), "field")  # a typo must not reset everything
        return self.control.reset(request.field("orgId"))

    async def snapshot(self, request: AdminRequest) -> Any:
        return self.control.snapshot()

    async def restore(self, request: AdminRequest) -> Any:
        return self.control.restore(request.body)

    async def seed(self, request: AdminRequest) -> Any:
        if not isinstance(request.body, dict) or "seed" not in request.body:
            raise ControlError(400, "the body must be {\"seed\": <integer or null>}",
                               details={"field": "seed"})
        _only_known(request.body, ("seed",), "field")
        return self.control.seed(request.body["seed"])

    async def clock(self, request: AdminRequest) -> Any:
        return self.control.clock_view()

    async def clock_command(self, request: AdminRequest) -> Any:
        if isinstance(request.body, dict):
            _only_known(request.body, ("action", "at", "seconds"), "field")
        return self.control.clock_command(request.body)

    async def list_faults(self, request: AdminRequest) -> Any:
        return {"items": self.control.faults.list()}

    async def add_fault(self, request: AdminRequest) -> Any:
        try:
            return 201, self.control.faults.add_wire(request.body)
        except FaultSpecError as exc:
            raise ControlError(400, str(exc), details={"field": exc.field}) from None

    async def signers(self, request: AdminRequest) -> Any:
        from simulator.wallets import signer_status

        return signer_status(self.control.core)

    async def set_signer(self, request: AdminRequest) -> Any:
        """``{"index": 2, "available": false}``: take a simulated wallet signer down or up."""
        from simulator.wallets import set_signer_available

        body = request.body if isinstance(request.body, dict) else {}
        index, available = body.get("index"), body.get("available")
        if isinstance(index, bool) or not isinstance(index, int):
            raise ControlError(400, "index must be an integer", details={"field": "index"})
        if not isinstance(available, bool):
            raise ControlError(400, "available must be a boolean", details={"field": "available"})
        return set_signer_available(self.control.core, index, available)

    async def clear_faults(self, request: AdminRequest) -> Any:
        self.control.faults.clear()
        return {"cleared": True}

    async def remove_fault(self, request: AdminRequest) -> Any:
        rule_id = request.path[len("/faults/"):]
        if "/" in rule_id or not self.control.faults.remove(rule_id):
            raise ControlError(404, "fault not found", details={"id": rule_id})
        return {"removed": rule_id}

    def _outbox_filters(self, request: AdminRequest, *extra: str) -> dict[str, Any]:
        q = request.query
        # an unknown (or misspelt) filter would otherwise widen a DELETE to every message
        _only_known(q, ("to", "kind", "orgId", "userId", *extra), "query parameter")
        return {"to": q.get("to"), "kind": q.get("kind"), "org_id": q.get("orgId"),
                "user_id": q.get("userId")}

    async def outbox(self, request: AdminRequest) -> Any:
        items = self.control.outbox(**self._outbox_filters(request, "limit"))
        limit = _int_query(request, "limit")
        if limit is not None:
            items = items[-limit:] if limit else []
        return {"items": items}

    async def clear_outbox(self, request: AdminRequest) -> Any:
        return {"deleted": self.control.clear_outbox(**self._outbox_filters(request))}

    async def journal(self, request: AdminRequest) -> Any:
        _only_known(request.query, ("limit", "method", "path", "status"), "query parameter")
        status = _int_query(request, "status")
        journals = self.control.journals
        items = journals.entries(_int_query(request, "limit"), method=request.query.get("method"),
                                 path=request.query.get("path"), status=status)
        return {"items": items, "size": journals.size}

    async def clear_journal(self, request: AdminRequest) -> Any:
        self.control.journals.clear()
        return {"cleared": True}

    async def openapi(self, request: AdminRequest) -> Any:
        try:
            from simulator.http.openapi import build_openapi  # written alongside this module
        except ImportError:
            raise ControlError(501, "the OpenAPI document is not available in this build") from None
        return build_openapi(self.routes)


class SimulatorApp:
    """The ASGI application of one simulator: admin dispatch, then faults + journal + Dfns."""

    def __init__(self, dfns_app: Any, control: Control, routes: list[Any], *,
                 admin_enabled: bool = True, admin_token: str | None = None) -> None:
        self.dfns_app = dfns_app
        self.control = control
        self.admin = AdminApi(control, routes)
        self.admin_enabled = admin_enabled
        self.admin_token = admin_token or None
        self.wrapped = FaultsAndJournal(dfns_app, control.faults, control.journal, control.core.now,
                                        self_recording=getattr(dfns_app, "table", frozenset()))

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> Any:
        shared = self.control.shared
        if shared is not None:  # serve --workers: clock and faults as the other workers see them
            shared.sync()
        if scope["type"] == "http":
            path = scope.get("path", "")
            if path == PREFIX or path.startswith(PREFIX + "/"):
                return await self._admin(scope, receive, send, path[len(PREFIX):])
        return await self.wrapped(scope, receive, send)

    def _authorised(self, scope: dict) -> bool:
        if self.admin_token is None:
            return True
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization":
                scheme, _, supplied = value.partition(b" ")
                # raw bytes against the token's UTF-8: a non-ASCII token sent as UTF-8 matches
                return scheme.lower() == b"bearer" and hmac.compare_digest(
                    supplied.strip(), self.admin_token.encode("utf-8"))
        return False

    async def _admin(self, scope: dict, receive: Callable, send: Callable, sub_path: str) -> None:
        method = scope["method"]
        try:
            public = (method, sub_path) == ("GET", "/health")
            if not public and not self.admin_enabled:
                raise ApiError(404, "route not found", details={"path": scope["path"]})
            if not public and not self._authorised(scope):
                raise ApiError(401, "admin token missing or invalid",
                               headers={"WWW-Authenticate": 'Bearer realm="dfns-sim-admin"'})
            handler = self.admin.resolve(method, sub_path)
            if handler is None:
                if self.admin.allows(sub_path):
                    raise ApiError(405, "method not allowed", details={"path": scope["path"]})
                raise ApiError(404, "route not found", details={"path": scope["path"]})
            raw = await read_body(receive, MAX_ADMIN_BODY)
            body: Any = None
            if raw.strip():
                try:
                    body = json.loads(raw)
                except (ValueError, UnicodeDecodeError, RecursionError):  # nested too deep
                    raise ApiError(400, "request body is not valid JSON",
                                   code="invalid_json") from None
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            result = await handler(AdminRequest(method, sub_path, query, body))
            status, payload = result if isinstance(result, tuple) else (200, result)
            shared = self.control.shared
            if shared is not None and method != "GET":
                # Answer a change only once every other worker is due to re-read it, so the
                # caller's next request sees it whichever worker takes it.
                await pause(scope, shared.settle_seconds)
            await send_json(send, status, payload)
        except ApiError as exc:
            headers = [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
            await send_json(send, exc.status,
                            error_body(exc.status, exc.message, exc.details, exc.code, _error_id()),
                            headers)
        except Exception:  # noqa: BLE001 - a bug answers in the envelope, never a bare 500
            log.exception("unhandled error in admin %s %s", method, scope["path"])
            await send_json(send, 500,
                            error_body(500, "Internal Server Error", error_id=_error_id()))
