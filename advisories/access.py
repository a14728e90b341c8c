"""Who may read MSP-wide advisory data, and which tenants' findings they may count.

Advisories, CVEs and feeds belong to no tenant: the MSP role decides (`msp_can`). The
fleet's exposure (findings) does belong to tenants, and is counted only over the tenants
the user may see; patches declares the relation (Advisory.findings), advisories imports
nothing of it.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from rest_framework import permissions

from portal.views import PortalView
from tenants.roles import MspRole, Role, role_can

__all__ = ["MspCapability", "MspView", "finding_tenants", "msp_can"]

_MSP_ROLE = {MspRole.ADMIN: Role.MSP_ADMIN, MspRole.TECHNICIAN: Role.TECHNICIAN}

FINDING_VIEW = "finding.view"


def msp_can(access, capability: str) -> bool:
    return role_can(_MSP_ROLE.get(access.msp_role), capability)


def finding_tenants(access, prefix: str = "findings__") -> Q:
    """A filter on findings (through `prefix`) to the tenants whose findings `access` may read."""
    if access.all_tenants:
        return Q() if access.can_anywhere(FINDING_VIEW) else Q(pk__in=[])
    allowed = sorted(t for t in access.tenant_ids if access.can(t, FINDING_VIEW))
    return Q(**{f"{prefix}tenant_id__in": allowed})


class MspView(PortalView):
    """A page over MSP-wide data: `msp_capability` is checked against the MSP role (403)."""

    msp_capability = "advisory.view"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not msp_can(request.access, self.msp_capability):
            raise PermissionDenied("Your role does not allow this page.")
        return super().dispatch(request, *args, **kwargs)


class MspCapability(permissions.BasePermission):
    """For API views: `read_capability` for safe methods, `write_capability` otherwise."""

    def has_permission(self, request, view):
        safe = request.method in permissions.SAFE_METHODS
        capability = view.read_capability if safe else view.write_capability
        return msp_can(request._request.access, capability)
