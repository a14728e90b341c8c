"""How reports plug into the roles (and, with the report pages, the tabs and the navigation).

Who may do what (documented in the README's access table):

* `report.view`: everyone in the tenant. A client owner or viewer reads the reports of
  their own company; another tenant's are 404.
* `report.manage` (render, re-render): MSP staff.
* `branding.manage` (the MSP's name, logo, colours and contact line): MSP admins.

The report archive's tab and navigation entry are added here together with its pages.
Called once from reports/apps.py ready(); calling it again changes nothing.
"""

from __future__ import annotations

from tenants.roles import ROLE_SETS, register_capabilities

__all__ = ["CAPABILITIES", "register"]

CAPABILITIES = {
    "report.view": ROLE_SETS["all"],
    "report.manage": ROLE_SETS["staff"],
    "branding.manage": ROLE_SETS["admin"],
}


def register() -> None:
    register_capabilities(CAPABILITIES)
