"""Device groups of a tenant."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import CreateView, UpdateView

from devices.forms import DeviceGroupForm, GroupMembersForm
from devices.models import DeviceGroup, DeviceGroupMember
from portal.views import TenantView, htmx_redirect
from tenants.access import get_object


class GroupListView(TenantView, View):
    capability = "device.view"

    def get(self, request, tenant_slug):
        groups = [(g, g.devices().count()) for g in DeviceGroup.objects.in_tenant(self.tenant)]
        context = {
            "tenant": self.tenant,
            "groups": groups,
            "can_manage": request.access.can(self.tenant.pk, "device.manage"),
        }
        from portal.views import _Can

        context["can"] = _Can(request.access, self.tenant.pk)
        return render(request, "devices/group_list.html", context)


class _GroupFormMixin:
    capability = "device.manage"
    form_class = DeviceGroupForm
    template_name = "devices/group_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "tenant": self.tenant}

    def form_valid(self, form):
        form.instance.tenant = self.tenant
        group = form.save()
        messages.success(self.request, f"Group {group.name} saved.")
        return htmx_redirect(
            self.request, reverse("group_edit", kwargs={"tenant_slug": self.tenant.slug, "pk": group.pk})
        )


class GroupCreateView(_GroupFormMixin, TenantView, CreateView):
    pass


class GroupEditView(_GroupFormMixin, TenantView, UpdateView):
    def get_object(self, queryset=None):
        return get_object(
            self.request.access, DeviceGroup.objects.in_tenant(self.tenant), "device.manage", pk=self.kwargs["pk"]
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        group = self.object
        context["members"] = group.devices().order_by("hostname")[:500]
        if group.kind == DeviceGroup.Kind.EXPLICIT:
            context["members_form"] = GroupMembersForm(group=group, initial={"devices": group.devices()})
        return context


class GroupMembersView(TenantView, View):
    """Set the members of an explicit group (POST the full list of chosen devices)."""

    capability = "device.manage"

    def post(self, request, tenant_slug, pk):
        group = get_object(request.access, DeviceGroup.objects.in_tenant(self.tenant), "device.manage", pk=pk)
        form = GroupMembersForm(request.POST, group=group)
        if group.kind != DeviceGroup.Kind.EXPLICIT or not form.is_valid():
            messages.error(request, "Members of a rule-based group follow its rule.")
            return redirect("group_edit", tenant_slug=self.tenant.slug, pk=group.pk)
        chosen = set(form.cleaned_data["devices"])
        current = {m.device: m for m in DeviceGroupMember.objects.filter(group=group).select_related("device")}
        for device, member in current.items():
            if device not in chosen:
                member.delete()
        for device in chosen - set(current):
            DeviceGroupMember.objects.create(tenant=self.tenant, group=group, device=device)
        messages.success(request, f"{len(chosen)} devices in {group.name}.")
        return redirect("group_edit", tenant_slug=self.tenant.slug, pk=group.pk)


class GroupDeleteView(TenantView, View):
    capability = "device.manage"

    def _group(self, request, pk):
        return get_object(request.access, DeviceGroup.objects.in_tenant(self.tenant), "device.manage", pk=pk)

    def get(self, request, tenant_slug, pk):
        return render(
            request, "confirm_delete.html", {"tenant": self.tenant, "object": self._group(request, pk), "kind": "group"}
        )

    def post(self, request, tenant_slug, pk):
        group = self._group(request, pk)
        group.delete()
        messages.success(request, f"Group {group.name} deleted.")
        return redirect("group_list", tenant_slug=self.tenant.slug)
