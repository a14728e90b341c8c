"""How patches plugs into tenants' and devices' pages and roles, and listens to devices and advisories."""

from __future__ import annotations

from tenants import extensions as ext
from tenants.roles import ROLE_SETS, Role, register_capabilities


def register() -> None:
    from devices.hooks import DEVICE_SECTIONS
    from patches import panels, receivers

    register_capabilities(
        {
            "finding.view": ROLE_SETS["all"],
            "advisory.view": ROLE_SETS["staff"],
            "feed.view": ROLE_SETS["staff"],
            "feed.manage": ROLE_SETS["admin"],
        }
    )
    ext.NAV_ITEMS.extend(
        [
            ext.NavItem("Advisories", "advisory_list", capability="advisory.view", staff_only=True),
            ext.NavItem("Feeds", "feed_status", capability="feed.view", staff_only=True),
        ]
    )
    ext.TENANT_TABS.append(ext.Tab("Findings", "finding_list", capability="finding.view", names=("finding_list",)))
    ext.OVERVIEW_ANNOTATIONS.append(panels.overview_exposure)
    ext.OVERVIEW_COLUMNS.extend(
        [
            ext.OverviewColumn("Open critical", "patches/_overview_critical.html"),
            ext.OverviewColumn("Open KEV", "patches/_overview_kev.html"),
            ext.OverviewColumn("Oldest open (days)", "patches/_overview_oldest.html"),
        ]
    )
    ext.DETAIL_PANELS.append(panels.tenant_findings_panel)
    DEVICE_SECTIONS.append(
        {
            "label": "Findings",
            "key": "findings",
            "template": "patches/_device_findings.html",
            "context": panels.device_findings,
            "capability": "finding.view",
        }
    )

    receivers.connect()
    _register_approvals()
    _register_policies()


def _register_approvals() -> None:
    """The approval queue, the client's sign-off queue and the patch catalogue."""
    from patches import sign_off

    register_capabilities(
        {
            "patch.view": ROLE_SETS["staff"],
            "approval.view": ROLE_SETS["staff"],
            "approval.decide": ROLE_SETS["staff"],
            # Technicians do not sign off for their clients: only the client's owner does.
            "approval.client_decide": frozenset({Role.CLIENT_OWNER}),
            "signoff.view": ROLE_SETS["all"],
        }
    )
    ext.NAV_ITEMS.extend(
        [
            ext.NavItem("Approvals", "approval_queue", capability="approval.view", staff_only=True),
            ext.NavItem("Patches", "patch_list", capability="patch.view", staff_only=True),
        ]
    )
    ext.TENANT_TABS.extend(
        [
            ext.Tab("Approvals", "tenant_approval_queue", capability="approval.view"),
            ext.Tab("Sign-off", "sign_off_queue", capability="signoff.view"),
        ]
    )
    ext.DETAIL_PANELS.append(sign_off.tenant_sign_off_panel)


def _register_policies() -> None:
    """The policy editor, accepted risks and scripts."""
    from devices.hooks import DEVICE_SECTIONS
    from patches.policy_display import device_policy_section

    register_capabilities(
        {
            "policy.view": ROLE_SETS["staff"],
            "policy.manage": ROLE_SETS["staff"],  # the global policy: MSP admins (access.is_admin)
            "exception.view": ROLE_SETS["all"],  # clients see the risks accepted for them
            "exception.manage": ROLE_SETS["staff"],
            "script.view": ROLE_SETS["staff"],
            "script.manage": ROLE_SETS["admin"],
        }
    )
    ext.NAV_ITEMS.extend(
        [
            ext.NavItem("Policies", "policy_list", capability="policy.view", staff_only=True),
            ext.NavItem("Scripts", "script_list", capability="script.view", staff_only=True),
        ]
    )
    ext.TENANT_TABS.extend(
        [
            ext.Tab(
                "Policy",
                "tenant_policy",
                capability="policy.view",
                names=("tenant_policy", "site_policy", "group_policy", "device_policy"),
            ),
            ext.Tab(
                "Accepted risks",
                "exception_list",
                capability="exception.view",
                names=("exception_list", "exception_create"),
            ),
        ]
    )
    DEVICE_SECTIONS.append(
        {
            "label": "Policy",
            "key": "policy",
            "template": "patches/_device_policy.html",
            "context": device_policy_section,
            "capability": "policy.view",
        }
    )
