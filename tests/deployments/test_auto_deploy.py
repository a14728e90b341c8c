"""Deployments by policy: approved patches reach the auto_deploy devices, once, ring by ring."""

from __future__ import annotations

import datetime as dt

import pytest

from deployments.auto_deploy import RETRY_AFTER, create_from_policy
from deployments.dispatch import schedule_stage
from deployments.models import Deployment, DeploymentStage, Job, JobState
from deployments.planning import CHOSEN_DEVICES_STAGE, create_deployment
from deployments.tasks import auto_deploy
from patches.approvals import decide
from patches.models import PatchPolicy, Scope
from tenants.models import AuditEntry
from tests.deployments.planning_helpers import NOW, approved_patch, fleet, rings
from tests.factories import DeviceFactory
from tests.patches.approval_helpers import make_patch, missing

pytestmark = pytest.mark.django_db


def auto(device, on=True):
    return PatchPolicy.objects.create(
        scope=Scope.DEVICE, tenant_id=device.tenant_id, device=device, settings={"auto_deploy": on}
    )


def automatic():
    return Deployment.objects.filter(origin=Deployment.Origin.POLICY)


def job_patches(deployment) -> dict[int, list[int]]:
    return {j.device_id: j.payload["patches"] for j in Job.objects.filter(deployment=deployment)}


@pytest.fixture
def setup(world):
    """Tenant A: a pilot ring (two devices) and a catch-all; auto_deploy for the whole tenant
    except one broad device that turns it off; one approved patch every device misses."""
    patch = approved_patch(world, name="openssl")
    pilot_devices = fleet(world.tenant_a, 2, patch, prefix="pilot")
    broad_devices = fleet(world.tenant_a, 3, patch, prefix="broad")
    pilot, broad = rings(world.tenant_a, pilot_devices=pilot_devices)
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"auto_deploy": True})
    auto(broad_devices[2], on=False)
    return patch, pilot, broad, pilot_devices, broad_devices


def test_approved_patches_go_to_the_auto_deploy_devices_only_ring_by_ring(world, setup):
    patch, pilot, broad, pilot_devices, broad_devices = setup
    # Bravo misses it too, but its policy does not deploy automatically.
    fleet(world.tenant_b, 1, approved_patch(world, tenant=world.tenant_b, name="curl"), prefix="bravo")

    assert create_from_policy(NOW) == {"tenants": 1, "deployments": 1, "devices": 4, "failed": 0}

    deployment = automatic().get()
    assert deployment.tenant == world.tenant_a and deployment.created_by is None
    assert deployment.name == "Automatic 2026-11-16 10:00"  # Berlin time
    assert list(deployment.deployment_patches.values_list("patch_id", flat=True)) == [patch.pk]
    stages = list(deployment.stages.order_by("position"))
    assert [(s.ring, s.devices_total) for s in stages] == [(pilot, 2), (broad, 2)]
    expected = {d.pk for d in pilot_devices + broad_devices[:2]}
    assert set(deployment.targets.values_list("device_id", flat=True)) == expected
    entry = AuditEntry.objects.get(action="deployment.created", object_id=str(deployment.pk))
    assert (entry.actor_id, entry.actor_label, entry.source) == (None, "system", "system")

    # Each stage takes only the auto_deploy devices of its ring.
    schedule_stage(stages[0], now=NOW)
    assert set(job_patches(deployment)) == {d.pk for d in pilot_devices}
    DeploymentStage.objects.filter(pk=stages[0].pk).update(state=DeploymentStage.State.PASSED)
    schedule_stage(stages[1], now=NOW)
    assert set(job_patches(deployment)) == expected


def test_a_second_run_creates_nothing_new_until_the_retry_time(world, setup):
    assert create_from_policy(NOW)["deployments"] == 1
    assert create_from_policy(NOW + dt.timedelta(hours=1))["deployments"] == 0  # stages still waiting

    deployment = automatic().get()
    stages = list(deployment.stages.order_by("position"))
    schedule_stage(stages[0], now=NOW)
    assert create_from_policy(NOW + dt.timedelta(hours=2))["deployments"] == 0  # jobs and a waiting stage
    DeploymentStage.objects.filter(pk=stages[0].pk).update(state=DeploymentStage.State.PASSED)
    schedule_stage(stages[1], now=NOW)
    assert Job.objects.filter(deployment=deployment).count() == 4

    # The deployment ends with its installs failed: they are not tried again every hour...
    Job.objects.filter(deployment=deployment).update(state=JobState.FAILED, finished_at=NOW + dt.timedelta(hours=3))
    Deployment.objects.filter(pk=deployment.pk).update(state=Deployment.State.COMPLETED)
    DeploymentStage.objects.filter(deployment=deployment).update(state=DeploymentStage.State.PASSED)
    assert create_from_policy(NOW + dt.timedelta(hours=4))["deployments"] == 0
    # ...but once RETRY_AFTER has passed.
    later = NOW + dt.timedelta(hours=3) + RETRY_AFTER + dt.timedelta(minutes=1)
    assert create_from_policy(later)["deployments"] == 1
    assert automatic().count() == 2


