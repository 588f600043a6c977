"""User-action audit log routes (endpoints.md §4.3, SDK era).

The docs name no operation for these routes; the simulator requires ``Auth:Users:Read``
(reading what users did), so a caller without it gets the usual 403.
"""

from __future__ import annotations

from typing import Any

from simulator.http.app import Call, TextResponse
from simulator.http.routing import AUTH, RouteTable
from simulator.http.schema import ID, Obj, Str
from simulator.services import audit

routes = RouteTable("Audit log")

ISO_TIME = Str(min_length=1, max_length=64)


@routes.route("GET", "/auth/action/logs", caller=AUTH, operations=("Auth:Users:Read",),
              query=Obj(required={"startTime": ISO_TIME, "endTime": ISO_TIME},
                        optional={"userId": ID}))
def list_action_logs(call: Call) -> Any:
    """Export user-action logs as CSV."""
    max_rows = int(call.core.extensions.get("audit_max_rows", audit.MAX_ROWS))
    text, truncated = audit.export_csv(call.core, call.require_caller().org_id,
                                       start_time=call.query["startTime"],
                                       end_time=call.query["endTime"],
                                       user_id=call.query.get("userId"), max_rows=max_rows)
    if truncated:
        call.response_headers["X-Dfns-Result-Truncated"] = "true"
    return TextResponse(text, media_type="text/csv; charset=utf-8")


@routes.route("GET", "/auth/action/logs/{id}", caller=AUTH, operations=("Auth:Users:Read",))
def get_action_log(call: Call) -> Any:
    """Get one user-action log entry."""
    entry = audit.get_entry(call.core, call.require_caller().org_id, call.params["id"])
    return audit.entry_view(call.core, entry)
