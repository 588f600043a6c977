"""User routes (endpoints.md §7)."""

from __future__ import annotations

from typing import Any

from simulator import errors
from simulator.http.app import Call
from simulator.http.routing import AUTH, RouteTable
from simulator.http.schema import NAME, Bool, Obj, Str
from simulator.models import CUSTOMER_EMPLOYEE, TENANT_USER, User
from simulator.services import permissions, users, users_admin
from simulator.services.pagination import paginate

routes = RouteTable("Users")

TYPE_OPERATION = {CUSTOMER_EMPLOYEE: "Auth:Types:Employee", "EndUser": "Auth:Types:EndUser"}


def require_target_type(call: Call, user: User) -> None:
    """Lifecycle routes check the type operation of the *target* (service accounts included)."""
    if user.is_service_account:
        permissions.check(call.core, app=call.app, caller=call.caller,
                          operations=("Auth:Types:ServiceAccount",))
    else:
        require_type(call, user.kind)


def require_type(call: Call, kind: str) -> None:
    """Kind-dependent operations (``Auth:Types:*``) are checked once the target is known."""
    operation = TYPE_OPERATION.get(kind)
    if operation:
        permissions.check(call.core, app=call.app, caller=call.caller, operations=(operation,))


def check_delegation_target(call: Call, user: Any) -> None:
    """A service account acts for an existing user (delegated registration, login, recovery)
    only with the ``Auth:Types:*`` operation of that user's real kind, and never for a user
    who registers directly: otherwise a service account allowed end users only could take
    over an employee (endpoints.md §1.6: delegation is for users created with registration
    Delegated)."""
    require_type(call, user.kind)
    if user.registration != "Delegated":
        raise errors.forbidden("this user registers directly: a service account cannot act "
                               "for it", userId=user.id)


def check_delegation_by_name(call: Call, username: str) -> None:
    """:func:`check_delegation_target` for the user ``username`` names in the caller's org
    (delegated login and recovery), when it exists and is a person: a missing user or a
    service account is refused by the service itself, with its own error."""
    target = users.find_user(call.core, call.require_caller().org_id, username)
    if target is not None and not target.is_service_account:
        check_delegation_target(call, target)


@routes.route("GET", "/auth/users", caller=AUTH, operations=("Auth:Users:Read",),
              query=Obj(optional={"limit": Str(max_length=10),
                                  "paginationToken": Str(max_length=500),
                                  "kind": Str(enum=("CustomerEmployee", "EndUser"))}))
def list_users(call: Call) -> Any:
    """List users."""
    caller = call.require_caller()
    kind = call.query.get("kind")
    rows = [u for u in call.core.store.scan("users")
            if u.org_id == caller.org_id and not u.is_archived and (kind is None or u.kind == kind)]
    return paginate(call, rows, key=lambda u: u.id, render=lambda u: users.user_view(call.core, u))


@routes.route("POST", "/auth/users", caller=AUTH, user_action=True,
              operations=("Auth:Users:Create",),
              body=Obj(required={"email": NAME, "kind": Str(enum=("CustomerEmployee", "EndUser"))},
                       optional={"externalId": Str(max_length=500), "isSSORequired": Bool(),
                                 "registration": Str(enum=("Direct", "Delegated")),
                                 "publicKey": Str(max_length=10_000)}))
def create_user(call: Call) -> Any:
    """Create user."""
    caller = call.require_caller()
    require_type(call, call.body["kind"])
    if call.body["kind"] == "EndUser" and call.body.get("registration") == "Direct":
        raise errors.bad_request("EndUser accounts only support Delegated registration",
                                 field="registration")
    user = users.create_user(call.core, org_id=caller.org_id, username=call.body["email"],
                             kind=call.body["kind"], registration=call.body.get("registration"),
                             external_id=call.body.get("externalId"),
                             is_sso_required=bool(call.body.get("isSSORequired")))
    return users.user_view(call.core, user)


def _target(call: Call) -> User:
    return users.get_user(call.core, call.require_caller().org_id, call.params["userId"])


@routes.route("GET", "/auth/users/{userId}", caller=AUTH, operations=("Auth:Users:Read",))
def get_user(call: Call) -> Any:
    """Get user."""
    return users.user_view(call.core, _target(call))


UPDATE_OPS = ("Auth:Users:Update",)


@routes.route("PUT", "/auth/users/{userId}", caller=AUTH, user_action=True, operations=UPDATE_OPS,
              body=Obj(optional={"externalId": Str(max_length=500), "isSSORequired": Bool()}))
def update_user(call: Call) -> Any:
    """Update user."""
    target = _target(call)
    require_target_type(call, target)
    return users.user_view(call.core,
                           users_admin.update(call.core, target.org_id, target.id, call.body))


def _set_active(call: Call, active: bool) -> Any:
    target = _target(call)
    require_target_type(call, target)
    return users.user_view(call.core, users_admin.set_active(call.core, target.org_id, target.id,
                                                             active=active))


@routes.route("PUT", "/auth/users/{userId}/activate", caller=AUTH, user_action=True,
              operations=UPDATE_OPS)
def activate_user(call: Call) -> Any:
    """Activate user."""
    return _set_active(call, True)


@routes.route("PUT", "/auth/users/{userId}/deactivate", caller=AUTH, user_action=True,
              operations=UPDATE_OPS,
              body=Obj(optional={"force": Bool()}))
def deactivate_user(call: Call) -> Any:
    """Deactivate user: its login sessions end and its PATs stop working at once."""
    return _set_active(call, False)


@routes.route("DELETE", "/auth/users/{userId}", caller=AUTH, user_action=True,
              operations=UPDATE_OPS)
def delete_user(call: Call) -> Any:
    """Delete (archive) user."""
    target = _target(call)
    require_target_type(call, target)
    return users.user_view(call.core, users_admin.archive(call.core, target.org_id, target.id))


@routes.route("POST", "/auth/users/invite", caller=AUTH, user_action=True,
              operations=("Auth:Users:Create",),
              body=Obj(required={"email": NAME, "kind": Str(enum=(TENANT_USER,))}))
def invite_user(call: Call) -> Any:
    """Invite an existing Tenant User into the caller's org."""
    users_admin.invite(call.core, call.require_caller().org_id, email=call.body["email"])
    return {}
