"""Building blocks for the policy, accepted-risk and script tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from devices.models import DeviceGroup, DeviceGroupMember
from patches import scripts
from patches.exception_listing import local_today
from patches.models import PatchPolicy, Scope
from patches.risk_acceptance import accept_risk
from tests.factories import DeviceFactory
from tests.patches.approval_helpers import make_patch, missing


@dataclass
class Setup:
    group: object
    device: object
    device_b: object
    global_policy: object
    tenant_policy: object
    group_policy: object
    finding: object
    other_finding: object
    exception: object
    script: object


def later(tenant, days=30) -> dt.date:
    return local_today(tenant) + dt.timedelta(days=days)


def policy(scope, settings, **target):
    return PatchPolicy.objects.create(scope=scope, settings=settings, **target)


@pytest.fixture
def setup(world) -> Setup:
    """In tenant A: a device in a group, policies at global, tenant and group level, two open
    findings (one accepted by an exception), and a script with two versions."""
    tenant = world.tenant_a
    group = DeviceGroup.objects.create(tenant=tenant, name="Servers")
    device = DeviceFactory(tenant=tenant, site=world.site_a, hostname="alpha-web")
    DeviceGroupMember.objects.create(tenant=tenant, group=group, device=device)
    device_b = DeviceFactory(tenant=world.tenant_b, site=world.site_b, hostname="bravo-web")
    global_policy = policy(Scope.GLOBAL, {"deferral_days": 3, "reboot": "never"})
    tenant_policy = policy(Scope.TENANT, {"deadline_days": 5}, tenant=tenant)
    group_policy = policy(Scope.GROUP, {"reboot": "always"}, tenant=tenant, group=group, priority=2)
    finding = missing(device, make_patch("openssl"))
    other = missing(device, make_patch("curl"))
    exception = accept_risk(
        tenant=tenant,
        owner=world.owner_a,
        reason="Replaced next quarter",
        expires_on=later(tenant),
        user=world.tech_all,
        now=timezone.now(),
        finding=finding,
    )
    script = scripts.create_script(name="Stop services", body="systemctl stop app\n", user=world.msp_admin)
    scripts.update_script(
        script, body="systemctl stop app\nsystemctl stop worker\n", note="Worker too", user=world.msp_admin
    )
    return Setup(group, device, device_b, global_policy, tenant_policy, group_policy, finding, other, exception, script)
