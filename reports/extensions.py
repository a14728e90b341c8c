"""How reports plug into the roles (and, with the report pages, the tabs and the navigation).

Who may do what (documented in the README's access table):

* `report.view`: everyone in the tenant. A client owner or viewer reads the reports of
  their own company; another tenant's are 404.
* `report.manage` (render, re-render; report schedules and the log of their e-mails): MSP staff.
* `branding.manage` (the MSP's name, logo, colours and contact line): MSP admins.

The tenant tab "Reports" (archive, request, preview) and the admins' "Branding" entry in
the top navigation are added here. Called once from reports/apps.py ready(); calling it again changes nothing.
"""

from __future__ import annotations

from tenants import extensions as ext
from tenants.roles import ROLE_SETS, register_capabilities

__all__ = ["CAPABILITIES", "register"]

CAPABILITIES = {
    "report.view": ROLE_SETS["all"],
    "report.manage": ROLE_SETS["staff"],
    "branding.manage": ROLE_SETS["admin"],
}


TAB = ext.Tab(
    "Reports",
    "report_list",
    capability="report.view",
    names=(
        "report_list",
        "report_create",
        "report_preview",
        "report_schedule_list",
        "report_schedule_create",
        "report_schedule_edit",
        "report_schedule_delete",
        "report_delivery_list",
    ),
)
NAV = ext.NavItem("Branding", "branding_edit", capability="branding.manage", staff_only=True)


def register() -> None:
    register_capabilities(CAPABILITIES)
    if TAB not in ext.TENANT_TABS:
        ext.TENANT_TABS.append(TAB)
    if NAV not in ext.NAV_ITEMS:
        ext.NAV_ITEMS.append(NAV)
