"""Permission routes (dfns-api-docs ``api-docs/permissions``; dfns-sdk-python permissions client).

Both eras: the SDK nests assignments under ``/permissions/{permissionId}/assignments``; the
older docs had a flat ``/permissions/assignments`` collection. Literal paths are declared
before ``/permissions/{permissionId}`` so Starlette matches them first.
"""

from __future__ import annotations

from typing import Any

from simulator.http.app import Call
from simulator.http.routing import AUTH, RouteTable
from simulator.http.schema import ID, NAME, Array, Bool, Obj, Str
from simulator.services import permissions_admin as admin
from simulator.services.pagination import paginate

routes = RouteTable("Permissions")

OPERATIONS = Array(Str(min_length=1, max_length=200), max_items=1000)
PAGE = Obj(optional={"limit": Str(max_length=10), "paginationToken": Str(max_length=500)})


def _org(call: Call) -> str:
    return call.require_caller().org_id


def _assignments(call: Call, permission_id: str | None) -> Any:
    rows = admin.list_assignments(call.core, _org(call), permission_id)
    return paginate(call, rows, key=lambda a: a.id, render=admin.assignment_view)


# -- docs-era flat assignment collection -------------------------------------------------
@routes.route("GET", "/permissions/assignments", caller=AUTH,
              operations=("PermissionAssignments:Read",),
              query=PAGE)
def list_all_assignments(call: Call) -> Any:
    """List assignments (docs era)."""
    return _assignments(call, None)


@routes.route("POST", "/permissions/assignments", caller=AUTH, user_action=True,
              operations=("PermissionAssignments:Create",),
              body=Obj(required={"permissionId": ID, "identityId": ID}))
def create_flat_assignment(call: Call) -> Any:
    """Create assignment (docs era)."""
    return admin.assignment_view(admin.assign(call.core, _org(call), call.body["permissionId"],
                                              call.body["identityId"]))


@routes.route("DELETE", "/permissions/assignments/{assignmentId}", caller=AUTH, user_action=True,
              operations=("PermissionAssignments:Revoke",))
def revoke_flat_assignment(call: Call) -> Any:
    """Revoke assignment (docs era)."""
    return admin.assignment_view(admin.revoke(call.core, _org(call), call.params["assignmentId"]))


# -- permissions -------------------------------------------------------------------------
@routes.route("POST", "/permissions", caller=AUTH, user_action=True,
              operations=("Permissions:Create",),
              body=Obj(required={"name": NAME, "operations": OPERATIONS}))
def create_permission(call: Call) -> Any:
    """Create permission."""
    permission = admin.create(call.core, org_id=_org(call), name=call.body["name"],
                              operations=call.body["operations"])
    return admin.permission_view(permission)


@routes.route("GET", "/permissions", caller=AUTH, operations=("Permissions:Read",), query=PAGE)
def list_permissions(call: Call) -> Any:
    """List permissions."""
    return paginate(call, admin.list_all(call.core, _org(call)), key=lambda p: p.id,
                    render=admin.permission_view)


@routes.route("GET", "/permissions/{permissionId}", caller=AUTH, operations=("Permissions:Read",))
def get_permission(call: Call) -> Any:
    """Get permission."""
    return admin.permission_view(admin.get(call.core, _org(call), call.params["permissionId"]))


@routes.route("PUT", "/permissions/{permissionId}", caller=AUTH, user_action=True,
              operations=("Permissions:Update",),
              body=Obj(optional={"name": NAME, "operations": OPERATIONS}))
def update_permission(call: Call) -> Any:
    """Update permission."""
    return admin.permission_view(admin.update(call.core, _org(call), call.params["permissionId"],
                                              call.body))


@routes.route("PUT", "/permissions/{permissionId}/archive", caller=AUTH, user_action=True,
              operations=("Permissions:Archive",), body=Obj(required={"isArchived": Bool()}))
def archive_permission(call: Call) -> Any:
    """Archive or unarchive permission."""
    permission = admin.archive(call.core, _org(call), call.params["permissionId"],
                               is_archived=call.body["isArchived"])
    return admin.permission_view(permission)


# -- SDK-era nested assignments ----------------------------------------------------------
@routes.route("GET", "/permissions/{permissionId}/assignments", caller=AUTH,
              operations=("PermissionAssignments:Read",), query=PAGE)
def list_permission_assignments(call: Call) -> Any:
    """List permission assignments."""
    return _assignments(call, call.params["permissionId"])


@routes.route("POST", "/permissions/{permissionId}/assignments", caller=AUTH, user_action=True,
              operations=("PermissionAssignments:Create",), body=Obj(required={"identityId": ID}))
def assign_permission(call: Call) -> Any:
    """Assign permission."""
    assignment = admin.assign(call.core, _org(call), call.params["permissionId"],
                              call.body["identityId"])
    return admin.assignment_view(assignment)


@routes.route("DELETE", "/permissions/{permissionId}/assignments/{assignmentId}", caller=AUTH,
              user_action=True, operations=("PermissionAssignments:Revoke",))
def revoke_permission(call: Call) -> Any:
    """Revoke permission assignment."""
    assignment = admin.revoke(call.core, _org(call), call.params["assignmentId"],
                              permission_id=call.params["permissionId"])
    return admin.assignment_view(assignment)
