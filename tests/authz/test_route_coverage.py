"""Issue 4 must-show 5: the committed route-coverage table matches the code and the spec."""

from __future__ import annotations

import pytest

from simulator import Simulator, coverage

REFRESH = "refresh with: .venv/bin/python -m simulator.coverage --write"


def test_committed_endpoint_list_matches_the_spec() -> None:
    path = coverage.spec_path()
    if path is None:
        pytest.skip("shared/spec/endpoints.md is not available here")
    assert coverage.parse_endpoints(path.read_text()) == coverage.committed_endpoints(), REFRESH


def test_committed_table_is_current() -> None:
    expected = coverage.render(coverage.spec_endpoints(), coverage.simulator_routes())
    assert coverage.DOC_PATH.read_text() == expected, REFRESH


def test_parser_reads_every_form_the_spec_uses() -> None:
    sample = "\n".join([
        "## 2. Login",
        "### 2.6 Logout — `PUT /auth/logout`",
        "* Body: none (docs); TS 0.5.8 sends `POST` — accept both methods.",
        "## 4. Actions",
        "* `GET /auth/action/logs?startTime=…&endTime=…[&userId=…]` — `auth`",
        "| `PUT /auth/apps/{appId}` (TS 0.5.8: POST) | yes |",
        "### 10.1 Send recovery code — `PUT /auth/recover/user/code` "
        "(SDK and TS: `POST`; accept both)",
        "## 12. Permission names — docs era → SDK era (where known)",
        "| `POST /not/an/endpoint` |",
    ])
    found = [(e.method, e.path) for e in coverage.parse_endpoints(sample)]
    assert found == [("PUT", "/auth/logout"), ("POST", "/auth/logout"),
                     ("GET", "/auth/action/logs"),
                     ("PUT", "/auth/apps/{appId}"), ("POST", "/auth/apps/{appId}"),
                     ("PUT", "/auth/recover/user/code"), ("POST", "/auth/recover/user/code")]


def test_table_marks_routes_by_method_and_parameter_position() -> None:
    endpoints = [coverage.Endpoint("1. X", "GET", "/a/{id}"),
                 coverage.Endpoint("1. X", "PUT", "/a/{id}")]
    text = coverage.render(endpoints, [("GET", "/a/{other}"), ("POST", "/b")])
    assert "**1 of 2 spec endpoints implemented.**" in text
    assert "| 1. X | `PUT` | `/a/{id}` | **no** |" in text
    assert "| `POST` | `/b` |" in text


def test_simulator_routes_are_the_served_ones() -> None:
    served = {(r.method, r.path) for r in Simulator().routes}
    assert set(coverage.simulator_routes()) == served
