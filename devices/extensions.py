"""How devices plugs into tenants' pages, roles and signals (tenants never imports devices)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Q

from tenants import extensions as ext
from tenants.roles import ROLE_SETS, register_capabilities


def _device_counts(tenants):
    return tenants.annotate(
        device_count=Count("devices", filter=Q(devices__retired_at__isnull=True), distinct=True),
    )


def _device_panel(request, tenant):
    from devices.models import Device, DeviceState

    devices = Device.objects.in_tenant(tenant).active().with_state()
    counts = {row["state"]: row["n"] for row in devices.values("state").annotate(n=Count("id"))}
    return {
        "template": "devices/_tenant_panel.html",
        "counts": counts,
        "total": sum(counts.values()),
        "states": DeviceState,
    }


def _forget_agents_on_state_change(sender, tenant, state, **kwargs):
    from devices.services import forget_tenant_devices

    transaction.on_commit(lambda: forget_tenant_devices(tenant.pk))


def register() -> None:
    register_capabilities(
        {
            "device.view": ROLE_SETS["all"],
            "device.manage": ROLE_SETS["staff"],
            "enrollment.manage": ROLE_SETS["staff"],
        }
    )
    ext.NAV_ITEMS.append(ext.NavItem("Devices", "device_list_all", capability="device.view", staff_only=True))
    ext.TENANT_TABS.extend(
        [
            ext.Tab("Devices", "tenant_device_list", names=("tenant_device_list", "device_detail")),
            ext.Tab("Groups", "group_list", names=("group_list", "group_create", "group_edit")),
            ext.Tab("Enrollment", "enrollment", capability="enrollment.manage", names=("enrollment",)),
        ]
    )
    ext.OVERVIEW_ANNOTATIONS.append(_device_counts)
    ext.OVERVIEW_COLUMNS.append(ext.OverviewColumn("Devices", "devices/_overview_count.html"))
    ext.DETAIL_PANELS.append(_device_panel)

    from tenants.signals import tenant_state_changed

    tenant_state_changed.connect(_forget_agents_on_state_change, dispatch_uid="devices.forget_agents")
