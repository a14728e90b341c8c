"""Reading the audit log: per tenant (staff and client owners) and MSP-wide (MSP admins)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views import View

from portal.views import StaffView, TenantView
from tenants.models import AuditEntry

PAGE_SIZE = 50


def _filtered(request, entries):
    action = request.GET.get("action", "").strip()
    actor = request.GET.get("actor", "").strip()
    if action:
        entries = entries.filter(action=action)
    if actor:
        entries = entries.filter(actor_label__icontains=actor)
    return entries, {"action": action, "actor": actor}


def _render(request, template, entries, extra):
    entries, filters = _filtered(request, entries)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "filters": filters, **extra}
    if request.htmx and not request.htmx.boosted:
        template = "tenants/_audit_rows.html"
    return render(request, template, context)


class TenantAuditView(TenantView, View):
    capability = "tenant.audit"

    def get(self, request, tenant_slug):
        entries = AuditEntry.objects.filter(tenant=self.tenant)
        return _render(request, "tenants/audit.html", entries, {"tenant": self.tenant})


class MspAuditView(StaffView, View):
    """Every entry, including those without a tenant (sign-ins, staff accounts)."""

    admin_only = True

    def get(self, request):
        return _render(request, "tenants/audit.html", AuditEntry.objects.select_related("tenant"), {"tenant": None})
