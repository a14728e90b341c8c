"""Device lists (per tenant and across tenants) and the device page."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views import View

from devices import hooks, services
from devices.filters import DeviceFilter
from devices.forms import DeviceForm
from devices.models import Device, DeviceCheckIn, DeviceGroup, DeviceSoftware, DeviceUpdate
from portal.views import StaffView, TenantView
from tenants.access import get_object
from tenants.models import Site, Tenant

PAGE_SIZE = 50


def _device_list(request, devices, template, context):
    devices = devices.select_related("tenant", "site").with_state()
    filterset = DeviceFilter(request.GET, queryset=devices, request=request)
    page = Paginator(filterset.qs.order_by("hostname", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {**context, "page": page, "filter": filterset, "query": query.urlencode()}
    if request.htmx and not request.htmx.boosted:
        template = "devices/_device_rows.html"
    return render(request, template, context)


class TenantDeviceListView(TenantView, View):
    capability = "device.view"

    def get(self, request, tenant_slug):
        devices = Device.objects.in_tenant(self.tenant).active()
        context = {
            "tenant": self.tenant,
            "sites": Site.objects.in_tenant(self.tenant),
            "groups": DeviceGroup.objects.in_tenant(self.tenant),
            "can_manage": request.access.can(self.tenant.pk, "device.manage"),
            "can": _can(request, self.tenant),
        }
        return _device_list(request, devices, "devices/device_list.html", context)


class AllDeviceListView(StaffView, View):
    """Every device across the tenants the staff member works on."""

    def get(self, request):
        devices = Device.objects.visible_to(request.access, "device.view").active()
        context = {"tenant": None, "tenants": Tenant.objects.visible_to(request.access).filter(archived_at=None)}
        return _device_list(request, devices, "devices/device_list.html", context)


def _can(request, tenant):
    from portal.views import _Can

    return _Can(request.access, tenant.pk)


class DeviceDetailView(TenantView, View):
    capability = "device.view"
    write_capability = "device.manage"

    def _device(self, request, uid):
        return get_object(
            request.access, Device.objects.in_tenant(self.tenant).select_related("site"), "device.view", uid=uid
        )

    def get(self, request, tenant_slug, uid, form=None, status=200):
        device = self._device(request, uid)
        extra_sections = {s["key"]: s for s in hooks.sections_for(request.access, self.tenant.pk)}
        section = request.GET.get("section", "software")
        if section not in ("software", "updates", "checkins", *extra_sections):
            section = "software"
        context = {
            "tenant": self.tenant,
            "device": device,
            "section": section,
            "section_template": f"devices/_section_{section}.html",
            "extra_sections": extra_sections.values(),
            "can": _can(request, self.tenant),
            "form": form or DeviceForm(instance=device),
            "state": device.state(),
        }
        if section in extra_sections:
            context.update(extra_sections[section]["context"](request, device))
            context["section_template"] = extra_sections[section]["template"]
        elif section == "updates":
            context["updates"] = (
                DeviceUpdate.objects.filter(device=device)
                .select_related("update")
                .order_by("installed", "-update__security", "update__identifier")
            )
        elif section == "checkins":
            context["checkins"] = DeviceCheckIn.objects.filter(device=device)[:200]
        else:
            software = DeviceSoftware.objects.filter(device=device).select_related("package")
            search = request.GET.get("q", "").strip()
            if search:
                software = software.filter(package__name__icontains=search)
            context["q"] = search
            context["software"] = Paginator(software.order_by("package__name", "arch"), 100).get_page(
                request.GET.get("page")
            )
        context["groups"] = DeviceGroup.containing(device)
        if request.htmx and not request.htmx.boosted and request.GET.get("partial"):
            return render(request, context["section_template"], context)
        return render(request, "devices/device_detail.html", context, status=status)

    def post(self, request, tenant_slug, uid):
        device = self._device(request, uid)
        if request.POST.get("action") == "retire":
            services.retire_device(device)
            messages.success(request, f"{device.hostname} retired; its agent will be refused.")
            return redirect("tenant_device_list", tenant_slug=self.tenant.slug)
        form = DeviceForm(request.POST, instance=device)
        if not form.is_valid():
            return self.get(request, tenant_slug, uid, form=form, status=400)
        form.save()
        messages.success(request, "Saved.")
        return redirect("device_detail", tenant_slug=self.tenant.slug, uid=device.uid)
