"""The OpenAPI document generated from the route declarations."""

from __future__ import annotations

import json
import re

import schemathesis

from simulator import Simulator
from simulator.http.openapi import build_openapi, openapi_path
from simulator.http.routing import NONE


def test_document_covers_every_route_and_loads_in_schemathesis() -> None:
    sim = Simulator()
    doc = build_openapi(sim.routes)
    json.dumps(doc)  # plain JSON
    assert doc["openapi"].startswith("3.0")
    declared = {(spec.method.lower(), openapi_path(spec.path)) for spec in sim.routes}
    documented = {(method, path) for path, item in doc["paths"].items() for method in item}
    assert documented == declared
    operations = [r.ok() for r in schemathesis.openapi.from_dict(doc).get_all_operations()]
    assert len(operations) == len(declared)


def test_operations_carry_security_user_action_params_bodies_and_errors() -> None:
    sim = Simulator()
    doc = build_openapi(sim.routes)
    for spec in sim.routes:
        op = doc["paths"][openapi_path(spec.path)][spec.method.lower()]
        names = {(p["in"], p["name"]) for p in op.get("parameters", [])}
        assert (("header", "X-DFNS-USERACTION") in names) == spec.user_action
        assert op["security"] == ([] if spec.caller == NONE else [{"bearer": []}])
        assert ("requestBody" in op) == (spec.body is not None)
        for name in spec.query.required if spec.query is not None else ():
            assert ("query", name) in names
        assert op["responses"]["4XX"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorEnvelope"}
        for param in re.findall(r"{(\w+)}", openapi_path(spec.path)):
            assert ("path", param) in names
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_login_init_body_schema_is_the_declared_one() -> None:
    doc = build_openapi(Simulator().routes)
    request_body = doc["paths"]["/auth/login/init"]["post"]["requestBody"]
    body = request_body["content"]["application/json"]["schema"]
    assert body["required"] == ["username"]
    assert body["properties"]["username"]["minLength"] == 1
    assert openapi_path("/auth/users/{userId:str}/x") == "/auth/users/{userId}/x"
