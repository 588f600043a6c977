"""The default org, its default application, managed permissions and the bootstrap SA."""

from __future__ import annotations

from simulator.models import Application, Org
from simulator.services import permissions
from simulator.services.core import Core
from simulator.services.service_accounts import IssuedToken, create_service_account
from simulator.verification.public_keys import VerifyingKey


def create_org(core: Core, *, name: str, rp_id: str, origin: str,
               app_name: str) -> tuple[Org, Application]:
    now = core.now()
    org = Org(id=core.new_id("or"), name=name, date_created=now)
    app = Application(id=core.new_id("ap"), org_id=org.id, name=app_name,
                      kind="ClientSideApplication",
                      rp_id=rp_id, origin=origin, is_default=True, date_created=now)
    core.store.put("orgs", org.id, org)
    core.store.put("apps", app.id, app)
    full = permissions.create_permission(core, org_id=org.id, name=permissions.FULL_ADMIN,
                                         operations=(permissions.ALL_OPERATIONS,), managed=True)
    permissions.create_permission(core, org_id=org.id, name=permissions.DEFAULT_END_USER,
                                  operations=permissions.END_USER_OPERATIONS, managed=True)
    # The default app allows everything; callers' own permissions narrow it down.
    permissions.assign(core, permission=full, identity_id=app.id, identity_kind="Application")
    return org, app


def bootstrap_service_account(core: Core, org_id: str, public_key: VerifyingKey) -> IssuedToken:
    issued = create_service_account(core, org_id=org_id, name="dfns-sim-bootstrap",
                                    public_key=public_key)
    full = permissions.managed_permission(core, org_id, permissions.FULL_ADMIN)
    assert full is not None
    permissions.assign(core, permission=full, identity_id=issued.user.id,
                       identity_kind="ServiceAccount")
    return issued
