"""How the deployments pages plug into the tenant tabs, the navigation and the roles.

Who may do what (decided here, documented in the README's access table):

* `deployment.view`: everyone in the tenant. A client owner or viewer follows the
  deployments of their own company (state, progress, stages, per-device jobs and their
  logs) read-only; they never reach another tenant's (404).
* `window.view`: everyone in the tenant too: clients may know when their machines install
  updates and reboot (the window list and the calendar, blackouts included).
* `ring.view`: MSP staff. Rings are the MSP's rollout plan.
* `ring.manage`, `window.manage`, `deployment.manage` (create, pause, resume, cancel),
  `deployment.run_now` (the emergency override that ignores windows): MSP staff.

Called once from deployments/apps.py ready(); calling it again changes nothing.
"""

from __future__ import annotations

from tenants import extensions as ext
from tenants.roles import ROLE_SETS, register_capabilities

__all__ = ["CAPABILITIES", "register"]

CAPABILITIES = {
    "deployment.view": ROLE_SETS["all"],
    "deployment.manage": ROLE_SETS["staff"],
    "deployment.run_now": ROLE_SETS["staff"],
    "ring.view": ROLE_SETS["staff"],
    "ring.manage": ROLE_SETS["staff"],
    "window.view": ROLE_SETS["all"],
    "window.manage": ROLE_SETS["staff"],
}

_registered = False


def register() -> None:
    global _registered
    register_capabilities(CAPABILITIES)
    if _registered:
        return
    _registered = True
    ext.NAV_ITEMS.append(ext.NavItem("Deployments", "deployment_list_all", capability="deployment.view"))
    ext.TENANT_TABS.extend(
        [
            ext.Tab(
                "Deployments",
                "deployment_list",
                capability="deployment.view",
                names=("deployment_list", "deployment_create", "deployment_detail", "job_log"),
            ),
            ext.Tab("Rings", "ring_list", capability="ring.view", names=("ring_list", "ring_create", "ring_edit")),
            ext.Tab(
                "Windows",
                "window_list",
                capability="window.view",
                names=("window_list", "window_create", "window_edit", "blackout_create", "window_calendar"),
            ),
        ]
    )
