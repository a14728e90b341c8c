"""The start page: the MSP overview of all tenants for staff, the own company for clients."""

from __future__ import annotations

from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.views import View

from portal.views import PortalView, StaffView
from tenants.extensions import OVERVIEW_ANNOTATIONS, OVERVIEW_COLUMNS
from tenants.models import Tenant


class HomeView(PortalView, View):
    def get(self, request):
        if request.access.is_staff:
            return redirect("msp_overview")
        tenant_ids = sorted(request.access.tenant_ids)
        if len(tenant_ids) == 1:
            tenant = Tenant.objects.visible_to(request.access).get(pk=tenant_ids[0])
            return redirect("tenant_detail", tenant_slug=tenant.slug)
        tenants = Tenant.objects.visible_to(request.access)
        return render(request, "tenants/choose_tenant.html", {"tenants": tenants})


class MspOverviewView(StaffView, View):
    """Every tenant the staff member works on, with counts; filter by name and state (htmx)."""

    template_name = "tenants/msp_overview.html"

    def get(self, request):
        query = request.GET.get("q", "").strip()
        state = request.GET.get("state", "current")
        tenants = Tenant.objects.visible_to(request.access)
        if query:
            tenants = tenants.filter(Q(name__icontains=query) | Q(slug__icontains=query))
        if state == "current":
            tenants = tenants.filter(archived_at__isnull=True)
        elif state == "inactive":
            tenants = tenants.filter(is_active=False, archived_at__isnull=True)
        elif state == "archived":
            tenants = tenants.filter(archived_at__isnull=False)
        tenants = tenants.annotate(
            site_count=Count("sites", distinct=True),
            member_count=Count("memberships", distinct=True),
        ).order_by("name")
        for hook in OVERVIEW_ANNOTATIONS:
            tenants = hook(tenants)
        context = {"tenants": tenants, "q": query, "state": state, "overview_columns": OVERVIEW_COLUMNS}
        template = "tenants/_tenant_rows.html" if request.htmx and not request.htmx.boosted else self.template_name
        return render(request, template, context)


class TenantSwitchView(PortalView, View):
    """The tenant switcher's target: go to the chosen tenant (404 if not visible)."""

    def get(self, request):
        from tenants.access import get_tenant

        slug = request.GET.get("tenant", "")
        if not slug:
            return redirect("home")
        tenant = get_tenant(request.access, slug)
        return redirect("tenant_detail", tenant_slug=tenant.slug)
