"""Starlette application: one generic endpoint enforces every route's declarations.

Order per request (endpoints.md §9 access-check order): body size → JSON → application →
nonce → caller → permissions → schema → user-action token → handler → render. Any
:class:`ApiError` becomes the Dfns error envelope; anything else is a bug and still answers
in the envelope (500) without losing state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.routing import Route

from simulator import errors
from simulator.encoding import compact_json, loads_json, nested_deeper_than
from simulator.errors import ApiError
from simulator.http.routing import AUTH, NONE, SA, TEMP, RouteSpec
from simulator.http.schema import policy_in_effect
from simulator.models import Application, Challenge, UserActionToken
from simulator.services import actions, permissions
from simulator.services.core import VERIFY_SECONDS, Core
from simulator.services.identity import Caller, resolve_caller, resolve_temp_token

log = logging.getLogger("dfns_sim.http")

JSON_HEADERS = [(b"content-type", b"application/json")]
# Scope key under which the control plane may hand an endpoint a journal callback:
# ``sink(scope, request_body, status, response_headers, response_body)``, called once the
# response is sent. Endpoints hold every piece already, so the journal need not wrap
# ``receive`` / ``send`` for them (admin/middleware.py).
EXCHANGE_SINK = "dfns_sim.exchange_sink"
_NO_SCOPE = nullcontext()  # reusable: entering it does nothing


@dataclass(slots=True)
class Call:
    """What a handler sees: the validated request and the resolved identities."""

    core: Core
    route: RouteSpec
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, Any]
    headers: dict[str, str]
    raw_body: bytes
    body: Any = None
    app: Application | None = None
    caller: Caller | None = None
    temp: Challenge | None = None
    user_action: UserActionToken | None = None
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def org_id(self) -> str:
        if self.caller is not None:
            return self.caller.org_id
        if self.temp is not None:
            return self.temp.org_id
        if self.app is not None:
            return self.app.org_id
        return self.core.default_org_id

    def require_caller(self) -> Caller:
        if self.caller is None:  # pragma: no cover - guaranteed by the route declaration
            raise errors.unauthorized()
        return self.caller

    def require_app(self) -> Application:
        if self.app is None:  # pragma: no cover - every request resolves one (_application)
            raise errors.unauthorized(errors.APP_INVALID)
        return self.app

    def require_temp(self) -> Challenge:
        if self.temp is None:  # pragma: no cover - guaranteed by the route declaration (TEMP)
            raise errors.unauthorized()
        return self.temp


def error_body(status: int, message: str, details: Mapping[str, Any] | None = None,
               code: str | None = None, error_id: str = "") -> dict[str, Any]:
    inner: dict[str, Any] = {"id": error_id, "status": status, "message": message}
    if details:
        inner["details"] = dict(details)
    if code:
        inner["code"] = code
    # The top-level copy serves clients that read body.message (errors.md §1).
    return {"error": inner, "message": message}


def _error_id() -> str:
    return str(time.time_ns())


async def read_body(receive: Callable, limit: int) -> bytes:
    """The request body, or 413 once it passes ``limit`` bytes (also when sent chunked)."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body too large (limit {limit} bytes)")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def json_payload(body: Any, headers: Iterable[tuple[bytes, bytes]] = ()
                 ) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Response headers (JSON type and length first) and the compact JSON bytes of ``body``."""
    payload = compact_json(body).encode()  # == json.dumps(body, separators=(",", ":"))
    return [*JSON_HEADERS, (b"content-length", str(len(payload)).encode()), *headers], payload


async def send_response(send: Callable, status: int, headers: list[tuple[bytes, bytes]],
                        payload: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def send_json(send: Callable, status: int, body: Any,
                    headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    raw_headers, payload = json_payload(body, headers)
    await send_response(send, status, raw_headers, payload)


@dataclass
class TextResponse:
    """A handler result sent as is instead of JSON (e.g. the CSV audit-log export)."""

    text: str
    status: int = 200
    media_type: str = "text/plain; charset=utf-8"


class Endpoint:
    """The ASGI callable behind one :class:`RouteSpec`."""

    def __init__(self, core: Core, spec: RouteSpec) -> None:
        self.core = core
        self.spec = spec

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        core = self.core
        verify_seconds = [0.0]
        VERIFY_SECONDS.set(verify_seconds)
        started = time.perf_counter()
        extra_headers: dict[str, str] = {}
        call: Call | None = None
        raw = b""
        try:
            raw = await read_body(receive, core.config.max_body_bytes)
            # A persistent store answers the request's repeated reads from what it knows is
            # current (SqliteStore.read_scope); the in-memory one has nothing to gain.
            read_scope = getattr(core.store, "read_scope", None)
            with read_scope() if read_scope is not None else _NO_SCOPE:
                call = self._prepare(scope, raw)
                result = self.spec.handler(call)
            status, body = result if isinstance(result, tuple) else (200, result)
            if isinstance(result, TextResponse):
                status, body = result.status, result
            extra_headers = call.response_headers
        except ApiError as exc:
            status = exc.status
            body = error_body(exc.status, exc.message, exc.details, exc.code, _error_id())
            extra_headers = exc.headers
        except Exception:  # noqa: BLE001 - a bug must not take the server down or leak details
            log.exception("unhandled error in %s %s", self.spec.method, self.spec.path)
            status, body = 500, error_body(500, "Internal Server Error", error_id=_error_id())
        # Audit hook: every request that redeemed a user-action token, whatever its outcome.
        after_user_action = core.extensions.get("after_user_action")
        if after_user_action is not None and call is not None and call.user_action is not None:
            try:
                after_user_action(core, call, status, body)
            except Exception:  # noqa: BLE001 - auditing must never change the answer
                log.exception("after_user_action hook failed")
        total_ms = (time.perf_counter() - started) * 1000
        timing = f"verify;dur={verify_seconds[0] * 1000:.3f}, app;dur={total_ms:.3f}"
        headers = [(b"server-timing", timing.encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in extra_headers.items()]
        if isinstance(body, TextResponse):
            payload = body.text.encode()
            headers += [(b"content-type", body.media_type.encode()),
                        (b"content-length", str(len(payload)).encode())]
        else:
            headers, payload = json_payload(body, headers)
        await send_response(send, status, headers, payload)
        sink = scope.get(EXCHANGE_SINK)
        if sink is not None:  # the journal, handed over by the control plane (admin/middleware)
            sink(scope, raw, status, headers, payload)
        try:  # after the answer: a sweep (at most once a second) never delays the one it follows
            core.housekeeper.maybe_sweep()
        except Exception:  # noqa: BLE001 - housekeeping must never break a request
            log.exception("housekeeping sweep failed")

    def _prepare(self, scope: dict, raw: bytes) -> Call:
        core, spec = self.core, self.spec
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query_string = scope.get("query_string", b"")
        query = dict(parse_qsl(query_string.decode("latin-1"))) if query_string else {}
        call = Call(core=core, route=spec, method=scope["method"], path=scope["path"],
                    params=dict(scope.get("path_params", {})), query=query, headers=headers,
                    raw_body=raw)
        parsed: Any = None
        if raw.strip():
            try:
                parsed = loads_json(raw)
            except (ValueError, UnicodeDecodeError, RecursionError):  # nested past the stack
                if core.config.policy.on("json.body"):
                    raise ApiError(400, "request body is not valid JSON",
                                   code="invalid_json") from None
                # Mutant (json.body off, TEST-ONLY): an unparsable body is read as no body.
            limit = core.config.max_json_depth
            if nested_deeper_than(raw, parsed, limit):
                raise ApiError(400, f"request body is nested too deeply (at most {limit} levels)",
                               code="invalid_json")
        # 1. caller identity decides the org for everything after it
        if spec.caller in (AUTH, SA):
            call.caller = resolve_caller(core, headers.get("authorization"))
        elif spec.caller == TEMP:
            call.temp = resolve_temp_token(core, headers.get("authorization"),
                                           kinds=spec.temp_kinds)
        # 2. application (X-DFNS-APPID optional: spec README row 1)
        call.app = self._application(call, headers.get("x-dfns-appid"), parsed)
        # 3. nonce (optional unless configured strict: row 2)
        nonce = headers.get("x-dfns-nonce")
        if nonce is not None or core.config.require_nonce:
            from simulator.services.nonces import check_nonce

            check_nonce(core, nonce)
        # 4. service-account-only endpoints, then permissions
        if spec.caller == SA and not call.require_caller().is_service_account \
                and core.config.policy.on("sa_only"):
            caller = call.require_caller()
            raise errors.not_permitted(caller.user.kind, caller.user.id,
                                       spec.sa_operation or spec.path)
        permissions.check(core, app=call.app, caller=call.caller, operations=spec.operations,
                          app_only=spec.app_only or spec.caller in (NONE, TEMP))
        # 5. schema
        with policy_in_effect(core.config.policy):
            if spec.body is not None:
                call.body = spec.body.accept(parsed if parsed is not None else {})
            else:
                call.body = parsed
            if spec.query is not None:
                call.query = spec.query.accept(query, "query")
        # 6. user action, last: a token is only consumed by a request that is otherwise valid
        if spec.user_action:
            call.user_action = actions.redeem(
                core, call.require_caller(), headers.get("x-dfns-useraction"),
                method=call.method, path=call.path, body=raw,
            )
        return call

    @staticmethod
    def _request_org(call: Call, parsed: Any, default: str) -> str:
        """The org a request acts in, for checking X-DFNS-APPID against (challenges.md §1: the
        app must belong to that org): the caller's, the temporary session's, or the orgId /
        tenantId the body names; ``default`` when nothing names one."""
        if call.caller is not None:
            return call.caller.org_id
        if call.temp is not None:
            return call.temp.org_id
        if isinstance(parsed, dict):
            named = parsed.get("orgId") or parsed.get("tenantId")
            if isinstance(named, str) and named:
                return named
        return default

    def _application(self, call: Call, app_id: str | None, parsed: Any) -> Application:
        core = self.core
        if app_id:
            app: Application | None = core.store.get("apps", app_id.strip())
            valid = app is not None and app.is_active and not app.is_archived \
                and app.org_id == self._request_org(call, parsed, app.org_id)
            if app is not None and valid:
                from simulator.services.applications import check_app_secret

                check_app_secret(core, app,
                                 call.headers.get("x-dfns-appsecret"))  # server-side apps only
                return app
            if core.config.policy.on("app.valid"):
                raise errors.unauthorized(errors.APP_INVALID)
            # Mutant behaviour (app.valid off): the header is ignored, the default app applies.
        org_id = self._request_org(call, parsed, core.default_org_id)
        if call.caller is None and call.temp is None and core.org(org_id) is None:
            org_id = core.default_org_id  # the body names an org that does not exist
        return core.default_app(org_id)


class ExactPathDispatch:
    """Calls the endpoint of a parameter-free route directly; everything else goes to Starlette.

    Profiling the hot path showed Starlette's router trying each route's regex in turn (a
    dozen misses before ``POST /auth/action``), about a tenth of the request's server time.
    A dict lookup gives the same answer for a path no earlier route (in Starlette's order)
    also matches; any other path, method or scope still takes Starlette's route.
    """

    def __init__(self, app: Starlette, table: dict[tuple[str, str], Any]) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            endpoint = self.table.get((scope["method"], scope["path"]))
            if endpoint is not None:
                scope["path_params"] = {}
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def __getattr__(self, name: str) -> Any:  # the Starlette app's own attributes
        return getattr(self.app, name)


def _exact_table(ordered: list[Route]) -> dict[tuple[str, str], Any]:
    table: dict[tuple[str, str], Any] = {}
    for position, route in enumerate(ordered):
        if route.param_convertors or not isinstance(route.endpoint, Endpoint):
            continue
        method = route.endpoint.spec.method
        shadowed = any(
            earlier.path_regex.match(route.path)
            and (earlier.methods is None or method in earlier.methods)
            for earlier in ordered[:position]
        )
        if not shadowed:
            table[(method, route.path)] = route.endpoint
    return table


def build_app(core: Core, routes: Iterable[RouteSpec], extra_routes: Iterable[Route] = ()) -> Any:
    starlette_routes = [
        Route(spec.path, endpoint=Endpoint(core, spec), methods=[spec.method]) for spec in routes
    ]
    ordered = [*extra_routes, *starlette_routes]
    app = Starlette(routes=ordered)

    async def not_found(request: Any, exc: Any) -> Any:
        from starlette.responses import JSONResponse

        status = getattr(exc, "status_code", 404)
        message = "route not found" if status == 404 else "method not allowed"
        return JSONResponse(error_body(status, message, {"path": request.url.path},
                                       error_id=_error_id()),
                            status_code=status)

    async def server_error(request: Any, exc: Any) -> Any:
        from starlette.responses import JSONResponse

        return JSONResponse(error_body(500, "Internal Server Error", error_id=_error_id()),
                            status_code=500)

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, not_found)
    app.add_exception_handler(500, server_error)
    return ExactPathDispatch(app, _exact_table([r for r in ordered if isinstance(r, Route)]))
