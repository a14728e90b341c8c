"""The whole rollout, end to end: a live portal, a real Celery worker, real agent processes.

Every test enrolls simulated machines (`python -m agent enroll`, backend = simulated, each
its own state directory and machine id), lets them upload their inventories (the worker
matches them against a published advisory: each misses the openssl fix), approves the
patch and creates a deployment. From there the portal's own machinery runs it: the worker
dispatches the deployment and runs `deployments.tasks.tick` (release, lease sweep,
promotion, health watch), the agents check in, claim, install, report results and health
over HTTP, and their next inventory verifies the install.

Time: the agent API reads the real clock, so jobs are claimed in real time; the tick is
given `now` explicitly (`run_tick`), real time unless a test moves it to show a window, a
lease or a catch-up.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from agent.transport import PortalError
from deployments.models import (
    Alert,
    AlertKind,
    Deployment,
    DeploymentStage,
    HealthReport,
    Job,
    JobEvent,
    JobKind,
    JobState,
    MaintenanceWindow,
    Ring,
    RingMember,
)
from deployments.planning import create_deployment
from patches.approvals import decide
from patches.models import Finding
from tests.deployments.e2e_helpers import (
    FIXED,
    INSTALLED,
    SimAgent,
    enroll_all,
    installed_version,
    job_snapshot,
    publish_openssl_advisory,
    run_all,
    run_tick,
)
from tests.fixtures.worker_process import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _clean_redis():
    # The check-in finds jobs through marks in Redis: none may survive from another test.
    from portal.redis import client

    client().flushdb()


@pytest.fixture
def portal(live_server, celery_worker, world, tmp_path):
    """The live portal and its worker, an advisory every simulated machine is affected by."""
    publish_openssl_advisory(timezone.now())
    return Portal(live_server.url, world, tmp_path)


class Portal:
    def __init__(self, url, world, tmp_path):
        self.url, self.world, self.tmp_path = url, world, tmp_path
        self.tenant = world.tenant_a

    def agents(self, *names, **knobs) -> list[SimAgent]:
        return [SimAgent(self.tmp_path / name, **knobs) for name in names]

    def enroll(self, *agents: SimAgent):
        return enroll_all(agents, self.url, self.tenant)

    def approved_patch(self, device):
        patch = Finding.objects.get(device=device, state="open", package_name="openssl").patch
        assert patch is not None and patch.version == FIXED
        # Approved two days ago, so that it is in force for a tick whose clock is a day back.
        decide(
            [patch],
            action="approve",
            user=self.world.tech_all,
            now=timezone.now() - dt.timedelta(days=2),
            tenant=self.tenant,
        )
        return patch

    def rings(self, pilot_devices, *, gate_devices=1, gate_percent=100):
        pilot = Ring.objects.create(
            tenant=self.tenant,
            name="Pilot",
            position=0,
            soak_hours=0,
            gate_min_success_percent=gate_percent,
            gate_min_devices=gate_devices,
            halt_failure_percent=20,
        )
        for device in pilot_devices:
            RingMember.objects.create(tenant=self.tenant, ring=pilot, device=device)
        broad = Ring.objects.create(tenant=self.tenant, name="Broad", position=1, catch_all=True, soak_hours=0)
        return pilot, broad

    def deploy(self, patch, **options) -> Deployment:
        plan = create_deployment(
            self.tenant, name="openssl", patches=[patch], user=self.world.tech_all, now=timezone.now(), **options
        )
        deployment = plan.deployment
        # The worker's dispatch task schedules the first stage.
        wait_until(
            lambda: (
                DeploymentStage.objects.filter(deployment=deployment, position=0)
                .exclude(state=DeploymentStage.State.WAITING)
                .exists()
            ),
            timeout=30,
            what="the worker to dispatch the deployment",
        )
        return deployment


def stages(deployment) -> dict[str, str]:
    return dict(DeploymentStage.objects.filter(deployment=deployment).values_list("name", "state"))


def job_of(device, kind=JobKind.INSTALL) -> Job:
    return Job.objects.get(device=device, kind=kind)


def states(jobs) -> list[str]:
    return [Job.objects.get(pk=j.pk).state for j in jobs]


def wait_state(job: Job, state: str, what: str = "") -> Job:
    wait_until(lambda: Job.objects.get(pk=job.pk).state == state, timeout=30, what=what or f"job {job.pk} {state}")
    return Job.objects.get(pk=job.pk)


def event_states(job: Job) -> list[str]:
    return list(JobEvent.objects.filter(job_id=job.pk).values_list("state", flat=True))


# --- 1. The pilot succeeds and the broad ring is promoted -----------------------------------------


def test_a_successful_pilot_promotes_the_broad_ring_and_the_deployment_completes(portal):
    pilot_agent, *broad_agents = agents = portal.agents("pilot", "broad-1", "broad-2")
    pilot_device, *broad_devices = portal.enroll(*agents)
    patch = portal.approved_patch(pilot_device)
    portal.rings([pilot_device])
    deployment = portal.deploy(patch)
    assert stages(deployment) == {"Pilot": "scheduled", "Broad": "waiting"}
    assert Job.objects.filter(deployment=deployment).count() == 1  # the pilot's device only

    run_tick()  # releases the pilot's job
    pilot_job = wait_state(job_of(pilot_device), JobState.QUEUED)
    run_all(broad_agents)  # the broad ring has nothing yet
    assert not Job.objects.filter(device__in=broad_devices).exists()

    pilot_agent.once()  # check-in lists the job; the agent claims, installs, reports, sends health
    assert Job.objects.get(pk=pilot_job.pk).state == JobState.SUCCEEDED, pilot_agent.log()
    assert pilot_agent.packages()["openssl"] == FIXED
    pilot_agent.once()  # the next inventory shows the new version
    assert Job.objects.get(pk=pilot_job.pk).state == JobState.VERIFIED
    assert installed_version(pilot_device) == FIXED

    done = run_tick()  # pilot: soaked (0 h), gate passed, broad scheduled
    assert done["advance_all"] == {"passed": 1} and done["watch"]["passed"] == 1, done
    assert stages(deployment) == {"Pilot": "passed", "Broad": "scheduled"}
    broad_jobs = [job_of(d) for d in broad_devices]
    run_tick()  # releases the broad ring
    assert states(broad_jobs) == [JobState.QUEUED] * 2

    run_all(broad_agents)
    run_all(broad_agents)
    assert states(broad_jobs) == [JobState.VERIFIED] * 2, "\n".join(a.log() for a in broad_agents)

    done = run_tick()
    assert done["advance_all"] == {"completed": 1}, done
    deployment.refresh_from_db()
    assert deployment.state == Deployment.State.COMPLETED
    assert stages(deployment) == {"Pilot": "passed", "Broad": "passed"}
    jobs = Job.objects.filter(deployment=deployment)
    assert jobs.count() == 3 and {(j.state, j.attempt) for j in jobs} == {(JobState.VERIFIED, 1)}
    assert HealthReport.objects.filter(job__in=jobs, healthy=True).count() == 3
    assert not Alert.objects.filter(tenant=portal.tenant).exists()
    # The install fixed the finding: the worker rematched each new inventory.
    wait_until(
        lambda: not Finding.objects.filter(device__in=[pilot_device, *broad_devices], state="open").exists(),
        timeout=30,
        what="the findings to close",
    )


# --- 2. A failing pilot halts the deployment ---------------------------------------------------------


def test_a_failing_pilot_halts_the_deployment_before_the_broad_ring(portal):
    (pilot_agent,) = portal.agents("pilot", failure_rate=1)
    (broad_agent,) = portal.agents("broad")
    pilot_device, broad_device = portal.enroll(pilot_agent, broad_agent)
    patch = portal.approved_patch(pilot_device)
    portal.rings([pilot_device])
    deployment = portal.deploy(patch, max_attempts=1)

    run_tick()
    pilot_job = wait_state(job_of(pilot_device), JobState.QUEUED)
    pilot_agent.once()
    pilot_job = Job.objects.get(pk=pilot_job.pk)
    assert pilot_job.state == JobState.FAILED and pilot_job.exit_code == 100, pilot_agent.log()
    assert "simulated failure" in pilot_job.output
    assert pilot_agent.packages()["openssl"] == INSTALLED

    done = run_tick()
    assert done["advance_all"] == {"halted": 1}, done
    deployment.refresh_from_db()
    assert deployment.state == Deployment.State.HALTED
    assert "Pilot: 1 of 1 devices failed" in deployment.halted_reason
    assert stages(deployment) == {"Pilot": "halted", "Broad": "waiting"}
    alert = Alert.objects.get(tenant=portal.tenant)
    assert alert.kind == AlertKind.DEPLOYMENT_HALTED and alert.severity == "critical"

    # Nothing reaches the broad ring, however long the clock runs.
    run_tick(timezone.now() + dt.timedelta(days=2))
    broad_agent.once()
    assert not Job.objects.filter(device=broad_device).exists()
    assert Deployment.objects.get(pk=deployment.pk).state == Deployment.State.HALTED
    assert Alert.objects.filter(tenant=portal.tenant).count() == 1


# --- 3. An expired lease is retried exactly once ---------------------------------------------------


def test_an_expired_lease_is_retried_once_and_succeeds_once(portal, settings):
    (agent,) = portal.agents("web")
    (device,) = portal.enroll(agent)
    deployment = portal.deploy(portal.approved_patch(device), devices=[device])
    run_tick()
    job = wait_state(job_of(device), JobState.QUEUED)

    # An agent claims the job and dies before it reports anything (its lease is short).
    settings.JOB_LEASE_SECONDS = 1
    settings.JOB_RETRY_BACKOFF_SECONDS = 1
    (dead,) = agent.client(portal.url).post("jobs/claim", {})["jobs"]
    assert dead["id"] == job.pk and dead["attempt"] == 1
    settings.JOB_LEASE_SECONDS = 600

    # The clock moves past the lease: the sweep puts the job back in the queue, with back-off.
    expired_at = dt.datetime.fromisoformat(dead["lease_expires_at"])
    done = run_tick(expired_at + dt.timedelta(seconds=1))
    assert done["sweep_leases"] == {"requeued": 1, "timed_out": 0}, done
    job = Job.objects.get(pk=job.pk)
    assert job.state == JobState.QUEUED and job.attempt == 1 and job.lease_expires_at is None
    assert "expired without a result" in JobEvent.objects.filter(job=job).last().message
    wait_until(lambda: timezone.now() > job.not_before, timeout=10, what="the back-off to pass")

    agent.once()  # the next check-in takes the job again and completes it
    job = Job.objects.get(pk=job.pk)
    assert job.state == JobState.SUCCEEDED and job.attempt == 2, agent.log()
    assert str(job.lease_id) != dead["lease_id"]

    # The dead agent's lease is over: its result is refused and changes nothing.
    before = job_snapshot(job)
    late = {"lease_id": dead["lease_id"], "result_key": "dead-agent-result", "outcome": "failed", "exit_code": 1}
    with pytest.raises(PortalError) as refused:
        agent.client(portal.url).post(f"jobs/{job.pk}/result", {**late, "output": "", "reboot_required": False})
    assert refused.value.status == 409
    assert job_snapshot(job) == before

    agent.once()
    run_tick()
    run_tick(timezone.now() + dt.timedelta(hours=1))  # later sweeps have nothing to retry
    job = Job.objects.get(pk=job.pk)
    assert job.state == JobState.VERIFIED and job.attempt == 2
    assert event_states(job).count(JobState.CLAIMED) == 2
    assert event_states(job).count(JobState.SUCCEEDED) == 1
    assert agent.packages()["openssl"] == FIXED
    assert Deployment.objects.get(pk=deployment.pk).state == Deployment.State.COMPLETED


# --- 4. A duplicate result changes nothing -------------------------------------------------------------


def test_the_same_result_posted_again_changes_nothing(portal):
    (agent,) = portal.agents("web")
    (device,) = portal.enroll(agent)
    portal.deploy(portal.approved_patch(device), devices=[device])
    run_tick()
    job = wait_state(job_of(device), JobState.QUEUED)
    agent.once()
    job = Job.objects.get(pk=job.pk)
    assert job.state == JobState.SUCCEEDED and job.result_key, agent.log()

    # The agent's post again, with its saved key (as after a crash before the answer came).
    body = {
        "lease_id": str(job.lease_id),
        "result_key": job.result_key,
        "outcome": "succeeded",
        "exit_code": job.exit_code,
        "output": job.output,
        "reboot_required": job.reboot_required,
    }
    client = agent.client(portal.url)
    before = job_snapshot(job)
    for _ in range(2):
        answer = client.post(f"jobs/{job.pk}/result", body)
        assert answer["state"] == JobState.SUCCEEDED and answer["attempt"] == 1
        assert job_snapshot(job) == before
    # The same key with another outcome is still the same result: nothing changes.
    client.post(f"jobs/{job.pk}/result", {**body, "outcome": "failed", "exit_code": 1})
    assert job_snapshot(job) == before
    # Another key for the same lease is a second, conflicting result: refused.
    with pytest.raises(PortalError) as refused:
        client.post(f"jobs/{job.pk}/result", {**body, "result_key": "another-result-key"})
    assert refused.value.status == 409
    assert job_snapshot(job) == before

    agent.once()  # verified by the inventory; the duplicate after that changes nothing either
    job = Job.objects.get(pk=job.pk)
    assert job.state == JobState.VERIFIED
    before = job_snapshot(job)
    assert client.post(f"jobs/{job.pk}/result", body)["state"] == JobState.VERIFIED
    assert job_snapshot(job) == before
    assert event_states(job) == ["pending", "queued", "claimed", "running", "succeeded", "verified"]
    assert HealthReport.objects.filter(job=job).count() == 1


# --- 5. An offline device catches up -------------------------------------------------------------------


@pytest.mark.parametrize("catch_up", [Deployment.CatchUp.NEXT_WINDOW, Deployment.CatchUp.ON_RETURN])
def test_a_device_offline_in_its_window_catches_up(portal, catch_up):
    """The broad ring was scheduled into yesterday's window, when its devices were offline.

    `next_window`: the missed job moves to today's window and runs there. `on_return`: the
    released job keeps no end and runs when the device is back, with no window open today.
    """
    agents = portal.agents("broad-1", "broad-2")
    devices = portal.enroll(*agents)
    patch = portal.approved_patch(devices[0])
    # An empty pilot: its stage passes at once, so a tick schedules the broad ring at its clock.
    portal.rings([], gate_devices=0, gate_percent=0)
    real_now = timezone.now()
    yesterday = real_now - dt.timedelta(days=1)
    zone = ZoneInfo(str(portal.tenant.time_zone))
    # Three hours from 90 minutes ago, in the tenant's zone: yesterday's occurrence holds
    # `yesterday`, today's holds now (next_window) or there is none today (on_return).
    opens = (real_now.astimezone(zone) - dt.timedelta(minutes=90)).replace(second=0, microsecond=0)
    days = list(range(7)) if catch_up == Deployment.CatchUp.NEXT_WINDOW else [(opens - dt.timedelta(days=1)).weekday()]
    MaintenanceWindow.objects.create(
        tenant=portal.tenant, name="Nightly", weekdays=days, start_time=opens.time(), duration_minutes=180
    )
    deployment = portal.deploy(patch, catch_up=catch_up)

    run_tick(yesterday)  # the empty pilot passes; the broad ring goes into yesterday's window
    assert stages(deployment) == {"Pilot": "passed", "Broad": "scheduled"}
    jobs = [job_of(d) for d in devices]
    missed_end = jobs[0].not_after
    assert missed_end is not None and yesterday < missed_end < real_now
    run_tick(yesterday + dt.timedelta(minutes=1))  # released; nobody was there to take it
    assert states(jobs) == [JobState.QUEUED] * 2

    done = run_tick()  # today
    jobs = [Job.objects.get(pk=j.pk) for j in jobs]
    moved = [e.message for e in JobEvent.objects.filter(job=jobs[0]) if e.message.startswith("Its window ended")]
    if catch_up == Deployment.CatchUp.NEXT_WINDOW:
        assert len(moved) == 1 and done["release_due"] == 2, done
        assert all(j.state == JobState.QUEUED and j.not_after > timezone.now() for j in jobs)
        assert jobs[0].not_after < real_now + dt.timedelta(hours=2)  # the end of today's window
    else:
        assert not moved and done["release_due"] == 0, done
        assert all(j.state == JobState.QUEUED and j.not_after is None for j in jobs)

    run_all(agents)  # the devices are back
    run_all(agents)
    jobs = [Job.objects.get(pk=j.pk) for j in jobs]
    assert [(j.state, j.attempt) for j in jobs] == [(JobState.VERIFIED, 1)] * 2, "\n".join(a.log() for a in agents)
    assert all(j.claimed_at > missed_end for j in jobs)
    assert all(a.packages()["openssl"] == FIXED for a in agents)
    run_tick()
    assert Deployment.objects.get(pk=deployment.pk).state == Deployment.State.COMPLETED


# --- 6. A failed health check after the install queues a rollback ------------------------------------


def test_an_unhealthy_device_after_install_halts_and_is_rolled_back(portal):
    (sick_agent,) = portal.agents("sick", healthy=False)
    (well_agent,) = portal.agents("well")
    sick, well = portal.enroll(sick_agent, well_agent)
    deployment = portal.deploy(portal.approved_patch(sick), devices=[sick, well])
    run_tick()
    install = wait_state(job_of(sick), JobState.QUEUED)
    run_all([sick_agent, well_agent])  # both install; the sick one reports unhealthy after it
    assert states([install, job_of(well)]) == [JobState.SUCCEEDED] * 2
    report = HealthReport.objects.get(job=install)
    assert report.healthy is False and {"name": "simulated", "ok": False} in [
        {k: c[k] for k in ("name", "ok")} for c in report.checks
    ]

    done = run_tick()
    assert done["watch"] == {"passed": 1, "failed": 1, "rollbacks": 1}, done
    deployment.refresh_from_db()
    assert deployment.state == Deployment.State.HALTED and str(sick) in deployment.halted_reason
    kinds = set(Alert.objects.filter(tenant=portal.tenant).values_list("kind", flat=True))
    assert kinds == {AlertKind.HEALTH_FAILED, AlertKind.DEPLOYMENT_HALTED}
    rollback = Job.objects.get(kind=JobKind.ROLLBACK)
    assert rollback.device_id == sick.pk and rollback.rollback_of_id == install.pk
    assert rollback.deployment_id is None and rollback.state == JobState.QUEUED
    assert rollback.payload["packages"] == [{"name": "openssl", "manager": "apt", "version": INSTALLED, "from": FIXED}]
    assert not Job.objects.filter(device=well, kind=JobKind.ROLLBACK).exists()

    sick_agent.once()  # uploads the new inventory (install verified), then runs the rollback
    assert Job.objects.get(pk=install.pk).state == JobState.VERIFIED
    assert Job.objects.get(pk=rollback.pk).state == JobState.SUCCEEDED, sick_agent.log()
    assert sick_agent.packages()["openssl"] == INSTALLED
    sick_agent.once()  # the inventory shows the old version again
    rollback = Job.objects.get(pk=rollback.pk)
    assert rollback.state == JobState.VERIFIED and rollback.attempt == 1
    assert installed_version(sick) == INSTALLED
    # The rollback is not watched itself and does not queue another one.
    run_tick()
    assert Job.objects.filter(kind=JobKind.ROLLBACK).count() == 1
    assert Deployment.objects.get(pk=deployment.pk).state == Deployment.State.HALTED
