"""An OpenAPI 3.0 document generated from the route declarations (served at /_sim/openapi.json).

Everything comes from the :class:`~simulator.http.routing.RouteSpec` list the app serves: path
parameters from the path template, query parameters and request bodies from the declared
schemas (``Schema.openapi()``), bearer security for authenticated routes, the required
``X-DFNS-USERACTION`` header for user-action routes, and the Dfns error envelope for every 4xx
and 5xx. Schemathesis fuzzes the API from this document (tests/hardening).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from simulator.http.routing import NONE, TEMP, RouteSpec
from simulator.http.schema import Obj, Schema

_PATH_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z_]+)?}")

ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "message"],
            "properties": {
                "id": {"type": "string"},
                "status": {"type": "integer"},
                "message": {"type": "string"},
                "details": {"type": "object"},
                "code": {"type": "string"},
            },
        },
        "message": {"type": "string"},
    },
}

_ERROR_RESPONSE = {
    "description": "Dfns error envelope",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
}


def _schema(schema: Schema | None) -> dict[str, Any]:
    if schema is None:
        return {}
    try:
        return schema.openapi()
    except NotImplementedError:  # a schema type without a rendering accepts anything
        return {}


def openapi_path(path: str) -> str:
    """Starlette's ``{name:converter}`` becomes OpenAPI's ``{name}``."""
    return _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def operation_id(spec: RouteSpec) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", openapi_path(spec.path)).strip("_")
    return f"{spec.method.lower()}_{words}"


def _parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in _PATH_PARAM.findall(spec.path)
    ]
    if isinstance(spec.query, Obj):
        required = set(spec.query.required)
        for name, schema in {**spec.query.required, **spec.query.optional}.items():
            params.append({"name": name, "in": "query", "required": name in required,
                           "schema": _schema(schema)})
    if spec.user_action:
        params.append({
            "name": "X-DFNS-USERACTION", "in": "header", "required": True,
            "description": "one-time user-action token from POST /auth/action, bound to this "
                           "method, path and body",
            "schema": {"type": "string"},
        })
    return params


def build_operation(spec: RouteSpec) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id(spec),
        "summary": spec.summary or f"{spec.method} {spec.path}",
        "tags": list(spec.tags),
        "responses": {
            "2XX": {"description": "success", "content": {"application/json": {"schema": {}}}},
            "4XX": _ERROR_RESPONSE,
            "5XX": _ERROR_RESPONSE,
        },
    }
    params = _parameters(spec)
    if params:
        operation["parameters"] = params
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema(spec.body)}},
        }
    # Routes any caller may use say so explicitly; the others take a bearer token (a login,
    # PAT, service-account token, or a temporary registration/recovery token for TEMP).
    operation["security"] = [] if spec.caller == NONE else [{"bearer": []}]
    notes = []
    if spec.caller == TEMP:
        notes.append("bearer: the temporaryAuthenticationToken of a "
                     + "/".join(spec.temp_kinds) + " challenge")
    if spec.operations:
        notes.append("permissions: " + ", ".join(spec.operations)
                     + (" (checked on the application)" if spec.app_only else ""))
    if notes:
        operation["description"] = "; ".join(notes)
    return operation


def build_openapi(routes: Iterable[RouteSpec], *, title: str = "dfns-sim (Dfns auth API simulator)",
                  version: str = "0.1.0", server_url: str | None = None) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for spec in routes:
        item = paths.setdefault(openapi_path(spec.path), {})
        item[spec.method.lower()] = build_operation(spec)
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
            "schemas": {"ErrorEnvelope": ERROR_ENVELOPE},
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
