"""Dispatch: jobs in batches from the window's opening, release within the concurrency limit,
offline devices catching up, pause, resume and cancel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from deployments.dispatch import cancel, pause, release_due, resume, schedule_stage
from deployments.jobs import claim
from deployments.models import Deployment, DeploymentStage, Job, JobState, MaintenanceWindow
from deployments.planning import create_deployment
from devices.models import DeviceUpdate, Update
from patches.models import PatchPolicy, PatchUpdate, Scope
from tenants.models import AuditEntry
from tests.deployments.planning_helpers import NOW, approved_patch, finish, fleet
from tests.patches.approval_helpers import make_patch, missing

pytestmark = pytest.mark.django_db

# The tenant (Berlin, CET in November) installs on Tuesdays 02:00-06:00 local = 01:00-05:00 UTC.
TUESDAY = dt.datetime(2026, 11, 17, 1, 0, tzinfo=dt.UTC)
TUESDAY_END = dt.datetime(2026, 11, 17, 5, 0, tzinfo=dt.UTC)
NEXT_TUESDAY = TUESDAY + dt.timedelta(days=7)


@pytest.fixture
def window(world):
    return MaintenanceWindow.objects.create(
        tenant=world.tenant_a, name="Tuesday night", weekdays=[1], start_time=dt.time(2, 0), duration_minutes=240
    )


def deploy(world, devices, patch, **options):
    options.setdefault("batch_size", 3)
    options.setdefault("batch_interval_minutes", 10)
    plan = create_deployment(
        world.tenant_a, name="Patch night", patches=[patch], devices=devices, user=world.tech_all, now=NOW, **options
    )
    deployment = plan.deployment
    schedule_stage(deployment.stages.get(), now=NOW)
    deployment.refresh_from_db()
    return deployment


def states(deployment) -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in Job.objects.filter(deployment=deployment).values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


def test_jobs_are_batched_from_the_next_opening_of_the_window(world, window):
    patch = approved_patch(world)
    devices = fleet(world.tenant_a, 7, patch)
    deployment = deploy(world, devices, patch)

    jobs = list(Job.objects.filter(deployment=deployment).order_by("device_id"))
    assert [j.batch for j in jobs] == [0, 0, 0, 1, 1, 1, 2]
    assert [j.not_before for j in jobs] == [TUESDAY] * 3 + [TUESDAY + dt.timedelta(minutes=10)] * 3 + [
        TUESDAY + dt.timedelta(minutes=20)
    ]
    assert {j.not_after for j in jobs} == {TUESDAY_END}
    assert {j.state for j in jobs} == {JobState.PENDING}
    stage = deployment.stages.get()
    assert (stage.state, stage.scheduled_for, stage.devices_total) == (DeploymentStage.State.SCHEDULED, TUESDAY, 7)
    # Scheduling again changes nothing.
    assert schedule_stage(stage, now=NOW) == 0 and Job.objects.filter(deployment=deployment).count() == 7


def test_the_payload_carries_what_to_install_and_the_devices_reboot_policy(world, window):
    package = approved_patch(world, name="openssl")
    kb = approved_patch(world, kind="windows", name="KB5044284")
    skipped = make_patch(name="undecided")
    (device,) = fleet(world.tenant_a, 1, package)
    missing(device, kb)
    missing(device, skipped)
    # The agent reported the KB as offered, under its Windows Update GUID: the install names it.
    update = Update.objects.create(
        kind="windows", ecosystem="Windows", identifier="guid-5044284", version="1", kb=kb.name
    )
    PatchUpdate.objects.create(patch=kb, update=update)
    DeviceUpdate.objects.create(tenant=device.tenant, device=device, update=update)
    PatchPolicy.objects.create(
        scope=Scope.TENANT,
        tenant=world.tenant_a,
        settings={"reboot": "always", "reboot_postpone_minutes": 60},
    )
    deployment = deploy(world, [device], package)
    deployment.deployment_patches.create(tenant=world.tenant_a, patch=kb)
    Job.objects.filter(deployment=deployment).delete()
    DeploymentStage.objects.filter(deployment=deployment).update(state=DeploymentStage.State.WAITING)
    schedule_stage(deployment.stages.get(), now=NOW)

    payload = Job.objects.get(deployment=deployment).payload
    assert payload["patches"] == sorted([package.pk, kb.pk])
    assert payload["packages"] == [
        {
            "patch": package.pk,
            "name": "openssl",
            "source": "openssl",
            "manager": "apt",
            "version": package.version,
            "previous_version": "1.0-1",
        }
    ]
    assert payload["windows_updates"] == [{"patch": kb.pk, "kb": "KB5044284", "update_id": "guid-5044284"}]
    assert (payload["reboot"], payload["reboot_postpone_minutes"], payload["dry_run"]) == ("always", 60, False)
    assert payload["pre_script"] is None and payload["deployment"] == deployment.pk


def test_release_follows_batches_and_the_concurrency_limit(world, window):
    patch = approved_patch(world)
    devices = fleet(world.tenant_a, 7, patch)
    deployment = deploy(world, devices, patch, max_concurrent=4)

    assert release_due(NOW) == 0  # the window has not opened
    assert release_due(TUESDAY) == 3
    deployment.refresh_from_db()
    assert deployment.state == Deployment.State.RUNNING and deployment.started_at == TUESDAY
    assert deployment.stages.get().state == DeploymentStage.State.RUNNING
    assert release_due(TUESDAY + dt.timedelta(minutes=5)) == 0  # batch 1 is not due yet
    ten_past = TUESDAY + dt.timedelta(minutes=10)
    assert release_due(ten_past) == 1  # one slot left of four
    assert states(deployment) == {"queued": 4, "pending": 3}

    first = Job.objects.filter(deployment=deployment, state=JobState.QUEUED).order_by("id")[0]
    finish(first, "succeeded", ten_past)
    assert release_due(ten_past + dt.timedelta(minutes=1)) == 1
    assert release_due(ten_past + dt.timedelta(minutes=10)) == 0  # batch 2 is due, but four are in flight
    assert states(deployment) == {"verified": 1, "queued": 4, "pending": 2}


def test_an_offline_device_catches_up_in_the_next_window(world, window):
    patch = approved_patch(world)
    (online, offline) = fleet(world.tenant_a, 2, patch)
    deployment = deploy(world, [online, offline], patch)
    release_due(TUESDAY)
    finish(Job.objects.get(device=online), "succeeded", TUESDAY + dt.timedelta(minutes=3))

    release_due(TUESDAY_END)  # the window is over; the offline device never came

    job = Job.objects.get(device=offline)
    assert (job.state, job.not_before, job.not_after) == (JobState.PENDING, NEXT_TUESDAY, TUESDAY_END + dt.timedelta(7))
    assert job.events.filter(message__contains="window ended").exists()
    assert claim(offline, now=TUESDAY_END + dt.timedelta(hours=4)) == []  # back on Tuesday morning: not yet
    assert release_due(NEXT_TUESDAY) == 1
    assert [j.pk for j in claim(offline, now=NEXT_TUESDAY + dt.timedelta(minutes=1))] == [job.pk]
    assert deployment.catch_up == Deployment.CatchUp.NEXT_WINDOW


def test_on_return_a_released_job_waits_for_the_device_without_an_end(world, window):
    patch = approved_patch(world)
    (offline,) = fleet(world.tenant_a, 1, patch)
    deploy(world, [offline], patch, catch_up=Deployment.CatchUp.ON_RETURN)
    release_due(TUESDAY)
    job = Job.objects.get(device=offline)
    assert (job.state, job.not_after) == (JobState.QUEUED, None)

    release_due(TUESDAY_END + dt.timedelta(hours=1))
    job.refresh_from_db()
    assert job.state == JobState.QUEUED  # still waiting for the device
    thursday = TUESDAY + dt.timedelta(days=2)
    assert [j.pk for j in claim(offline, now=thursday)] == [job.pk]


def test_run_now_ignores_the_windows(world, window):
    patch = approved_patch(world)
    devices = fleet(world.tenant_a, 4, patch)
    deployment = deploy(world, devices, patch, run_now=True, batch_size=2, batch_interval_minutes=5)
    jobs = list(Job.objects.filter(deployment=deployment).order_by("device_id"))
    assert [j.not_before for j in jobs] == [NOW, NOW, NOW + dt.timedelta(minutes=5), NOW + dt.timedelta(minutes=5)]
    assert {j.not_after for j in jobs} == {None}
    assert release_due(NOW) == 2


def test_pause_holds_jobs_back_resume_releases_them_cancel_ends_everything(world, window):
    patch = approved_patch(world)
    devices = fleet(world.tenant_a, 4, patch)
    deployment = deploy(world, devices, patch, batch_size=2)
    release_due(TUESDAY)
    taken = claim(devices[0], now=TUESDAY)

    deployment = pause(deployment, now=TUESDAY, reason="Call from the client")
    assert deployment.state == Deployment.State.PAUSED
    assert states(deployment) == {"claimed": 1, "pending": 3}  # the queued one went back
    assert claim(devices[1], now=TUESDAY) == []
    assert release_due(TUESDAY + dt.timedelta(minutes=30)) == 0
    with pytest.raises(ValidationError):
        pause(deployment, now=TUESDAY)

    deployment = resume(deployment, now=TUESDAY + dt.timedelta(minutes=30))
    assert deployment.state == Deployment.State.RUNNING
    assert release_due(TUESDAY + dt.timedelta(minutes=30)) == 3

    deployment = cancel(deployment, now=TUESDAY + dt.timedelta(minutes=31), reason="Wrong patch")
    assert deployment.state == Deployment.State.CANCELLED
    assert deployment.stages.get().state == DeploymentStage.State.CANCELLED
    assert states(deployment) == {"claimed": 1, "cancelled": 3}  # the agent that holds a job finishes it
    assert Job.objects.get(pk=taken[0].pk).state == JobState.CLAIMED
    actions = set(AuditEntry.objects.filter(object_id=str(deployment.pk)).values_list("action", flat=True))
    assert {"deployment.paused", "deployment.resumed", "deployment.cancelled"} <= actions
    with pytest.raises(ValidationError):
        resume(deployment, now=TUESDAY)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_new_deployment_is_dispatched_and_released_by_the_worker(world, celery_worker):
    import time

    from django.utils import timezone

    from deployments.jobs import devices_with_due_jobs
    from deployments.tasks import tick

    patch = approved_patch(world)
    devices = fleet(world.tenant_a, 3, patch)
    now = timezone.now()
    plan = create_deployment(
        world.tenant_a, name="Emergency", patches=[patch], devices=devices, user=world.tech_all, now=now, run_now=True
    )  # commits: the worker schedules the stage

    def wait_for(condition):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not condition():
            time.sleep(0.2)
        assert condition()

    wait_for(lambda: Job.objects.filter(deployment=plan.deployment).count() == 3)
    tick.delay()
    wait_for(lambda: states(plan.deployment) == {"queued": 3})
    assert {d.pk for d in devices} <= devices_with_due_jobs()
    assert plan.deployment.stages.get().state == DeploymentStage.State.RUNNING


@pytest.mark.django_db(transaction=True)
def test_a_second_tick_skips_a_step_the_first_one_holds(world):
    import threading

    from django.db import connection

    from deployments.tasks import _try_lock, run_step
    from portal.db_scope import system_scope

    patch = approved_patch(world)
    devices = fleet(world.tenant_a, 2, patch)
    deploy(world, devices, patch, run_now=True)
    holding, release = threading.Event(), threading.Event()

    def other_tick():
        try:
            with system_scope():
                assert _try_lock("release_due")
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_tick)
    thread.start()
    assert holding.wait(10)
    assert run_step("release_due", release_due, NOW) is None  # skipped while the other holds it
    release.set()
    thread.join()
    assert run_step("release_due", release_due, NOW) == 2
