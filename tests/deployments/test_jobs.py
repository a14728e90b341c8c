"""Job state transitions (deployments.jobs) against real PostgreSQL and Redis."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection, transaction

from deployments import jobs
from deployments.models import Deployment, Job, JobEvent, JobState
from devices.models import Device, DeviceSoftware, DeviceUpdate, SoftwarePackage, Update
from portal.db_scope import Scope, current_scope, system_scope, tenant_scope
from portal.redis import client as redis_client
from tests.devices.agent_helpers import enroll, pkg, post, upload, upload_updates
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)
PAYLOAD = {"packages": [{"manager": "apt", "name": "openssl", "version": "3.0.15-1~deb12u1"}], "reboot": "never"}


@pytest.fixture(autouse=True)
def _clean_redis():
    redis_client().flushdb()
    yield
    redis_client().flushdb()


def make_job(device, state=JobState.QUEUED, **fields):
    fields.setdefault("payload", PAYLOAD)
    return Job.objects.create(tenant=device.tenant, device=device, state=state, **fields)


def deployment(tenant, state=Deployment.State.RUNNING, **fields):
    return Deployment.objects.create(tenant=tenant, name=f"d-{uuid.uuid4().hex[:6]}", state=state, **fields)


def events(job):
    return list(JobEvent.objects.filter(job=job).values_list("state", flat=True))


def test_claim_leases_only_the_jobs_that_are_due(world):
    device = DeviceFactory(tenant=world.tenant_a)
    due = make_job(device, not_before=NOW - timedelta(minutes=1))
    no_window = make_job(device, kind="reboot")
    make_job(device, kind="rollback", not_before=NOW + timedelta(minutes=5))  # backing off
    make_job(device, kind="reboot", not_after=NOW)  # its window has closed
    make_job(device, state=JobState.PENDING, kind="reboot")
    make_job(device, kind="reboot", deployment=deployment(world.tenant_a, Deployment.State.PAUSED))
    make_job(DeviceFactory(tenant=world.tenant_a))  # another device's

    claimed = jobs.claim(device, now=NOW, lease_seconds=600)

    assert {j.pk for j in claimed} == {due.pk, no_window.pk}
    for job in Job.objects.filter(pk__in=[due.pk, no_window.pk]):
        assert job.state == JobState.CLAIMED and job.attempt == 1 and job.claimed_at == NOW
        assert job.lease_id is not None and job.lease_expires_at == NOW + timedelta(seconds=600)
        assert events(job) == [JobState.CLAIMED]
    assert len({j.lease_id for j in claimed}) == 2
    assert jobs.claim(device, now=NOW) == []  # nothing left that is due


def test_claim_respects_the_limit_and_the_default_lease(world, settings):
    settings.JOB_LEASE_SECONDS = 120
    device = DeviceFactory(tenant=world.tenant_a)
    for _ in range(4):
        make_job(device, kind="reboot")
    first = jobs.claim(device, now=NOW, limit=3)
    assert len(first) == 3 and first[0].lease_expires_at == NOW + timedelta(seconds=120)
    assert len(jobs.claim(device, now=NOW, limit=3)) == 1


def test_a_claim_runs_in_its_devices_tenant_scope_and_gives_the_callers_scope_back(world):
    device = DeviceFactory(tenant=world.tenant_a)
    job = make_job(device, kind="reboot")
    # A device claimed under the wrong tenant sees none of its jobs: row-level security holds
    # inside the claim, whatever scope the caller had (here the test's all-tenants one).
    impostor = SimpleNamespace(id=device.pk, tenant_id=world.tenant_b.pk)
    assert jobs.claim(impostor, now=NOW) == []
    job.refresh_from_db()
    assert job.state == JobState.QUEUED

    with transaction.atomic(), tenant_scope([world.tenant_b.pk]):
        (claimed,) = jobs.claim(device, now=NOW)
        assert current_scope() == Scope.of([world.tenant_b.pk])  # the caller's own, back again
    assert claimed.pk == job.pk and claimed.deployment_dry_run is None
    assert events(job) == [JobState.CLAIMED]


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_in_two_connections_never_share_a_job(world):
    device = DeviceFactory(tenant=world.tenant_a)
    created = {make_job(device, kind="reboot").pk for _ in range(60)}
    taken: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)
    errors = []

    def worker(name):
        try:
            start.wait()
            while True:
                with system_scope():
                    claimed = jobs.claim(device, now=NOW, limit=2)
                if not claimed:
                    break
                taken[name].extend(j.pk for j in claimed)
        except Exception as exc:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert not set(taken["a"]) & set(taken["b"])
    assert sorted(taken["a"] + taken["b"]) == sorted(created)
    assert set(Job.objects.filter(pk__in=created).values_list("attempt", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
def test_a_claim_skips_rows_another_transaction_is_claiming(world):
    device = DeviceFactory(tenant=world.tenant_a)
    created = {make_job(device, kind="reboot").pk for _ in range(4)}
    holding, release = threading.Event(), threading.Event()
    held: list[int] = []

    def slow_claim():
        try:
            with system_scope(), transaction.atomic():
                held.extend(j.pk for j in jobs.claim(device, now=NOW, limit=2))
                holding.set()
                release.wait(30)  # the row locks stay until this transaction commits
        finally:
            holding.set()
            connection.close()

    thread = threading.Thread(target=slow_claim)
    thread.start()
    assert holding.wait(30)
    try:
        other = [j.pk for j in jobs.claim(device, now=NOW, limit=5)]
    finally:
        release.set()
        thread.join(30)
    assert len(held) == 2 and sorted(held + other) == sorted(created)


def test_an_expired_lease_is_retried_once_then_times_out(world):
    device = DeviceFactory(tenant=world.tenant_a)
    job = make_job(device, max_attempts=2)
    jobs.claim(device, now=NOW, lease_seconds=600)

    assert jobs.sweep_leases(NOW + timedelta(seconds=599)) == jobs.SweepCounts(0, 0)  # still leased
    counts = jobs.sweep_leases(NOW + timedelta(seconds=600))
    job.refresh_from_db()
    assert counts == jobs.SweepCounts(requeued=1, timed_out=0)
    assert job.state == JobState.QUEUED and job.lease_expires_at is None
    assert job.not_before == NOW + timedelta(seconds=600) + timedelta(minutes=5)

    assert jobs.claim(device, now=NOW + timedelta(minutes=14)) == []  # backing off
    later = NOW + timedelta(minutes=15)
    (again,) = jobs.claim(device, now=later, lease_seconds=600)
    assert again.attempt == 2
    assert jobs.sweep_leases(later + timedelta(seconds=600)) == jobs.SweepCounts(requeued=0, timed_out=1)
    job.refresh_from_db()
    assert job.state == JobState.TIMED_OUT and job.finished_at == later + timedelta(seconds=600)
    assert events(job) == [JobState.CLAIMED, JobState.QUEUED, JobState.CLAIMED, JobState.TIMED_OUT]
    assert jobs.claim(device, now=later + timedelta(days=1)) == []


def test_an_expired_reboot_pending_job_times_out(world):
    device = DeviceFactory(tenant=world.tenant_a)
    job = make_job(device)
    (claimed,) = jobs.claim(device, now=NOW, lease_seconds=600)
    jobs.record_progress(claimed, lease_id=claimed.lease_id, state="reboot_pending", now=NOW)
    assert jobs.sweep_leases(NOW + timedelta(hours=1)).timed_out == 1
    job.refresh_from_db()
    assert job.state == JobState.TIMED_OUT


def test_progress_extends_the_lease_and_refuses_a_wrong_or_expired_one(world, settings):
    settings.JOB_LEASE_SECONDS = 600
    device = DeviceFactory(tenant=world.tenant_a)
    make_job(device)
    (job,) = jobs.claim(device, now=NOW)

    later = NOW + timedelta(seconds=500)
    job = jobs.record_progress(job, lease_id=job.lease_id, state="running", message="apt-get running", now=later)
    assert job.state == JobState.RUNNING and job.started_at == later
    assert job.lease_expires_at == later + timedelta(seconds=600)

    with pytest.raises(jobs.LeaseMismatch):
        jobs.record_progress(job, lease_id=uuid.uuid4(), state="running", now=later)
    with pytest.raises(jobs.LeaseExpired):
        jobs.record_progress(job, lease_id=job.lease_id, state="running", now=later + timedelta(seconds=600))
    with pytest.raises(ValueError):
        jobs.record_progress(job, lease_id=job.lease_id, state="succeeded", now=later)


def test_a_duplicate_result_changes_nothing_and_a_different_one_is_refused(world):
    device = DeviceFactory(tenant=world.tenant_a)
    make_job(device)
    (job,) = jobs.claim(device, now=NOW)
    done = jobs.record_result(
        job, lease_id=job.lease_id, result_key="key-00000001", outcome="succeeded", exit_code=0, output="ok", now=NOW
    )
    assert done.state == JobState.SUCCEEDED and done.finished_at == NOW and done.exit_code == 0
    before = Job.objects.filter(pk=job.pk).values().get()
    event_count = JobEvent.objects.filter(job=job).count()

    again = jobs.record_result(
        job,
        lease_id=job.lease_id,
        result_key="key-00000001",
        outcome="failed",  # whatever the retry says, the stored result stands
        exit_code=1,
        now=NOW + timedelta(minutes=1),
    )
    assert again.state == JobState.SUCCEEDED
    assert Job.objects.filter(pk=job.pk).values().get() == before
    assert JobEvent.objects.filter(job=job).count() == event_count

    with pytest.raises(jobs.ResultConflict):
        jobs.record_result(job, lease_id=job.lease_id, result_key="key-00000002", outcome="failed", now=NOW)
    with pytest.raises(jobs.LeaseMismatch):
        jobs.record_result(job, lease_id=uuid.uuid4(), result_key="key-00000003", outcome="succeeded", now=NOW)


def test_a_wrong_lease_is_refused(world):
    device = DeviceFactory(tenant=world.tenant_a)
    make_job(device)
    (job,) = jobs.claim(device, now=NOW)
    with pytest.raises(jobs.LeaseMismatch):
        jobs.record_result(job, lease_id=uuid.uuid4(), result_key="key-00000001", outcome="succeeded", now=NOW)
    job.refresh_from_db()
    assert job.state == JobState.CLAIMED and job.result_key == ""


def test_a_late_result_for_the_last_lease_is_accepted_until_the_job_is_claimed_again(world):
    device = DeviceFactory(tenant=world.tenant_a)
    make_job(device, max_attempts=3)
    (job,) = jobs.claim(device, now=NOW, lease_seconds=60)
    first_lease = job.lease_id
    jobs.sweep_leases(NOW + timedelta(minutes=2))
    job.refresh_from_db()
    assert job.state == JobState.QUEUED

    # The agent did the work; its result arrives after the sweep, before another claim.
    late = jobs.record_result(job, lease_id=first_lease, result_key="late-result-1", outcome="succeeded", now=NOW)
    assert late.state == JobState.SUCCEEDED
    assert jobs.claim(device, now=NOW + timedelta(hours=1)) == []

    # Once re-claimed, the old lease's result is refused: the new claim's counts.
    other = make_job(DeviceFactory(tenant=world.tenant_a), max_attempts=3)
    (claimed,) = jobs.claim(other.device, now=NOW, lease_seconds=60)
    old = claimed.lease_id
    jobs.sweep_leases(NOW + timedelta(minutes=2))
    jobs.claim(other.device, now=NOW + timedelta(minutes=10))
    with pytest.raises(jobs.LeaseMismatch):
        jobs.record_result(other, lease_id=old, result_key="late-result-2", outcome="succeeded", now=NOW)


def test_failed_results_back_off_exponentially_then_fail(world, django_capture_on_commit_callbacks):
    device = DeviceFactory(tenant=world.tenant_a)
    job = make_job(device, max_attempts=3)
    now = NOW
    waits = []
    for attempt in (1, 2):
        (claimed,) = jobs.claim(device, now=now)
        with django_capture_on_commit_callbacks(execute=True):
            result = jobs.record_result(
                claimed,
                lease_id=claimed.lease_id,
                result_key=f"fail-{attempt:06d}",
                outcome="failed",
                exit_code=100,
                now=now,
            )
        assert result.state == JobState.QUEUED and result.attempt == attempt
        waits.append(result.not_before - now)
        # The device is marked due again from the end of its back-off.
        assert redis_client().zscore(jobs.DUE_KEY, str(device.pk)) == pytest.approx(result.not_before.timestamp())
        now = result.not_before
    assert waits == [timedelta(minutes=5), timedelta(minutes=10)]
    (claimed,) = jobs.claim(device, now=now)
    final = jobs.record_result(
        claimed, lease_id=claimed.lease_id, result_key="fail-000003", outcome="failed", exit_code=100, now=now
    )
    assert final.state == JobState.FAILED and final.attempt == 3 and final.finished_at == now
    job.refresh_from_db()
    assert events(job)[-1] == JobState.FAILED


def test_output_is_truncated_to_its_end(world):
    device = DeviceFactory(tenant=world.tenant_a)
    make_job(device)
    (job,) = jobs.claim(device, now=NOW)
    output = "x" * (jobs.OUTPUT_LIMIT * 2) + "THE END"
    done = jobs.record_result(
        job, lease_id=job.lease_id, result_key="k-trunc-1", outcome="succeeded", output=output, now=NOW
    )
    assert done.output.endswith("THE END") and "truncated" in done.output
    assert len(done.output) < jobs.OUTPUT_LIMIT + 200


def test_cancel_jobs_cancels_only_open_jobs(world):
    device = DeviceFactory(tenant=world.tenant_a)
    queued, running = make_job(device), make_job(device, kind="reboot")
    finished = make_job(device, kind="rollback", state=JobState.SUCCEEDED)
    (claimed,) = jobs.claim(device, now=NOW, limit=1)
    assert jobs.cancel_jobs(Job.objects.filter(device=device), reason="Cancelled by a person.", now=NOW) == 2
    assert set(Job.objects.filter(pk__in=[queued.pk, running.pk]).values_list("state", flat=True)) == {"cancelled"}
    finished.refresh_from_db()
    assert finished.state == JobState.SUCCEEDED
    with pytest.raises(jobs.ResultConflict):
        jobs.record_result(claimed, lease_id=claimed.lease_id, result_key="after-cancel", outcome="succeeded", now=NOW)


def test_verification_from_an_uploaded_inventory(client, world):
    body = enroll(client, world.tenant_a)
    device = Device.objects.get(uid=body["device_id"])
    upload(client, body["device_token"], [pkg("openssl", "3.0.13-1~deb12u1")])
    job = make_job(device, state=JobState.SUCCEEDED)
    untouched = make_job(
        device,
        kind="rollback",
        state=JobState.SUCCEEDED,
        payload={"packages": [{"manager": "apt", "name": "curl", "version": "7.88.1-10"}]},
    )

    # The signal from the inventory upload verifies the job whose version is now installed.
    response = upload(client, body["device_token"], [pkg("openssl", "3.0.15-1~deb12u1"), pkg("bash", "5.2.15-2")])
    assert response.status_code == 200, response.content
    job.refresh_from_db()
    untouched.refresh_from_db()
    assert job.state == JobState.VERIFIED and job.verified_at is not None
    assert events(job)[-1] == JobState.VERIFIED
    assert untouched.state == JobState.SUCCEEDED


def test_windows_kbs_are_verified_from_the_updates_windows_reports_installed(client, world):
    body = enroll(client, world.tenant_a, os_info={"family": "windows", "name": "Windows 11 Pro", "build": "10.0"})
    device = Device.objects.get(uid=body["device_id"])
    guid = "3f0e0a6c-8d2b-4b89-9d36-0d6d2a1b7c11"
    job = make_job(
        device,
        state=JobState.SUCCEEDED,
        payload={"windows_updates": [{"kb": "KB5034441", "update_id": guid}], "reboot": "if_required"},
    )
    update = {
        "kind": "windows",
        "update_id": guid,
        "revision": 1,
        "kb": "KB5034441",
        "title": "2024-01 Cumulative Update",
        "classification": "Security Updates",
        "severity": "Critical",
        "reboot": "required",
        "supersedes": [],
        "size": 1,
        "installed": False,
        "released": "2024-01-09",
    }
    assert upload_updates(client, body["device_token"], [update]).status_code == 200
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED  # offered, not installed yet
    assert upload_updates(client, body["device_token"], [{**update, "installed": True}]).status_code == 200
    job.refresh_from_db()
    assert job.state == JobState.VERIFIED


def test_verify_from_inventory_directly_and_dry_runs_are_never_verified(world):
    device = DeviceFactory(tenant=world.tenant_a)
    package = SoftwarePackage.objects.create(ecosystem="Rocky Linux:9", name="kernel", version="0:5.14.0-427.el9")
    DeviceSoftware.objects.create(tenant=device.tenant, device=device, package=package, arch="x86_64")
    payload = {"packages": [{"manager": "dnf", "name": "kernel", "version": "5.14.0-427.el9"}]}
    real = make_job(device, state=JobState.SUCCEEDED, payload=payload)
    dry = make_job(device, kind="rollback", state=JobState.SUCCEEDED, payload={**payload, "dry_run": True})
    assert jobs.verify_from_inventory(device, now=NOW) == 1
    real.refresh_from_db()
    dry.refresh_from_db()
    assert real.state == JobState.VERIFIED and real.verified_at == NOW
    assert dry.state == JobState.SUCCEEDED
    assert not DeviceUpdate.objects.exists() and not Update.objects.exists()


def test_checkin_reports_due_jobs_only_for_marked_devices(client, world):
    body = enroll(client, world.tenant_a)
    token = body["device_token"]
    device = Device.objects.get(uid=body["device_id"])
    job = make_job(device)
    # Not marked: the check-in does not look (and so reports nothing).
    assert post(client, "checkin", {}, token).json()["jobs"] == []

    jobs.mark_devices_due([device.pk])
    assert device.pk in jobs.devices_with_due_jobs()
    assert post(client, "checkin", {}, token).json()["jobs"] == [{"id": job.pk, "kind": "install"}]

    # Claimed: the next check-in finds nothing due and drops the mark.
    jobs.claim(device, now=datetime.now(UTC))
    assert post(client, "checkin", {}, token).json()["jobs"] == []
    assert redis_client().zscore(jobs.DUE_KEY, str(device.pk)) is None


def test_a_mark_moves_to_the_next_back_off_and_a_later_mark_is_not_lost(client, world):
    body = enroll(client, world.tenant_a)
    token = body["device_token"]
    device = Device.objects.get(uid=body["device_id"])
    later = datetime.now(UTC) + timedelta(minutes=5)
    make_job(device, not_before=later)
    jobs.mark_devices_due([device.pk])
    assert post(client, "checkin", {}, token).json()["jobs"] == []
    assert redis_client().zscore(jobs.DUE_KEY, str(device.pk)) == pytest.approx(later.timestamp())
    # A mark for "now" replaces the later one (an earlier score always wins).
    jobs.mark_devices_due([device.pk])
    assert redis_client().zscore(jobs.DUE_KEY, str(device.pk)) < later.timestamp()


def test_remark_queued_rebuilds_lost_marks(world):
    device = DeviceFactory(tenant=world.tenant_a)
    make_job(device, not_before=NOW)
    make_job(
        DeviceFactory(tenant=world.tenant_b),
        kind="reboot",
        deployment=deployment(world.tenant_b, Deployment.State.HALTED),
    )
    assert jobs.remark_queued(NOW) == 1
    assert jobs.devices_with_due_jobs(NOW) == {device.pk}
