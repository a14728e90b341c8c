"""A tenant's sites."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import CreateView, ListView, UpdateView

from portal.views import TenantView, htmx_redirect
from tenants.access import get_object
from tenants.forms import SiteForm
from tenants.models import Site


class SiteListView(TenantView, ListView):
    template_name = "tenants/site_list.html"
    context_object_name = "sites"

    def get_queryset(self):
        return Site.objects.in_tenant(self.tenant)


class _SiteFormMixin:
    capability = "site.manage"
    form_class = SiteForm
    template_name = "tenants/site_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "tenant": self.tenant}

    def form_valid(self, form):
        form.instance.tenant = self.tenant
        site = form.save()
        messages.success(self.request, f"Site {site.name} saved.")
        return htmx_redirect(self.request, reverse("site_list", kwargs={"tenant_slug": self.tenant.slug}))


class SiteCreateView(_SiteFormMixin, TenantView, CreateView):
    pass


class SiteEditView(_SiteFormMixin, TenantView, UpdateView):
    def get_object(self, queryset=None):
        return get_object(self.request.access, Site.objects.in_tenant(self.tenant), "site.manage", pk=self.kwargs["pk"])


class SiteDeleteView(TenantView, View):
    capability = "site.manage"

    def get(self, request, tenant_slug, pk):
        site = get_object(request.access, Site.objects.in_tenant(self.tenant), "site.manage", pk=pk)
        return render(request, "confirm_delete.html", {"tenant": self.tenant, "object": site, "kind": "site"})

    def post(self, request, tenant_slug, pk):
        site = get_object(request.access, Site.objects.in_tenant(self.tenant), "site.manage", pk=pk)
        site.delete()
        messages.success(request, f"Site {site.name} deleted.")
        return redirect("site_list", tenant_slug=self.tenant.slug)
