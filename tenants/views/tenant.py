"""A tenant's own pages: detail, create, edit, and its state (active, inactive, archived)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import CreateView, TemplateView, UpdateView

from portal.views import StaffView, TenantView, htmx_redirect
from tenants import services
from tenants.extensions import DETAIL_PANELS
from tenants.forms import TenantForm
from tenants.models import AuditEntry, Membership, Site


class TenantDetailView(TenantView, TemplateView):
    template_name = "tenants/tenant_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sites"] = Site.objects.in_tenant(self.tenant)
        context["member_count"] = Membership.objects.in_tenant(self.tenant).count()
        context["panels"] = [panel(self.request, self.tenant) for panel in DETAIL_PANELS]
        if self.request.access.can(self.tenant.pk, "tenant.audit"):
            context["recent_audit"] = AuditEntry.objects.filter(tenant=self.tenant)[:8]
        return context


class TenantCreateView(StaffView, CreateView):
    admin_only = True
    form_class = TenantForm
    template_name = "tenants/tenant_form.html"

    def form_valid(self, form):
        tenant = form.save()
        messages.success(self.request, f"Tenant {tenant.name} created.")
        return htmx_redirect(self.request, reverse("tenant_detail", kwargs={"tenant_slug": tenant.slug}))


class TenantEditView(TenantView, UpdateView):
    capability = "tenant.manage"
    form_class = TenantForm
    template_name = "tenants/tenant_form.html"

    def get_object(self, queryset=None):
        return self.tenant

    def form_valid(self, form):
        tenant = form.save()
        messages.success(self.request, "Saved.")
        return htmx_redirect(self.request, reverse("tenant_detail", kwargs={"tenant_slug": tenant.slug}))


class TenantStateView(TenantView, View):
    """POST state=deactivate|activate|archive|unarchive."""

    capability = "tenant.manage"

    def post(self, request, tenant_slug):
        state = request.POST.get("state", "")
        if state not in services.TenantState.CHOICES:
            return HttpResponseBadRequest("state must be one of: " + ", ".join(services.TenantState.CHOICES))
        services.set_tenant_state(self.tenant, state)
        messages.success(request, f"{self.tenant.name}: {state}d.")
        return redirect("tenant_detail", tenant_slug=self.tenant.slug)
