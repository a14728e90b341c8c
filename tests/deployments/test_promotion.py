"""Promotion: a stage finishes, soaks, passes its gate and the next ring follows; or it halts."""

from __future__ import annotations

import datetime as dt

import pytest

from deployments.dispatch import release_due
from deployments.models import Alert, AlertKind, Deployment, DeploymentStage, Job, JobState
from deployments.planning import create_deployment
from deployments.promotion import advance, advance_all, needing_attention
from tests.deployments.planning_helpers import NOW, approved_patch, finish, fleet, rings

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(world):
    """Two pilot devices and three others, all missing an approved patch; no windows (always open)."""
    patch = approved_patch(world)
    pilot_devices = fleet(world.tenant_a, 2, patch, prefix="pilot")
    broad_devices = fleet(world.tenant_a, 3, patch, prefix="broad")
    return patch, pilot_devices, broad_devices


def start(world, patch, **options):
    plan = create_deployment(world.tenant_a, name="Rollout", patches=[patch], user=world.tech_all, now=NOW, **options)
    deployment = plan.deployment
    assert advance(deployment, now=NOW) == "scheduled"  # what the creation task does, picked up by the tick
    release_due(NOW)
    return deployment


def stage(deployment, position) -> DeploymentStage:
    return deployment.stages.get(position=position)


def test_a_good_pilot_soaks_then_the_broad_ring_is_scheduled_and_the_deployment_completes(world, setup):
    patch, pilot_devices, broad_devices = setup
    rings(world.tenant_a, pilot_devices=pilot_devices, soak_hours=24, gate_percent=90, gate_devices=2)
    deployment = start(world, patch)
    assert Job.objects.filter(deployment=deployment).count() == 2  # the pilot only
    done_at = NOW + dt.timedelta(minutes=10)
    for job in Job.objects.filter(deployment=deployment):
        finish(job, "succeeded", done_at)

    assert advance(deployment, now=done_at) == "soaking"
    pilot = stage(deployment, 0)
    assert (pilot.state, pilot.soak_until) == (DeploymentStage.State.SOAKING, done_at + dt.timedelta(hours=24))
    assert advance(deployment, now=done_at + dt.timedelta(hours=23)) == ""
    assert not Job.objects.filter(stage=stage(deployment, 1)).exists()

    soaked = done_at + dt.timedelta(hours=24)
    assert advance(deployment, now=soaked) == "passed"
    assert stage(deployment, 0).state == DeploymentStage.State.PASSED
    broad = stage(deployment, 1)
    assert (broad.state, broad.devices_total) == (DeploymentStage.State.SCHEDULED, 3)
    assert {j.device_id for j in Job.objects.filter(stage=broad)} == {d.pk for d in broad_devices}

    release_due(soaked)
    for job in Job.objects.filter(stage=broad):
        finish(job, "succeeded", soaked + dt.timedelta(minutes=5))
    assert advance(deployment, now=soaked + dt.timedelta(minutes=6)) == "completed"  # the broad ring has no soak
    deployment.refresh_from_db()
    assert deployment.state == Deployment.State.COMPLETED and deployment.finished_at is not None


def test_a_failing_pilot_halts_the_deployment_and_the_broad_ring_gets_nothing(world, setup):
    patch, pilot_devices, _ = setup
    rings(world.tenant_a, pilot_devices=pilot_devices, halt_percent=20)
    deployment = start(world, patch, max_attempts=1)
    bad, _ = Job.objects.filter(deployment=deployment).order_by("id")
    finish(bad, "failed", NOW + dt.timedelta(minutes=5))

    # Halts at once, while the other pilot job is still queued.
    assert advance(deployment, now=NOW + dt.timedelta(minutes=6)) == "halted"
    deployment.refresh_from_db()
    assert deployment.state == Deployment.State.HALTED
    assert "1 of 2 devices failed" in deployment.halted_reason
    assert stage(deployment, 0).state == DeploymentStage.State.HALTED
    assert stage(deployment, 1).state == DeploymentStage.State.WAITING
    alert = Alert.objects.get(kind=AlertKind.DEPLOYMENT_HALTED)
    assert alert.tenant_id == world.tenant_a.pk and deployment.name in alert.title
    assert advance_all(NOW + dt.timedelta(days=2)) == {}
    assert not Job.objects.filter(stage=stage(deployment, 1)).exists()
    assert release_due(NOW + dt.timedelta(days=2)) == 0


def test_the_gate_needs_enough_devices(world, setup):
    patch, pilot_devices, _ = setup
    rings(world.tenant_a, pilot_devices=pilot_devices[:1], soak_hours=1, gate_percent=50, gate_devices=2)
    deployment = start(world, patch)
    (job,) = Job.objects.filter(deployment=deployment)
    finish(job, "succeeded", NOW + dt.timedelta(minutes=5))
    assert advance(deployment, now=NOW + dt.timedelta(minutes=5)) == "soaking"

    assert advance(deployment, now=NOW + dt.timedelta(hours=2)) == "halted"
    deployment.refresh_from_db()
    assert "at least 2 devices" in deployment.halted_reason
    assert not Job.objects.filter(stage=stage(deployment, 1)).exists()


def test_an_unverified_success_keeps_the_stage_running_until_verification_times_out(world, setup, settings):
    settings.JOB_VERIFY_MINUTES = 60
    patch, pilot_devices, _ = setup
    rings(world.tenant_a, pilot_devices=pilot_devices, soak_hours=0, gate_percent=50, gate_devices=1)
    deployment = start(world, patch)
    first, second = Job.objects.filter(deployment=deployment).order_by("id")
    done_at = NOW + dt.timedelta(minutes=5)
    finish(first, "succeeded", done_at)
    finish(second, "succeeded", done_at, verify=False)  # the inventory never confirms it

    assert advance(deployment, now=done_at + dt.timedelta(minutes=59)) == ""
    assert stage(deployment, 0).state == DeploymentStage.State.RUNNING
    # Final after an hour, but not a success: 1 of 2 verified is 50 %, enough for this gate.
    assert advance(deployment, now=done_at + dt.timedelta(minutes=61)) == "passed"


def test_advance_all_picks_only_deployments_that_need_attention(world, setup):
    patch, pilot_devices, _ = setup
    rings(world.tenant_a, pilot_devices=pilot_devices, soak_hours=24)
    busy = start(world, patch)  # pilot jobs queued: nothing to do
    fresh = create_deployment(world.tenant_a, name="New", patches=[patch], user=world.tech_all, now=NOW).deployment

    assert set(needing_attention(NOW)) == {fresh}
    assert advance_all(NOW) == {"scheduled": 1}
    assert stage(fresh, 0).state == DeploymentStage.State.SCHEDULED
    assert set(needing_attention(NOW)) == set()

    for job in Job.objects.filter(deployment=busy):
        finish(job, "succeeded", NOW + dt.timedelta(minutes=1))
    assert set(needing_attention(NOW + dt.timedelta(minutes=2))) == {busy}
    assert Job.objects.filter(deployment=busy, state=JobState.VERIFIED).count() == 2
