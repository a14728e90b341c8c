"""The people of a tenant: client owners, viewers and assigned technicians."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import FormView, ListView, UpdateView

from portal.views import TenantView, htmx_redirect
from tenants import services
from tenants.access import get_object
from tenants.forms import MembershipForm, MembershipRoleForm
from tenants.models import Membership


class MemberListView(TenantView, ListView):
    capability = "member.view"
    template_name = "tenants/member_list.html"
    context_object_name = "memberships"

    def get_queryset(self):
        return Membership.objects.in_tenant(self.tenant).select_related("user").order_by("role", "user__email")


class MemberAddView(TenantView, FormView):
    capability = "member.manage"
    form_class = MembershipForm
    template_name = "tenants/member_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "tenant": self.tenant}

    def form_valid(self, form):
        data = form.cleaned_data
        services.add_member(self.tenant, data["email"], data["role"], data.get("full_name", ""), user=data["user"])
        messages.success(self.request, f"{data['email']} added." + ("" if data["user"] else " An invitation was sent."))
        return htmx_redirect(self.request, reverse("member_list", kwargs={"tenant_slug": self.tenant.slug}))


class MemberEditView(TenantView, UpdateView):
    capability = "member.manage"
    form_class = MembershipRoleForm
    template_name = "tenants/member_form.html"

    def get_object(self, queryset=None):
        return get_object(
            self.request.access,
            Membership.objects.in_tenant(self.tenant).select_related("user"),
            "member.manage",
            pk=self.kwargs["pk"],
        )

    def form_valid(self, form):
        form.save()
        messages.success(self.request, "Role changed.")
        return htmx_redirect(self.request, reverse("member_list", kwargs={"tenant_slug": self.tenant.slug}))


class MemberRemoveView(TenantView, View):
    capability = "member.manage"

    def _membership(self, request, pk):
        queryset = Membership.objects.in_tenant(self.tenant).select_related("user")
        return get_object(request.access, queryset, "member.manage", pk=pk)

    def get(self, request, tenant_slug, pk):
        membership = self._membership(request, pk)
        return render(
            request, "confirm_delete.html", {"tenant": self.tenant, "object": membership, "kind": "membership"}
        )

    def post(self, request, tenant_slug, pk):
        membership = self._membership(request, pk)
        membership.delete()
        messages.success(request, f"{membership.user.email} removed from {self.tenant.name}.")
        return redirect("member_list", tenant_slug=self.tenant.slug)
