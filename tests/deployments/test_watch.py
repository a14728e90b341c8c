"""The post-update watch: healthy in time passes; unhealthy or silent alerts, halts, rolls back."""

from __future__ import annotations

import datetime as dt

import pytest

from deployments.dispatch import release_due
from deployments.jobs import claim
from deployments.models import Alert, AlertKind, Deployment, HealthReport, Job, JobKind, JobState
from deployments.planning import create_deployment
from deployments.watch import watch
from tests.deployments.planning_helpers import NOW, approved_patch, finish, fleet
from tests.patches.approval_helpers import missing

pytestmark = pytest.mark.django_db
DONE = NOW + dt.timedelta(minutes=10)


@pytest.fixture
def installed(world):
    """Two devices updated by a run-now deployment; the install finished at DONE."""
    patch = approved_patch(world, name="openssl")
    kb = approved_patch(world, kind="windows", name="KB5044284")
    devices = fleet(world.tenant_a, 2, patch)
    missing(devices[0], kb)
    plan = create_deployment(
        world.tenant_a, name="Hotfix", patches=[patch, kb], devices=devices, user=world.tech_all, now=NOW, run_now=True
    )
    from deployments.dispatch import start

    start(plan.deployment, now=NOW)
    release_due(NOW)
    jobs = [finish(job, "succeeded", DONE) for job in Job.objects.filter(deployment=plan.deployment).order_by("id")]
    return plan.deployment, devices, jobs


def report(device, at, healthy):
    return HealthReport.objects.create(tenant=device.tenant, device=device, received_at=at, healthy=healthy)


def test_a_healthy_report_in_time_passes_once(installed):
    deployment, devices, _ = installed
    for device in devices:
        report(device, DONE - dt.timedelta(minutes=1), False)  # before the update: does not count
        report(device, DONE + dt.timedelta(minutes=4), True)
    assert watch(DONE + dt.timedelta(minutes=5)) == {"passed": 2, "failed": 0, "rollbacks": 0}
    assert watch(DONE + dt.timedelta(hours=2)) == {"passed": 0, "failed": 0, "rollbacks": 0}
    deployment.refresh_from_db()
    assert deployment.state == Deployment.State.RUNNING and not Alert.objects.exists()


def test_an_unhealthy_device_raises_an_alert_halts_and_gets_a_rollback_job(installed):
    deployment, devices, jobs = installed
    report(devices[0], DONE + dt.timedelta(minutes=3), False)
    report(devices[1], DONE + dt.timedelta(minutes=3), True)

    assert watch(DONE + dt.timedelta(minutes=4)) == {"passed": 1, "failed": 1, "rollbacks": 1}

    alert = Alert.objects.get(kind=AlertKind.HEALTH_FAILED)
    assert devices[0].hostname in alert.title and alert.tenant_id == deployment.tenant_id
    assert Alert.objects.filter(kind=AlertKind.DEPLOYMENT_HALTED).count() == 1
    deployment.refresh_from_db()
    assert deployment.state == Deployment.State.HALTED and "unhealthy" in deployment.halted_reason
    rollback = Job.objects.get(kind=JobKind.ROLLBACK)
    assert (rollback.device_id, rollback.state, rollback.rollback_of_id) == (devices[0].pk, JobState.QUEUED, jobs[0].pk)
    assert rollback.payload["packages"] == [
        {"name": "openssl", "manager": "apt", "version": "1.0-1", "from": jobs[0].payload["packages"][0]["version"]}
    ]
    assert rollback.payload["windows_updates"] == [{"kb": "KB5044284", "patch": jobs[0].payload["patches"][1]}]
    # The agent receives it although the deployment is halted.
    assert [j.pk for j in claim(devices[0], now=DONE + dt.timedelta(minutes=5))] == [rollback.pk]
    # Judged once: no second rollback, alert or halt.
    assert watch(DONE + dt.timedelta(hours=1)) == {"passed": 0, "failed": 0, "rollbacks": 0}


def test_no_report_in_time_fails_the_check(installed, settings):
    settings.HEALTH_WATCH_MINUTES = 30
    _, devices, _ = installed
    report(devices[1], DONE + dt.timedelta(minutes=2), True)
    assert watch(DONE + dt.timedelta(minutes=29)) == {"passed": 1, "failed": 0, "rollbacks": 0}
    report(devices[0], DONE + dt.timedelta(minutes=31), True)  # too late
    assert watch(DONE + dt.timedelta(minutes=31)) == {"passed": 0, "failed": 1, "rollbacks": 1}
    assert "no health report within 30 minutes" in Alert.objects.get(kind=AlertKind.HEALTH_FAILED).body


def test_no_rollback_when_the_deployment_does_not_allow_it(installed):
    deployment, devices, _ = installed
    Deployment.objects.filter(pk=deployment.pk).update(allow_rollback=False)
    report(devices[0], DONE + dt.timedelta(minutes=1), False)
    assert watch(DONE + dt.timedelta(minutes=2))["rollbacks"] == 0
    assert not Job.objects.filter(kind=JobKind.ROLLBACK).exists()
    assert Alert.objects.filter(kind=AlertKind.HEALTH_FAILED).exists()