def test_pairs_another_deployment_covers_are_left_out(world, setup):
    patch, _, broad, pilot_devices, broad_devices = setup
    other = approved_patch(world, name="zlib")
    first, second = pilot_devices
    missing(first, other)
    # A technician's deployment of openssl to the first pilot device, already scheduled...
    manual = create_deployment(world.tenant_a, name="By hand", patches=[patch], devices=[first], now=NOW).deployment
    schedule_stage(manual.stages.get(), now=NOW)
    # ...and one of zlib to the broad ring, not scheduled yet.
    create_deployment(world.tenant_a, name="Broad zlib", patches=[other], rings=[broad], now=NOW)
    missing(broad_devices[0], other)

    assert create_from_policy(NOW)["deployments"] == 1

    deployment = automatic().get()
    assert sorted(deployment.deployment_patches.values_list("patch_id", flat=True)) == sorted([patch.pk, other.pk])
    stages = list(deployment.stages.order_by("position"))
    schedule_stage(stages[0], now=NOW)
    # The first device gets only zlib (openssl is the technician's job); the second only openssl.
    assert job_patches(deployment) == {first.pk: [other.pk], second.pk: [patch.pk]}
    DeploymentStage.objects.filter(pk=stages[0].pk).update(state=DeploymentStage.State.PASSED)
    schedule_stage(stages[1], now=NOW)
    # zlib on the broad device is left to the earlier broad deployment, still waiting.
    assert job_patches(deployment)[broad_devices[0].pk] == [patch.pk]


def test_deferred_rejected_and_undecided_patches_wait(world, setup):
    patch, _, _, pilot_devices, _ = setup
    device = pilot_devices[0]
    deferred, rejected, undecided = (make_patch(name=n) for n in ("deferred", "rejected", "undecided"))
    for extra in (deferred, rejected, undecided):
        missing(device, extra)
    decide(
        [deferred],
        action="defer",
        defer_until=dt.date(2026, 11, 20),
        user=world.tech_all,
        now=NOW,
        tenant=world.tenant_a,
    )
    decide([rejected], action="reject", comment="Breaks the app", user=world.tech_all, now=NOW, tenant=world.tenant_a)

    create_from_policy(NOW)
    first = automatic().get()
    assert list(first.deployment_patches.values_list("patch_id", flat=True)) == [patch.pk]

    # The deferral ends at midnight on the 20th in Berlin: the next run deploys it, alone.
    create_from_policy(dt.datetime(2026, 11, 20, 0, 30, tzinfo=dt.UTC))
    second = automatic().exclude(pk=first.pk).get()
    assert list(second.deployment_patches.values_list("patch_id", flat=True)) == [deferred.pk]
    assert set(second.targets.values_list("device_id", flat=True)) == {device.pk}


def test_without_rings_the_devices_form_one_stage_and_devices_outside_rings_wait(world):
    patch = approved_patch(world)
    devices = fleet(world.tenant_a, 2, patch)
    for device in devices:
        auto(device)
    create_from_policy(NOW)
    deployment = automatic().get()
    assert [(s.name, s.ring, s.devices_total) for s in deployment.stages.all()] == [(CHOSEN_DEVICES_STAGE, None, 2)]

    # With rings, a device no ring holds is not deployed to (here: a pilot ring only).
    Deployment.objects.all().delete()
    pilot, broad = rings(world.tenant_a, pilot_devices=[devices[0]])
    broad.delete()
    create_from_policy(NOW)
    deployment = automatic().get()
    assert [(s.ring, s.devices_total) for s in deployment.stages.all()] == [(pilot, 1)]
    assert list(deployment.targets.values_list("device_id", flat=True)) == [devices[0].pk]


def test_nothing_for_inactive_tenants_or_when_nothing_is_approved(world):
    device = DeviceFactory(tenant=world.tenant_a)
    auto(device)
    missing(device, make_patch(name="undecided"))
    assert create_from_policy(NOW) == {"tenants": 1, "deployments": 0, "devices": 0, "failed": 0}

    missing(device, approved_patch(world))
    world.tenant_a.is_active = False
    world.tenant_a.save()
    assert create_from_policy(NOW)["tenants"] == 0
    assert not Deployment.objects.exists()


def test_the_hourly_task_runs_it_in_the_system_scope(world, setup, settings):
    assert settings.CELERY_BEAT_SCHEDULE["deployments-auto-deploy"] == {
        "task": "deployments.tasks.auto_deploy",
        "schedule": 3600,
    }
    assert auto_deploy(now=NOW.isoformat())["deployments"] == 1
    assert auto_deploy(now=NOW.isoformat())["deployments"] == 0
