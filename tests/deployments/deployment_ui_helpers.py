"""A tenant with rings, a window, a blackout, an approved patch and two deployments, for the UI tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from deployments import dispatch, extensions
from deployments.models import BlackoutPeriod, Deployment, MaintenanceWindow, Ring, WindowRecurrence
from deployments.planning import create_deployment
from devices.models import DeviceGroup
from tests.deployments.planning_helpers import NOW, approved_patch, fleet, rings

__all__ = ["NOW", "Scene", "build_scene"]


@dataclass
class Scene:
    patch: object
    devices: list
    pilot: Ring
    broad: Ring
    group: DeviceGroup
    window: MaintenanceWindow
    blackout: BlackoutPeriod
    running: Deployment  # scheduled, its pilot stage's jobs created
    paused: Deployment


def build_scene(world, tenant=None) -> Scene:
    extensions.register()
    tenant = tenant or world.tenant_a
    patch = approved_patch(world, tenant)
    devices = fleet(tenant, 3, patch, prefix=f"{tenant.slug}-dev")
    pilot, broad = rings(tenant, pilot_devices=devices[:1])
    group = DeviceGroup.objects.create(tenant=tenant, name="Servers")
    window = MaintenanceWindow.objects.create(
        tenant=tenant,
        name="Weekend",
        recurrence=WindowRecurrence.WEEKLY,
        weekdays=[5],
        start_time=dt.time(22, 0),
        duration_minutes=360,
    )
    blackout = BlackoutPeriod.objects.create(
        tenant=tenant, starts_on=dt.date(2026, 12, 24), ends_on=dt.date(2026, 12, 26), reason="Holidays"
    )
    running = create_deployment(tenant, name="Rollout", patches=[patch], user=world.tech_all, now=NOW).deployment
    dispatch.start(running, now=NOW)
    paused = create_deployment(tenant, name="Held", patches=[patch], user=world.tech_all, now=NOW).deployment
    paused = dispatch.pause(paused, now=NOW)
    return Scene(patch, devices, pilot, broad, group, window, blackout, running, paused)
