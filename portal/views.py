"""Base classes every page view builds on, so access checks live in one place."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect

from tenants.access import get_tenant

__all__ = ["PortalView", "StaffView", "TenantView", "htmx_redirect"]

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class PortalView(LoginRequiredMixin):
    """A page for any signed-in user. `capability_anywhere` restricts it to users who hold
    that capability in at least one tenant (cross-tenant pages such as the MSP overview)."""

    capability_anywhere: str | None = None

    @property
    def access(self):
        return self.request.access

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if self.capability_anywhere and not request.access.can_anywhere(self.capability_anywhere):
            raise PermissionDenied("Your role does not allow this page.")
        return super().dispatch(request, *args, **kwargs)


class StaffView(PortalView):
    """MSP staff only (admins with `admin_only`)."""

    admin_only = False

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            allowed = request.access.is_admin if self.admin_only else request.access.is_staff
            if not allowed:
                raise PermissionDenied("MSP staff only.")
        return super().dispatch(request, *args, **kwargs)


class TenantView(PortalView):
    """A page under /t/<tenant_slug>/: 404 for outsiders, 403 when the role lacks the capability.

    `capability` guards reads; `write_capability` (default: the same) guards POST and friends.
    """

    capability = "tenant.view"
    write_capability: str | None = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        needed = self.capability if request.method in SAFE_METHODS else (self.write_capability or self.capability)
        self.tenant = get_tenant(request.access, kwargs["tenant_slug"], needed)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tenant"] = self.tenant
        context["can"] = _Can(self.request.access, self.tenant.pk)
        return context


class _Can:
    """Template helper: {% if can.site_manage %} checks capability "site.manage" here."""

    def __init__(self, access, tenant_id):
        self._access, self._tenant_id = access, tenant_id

    def __getattr__(self, name):
        return self._access.can(self._tenant_id, name.replace("_", ".", 1))


def htmx_redirect(request, url):
    """After a successful htmx form, tell htmx to navigate; plain forms get a 302."""
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
