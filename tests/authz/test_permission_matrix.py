"""Issue 4 must-show 2: every route × a caller lacking each operation it declares → 403 naming
the operation; the same call with the operation → anything but a permission 403.

Built from the running simulator's route declarations, so new routes are covered as they land.
Where endpoints.md marks the check "(app)" (and for unauthenticated / temporary callers) the
application is the party lacking the operation; otherwise the calling service account is.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from simulator import Simulator
from simulator.http.routing import NONE, SA, TEMP, RouteSpec
from simulator.services.challenges import new_challenge
from simulator.services.identity import challenge_token
from simulator.services.users import create_user
from tests.authz.helpers import all_operations_but, app_with, service_account_with

NOT_PERMITTED = "is not authorized to perform operation"


def _cases() -> list[Any]:
    cases = []
    for spec in Simulator().routes:
        for operation in spec.operations:
            cases.append(pytest.param(spec, operation, id=f"{spec.method} {spec.path} {operation}"))
    return cases


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "zz-missing-id", path)


def _app_checked(spec: RouteSpec) -> bool:
    return spec.app_only or spec.caller in (NONE, TEMP)


def _bearer(sim: Simulator, spec: RouteSpec, bootstrap: dict[str, Any]) -> str | None:
    if spec.caller == NONE:
        return None
    if spec.caller == TEMP:
        user = create_user(sim.core, org_id=sim.org_id,
                           username=f"{sim.core.new_id('u')}@example.com",
                           kind="EndUser", registration="Delegated")
        challenge = new_challenge(sim.core, kind=spec.temp_kinds[0], user=user,
                                  app=sim.core.default_app(sim.org_id), lifetime=600)
        return challenge_token(sim.core, challenge, temp=True)
    return bootstrap["serviceAccount"]["accessToken"]


def _call(door: httpx.Client, spec: RouteSpec, token: str | None,
          app_id: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if app_id:
        headers["X-DFNS-APPID"] = app_id
    content = None if spec.method == "GET" else b"{}"
    return door.request(spec.method, _concrete(spec.path), content=content, headers=headers)


@pytest.mark.parametrize(("spec", "operation"), _cases())
def test_lacking_operation_is_403_naming_it(sim: Simulator, door: httpx.Client,
                                            bootstrap: dict[str, Any],
                                             spec: RouteSpec, operation: str) -> None:
    if _app_checked(spec):
        app = app_with(sim, all_operations_but(operation))
        denied = _call(door, spec, _bearer(sim, spec, bootstrap), app.id)
        expected = f"Application {app.id} {NOT_PERMITTED} ({operation})"
    else:
        caller = service_account_with(sim, all_operations_but(operation))
        denied = _call(door, spec, caller.token, None)
        expected = f"CustomerEmployee {caller.user_id} {NOT_PERMITTED} ({operation})"
    assert denied.status_code == 403, denied.text
    assert denied.json()["error"]["message"] == expected
    assert denied.json()["error"]["details"]["operation"] == operation

    allowed = _call(door, spec, _bearer(sim, spec, bootstrap), None)
    assert allowed.status_code < 500, allowed.text
    assert not (allowed.status_code == 403 and NOT_PERMITTED in allowed.text), allowed.text


def test_sa_only_routes_reject_human_callers_naming_the_sdk_operation(sim: Simulator,
                                                                      door: httpx.Client) -> None:
    """SA-only routes answer 403 to non-SA callers even with every operation (endpoints.md §12)."""
    from simulator.services.identity import new_login_session

    user = create_user(sim.core, org_id=sim.org_id, username="human@example.com",
                       kind="CustomerEmployee",
                       registration="Delegated")
    from simulator.services import permissions
    from tests.authz.helpers import grant

    grant(sim, user.id, permissions.known_operations(), kind="User")
    token = new_login_session(sim.core, user, app=sim.core.default_app(sim.org_id))
    sa_routes = [s for s in sim.routes if s.caller == SA]
    assert sa_routes
    for spec in sa_routes:
        response = _call(door, spec, token, None)
        assert response.status_code == 403, spec.path
        assert response.json()["error"]["message"] == (
            f"CustomerEmployee {user.id} {NOT_PERMITTED} ({spec.sa_operation or spec.path})")
