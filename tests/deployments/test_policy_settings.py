"""The deployment settings of a device's patch policy: health check, catch-up, rollback."""

from __future__ import annotations

import datetime as dt

import pytest

from deployments.agent_api.views import job_for_agent
from deployments.dispatch import release_due
from deployments.jobs import claim
from deployments.models import Alert, AlertKind, Deployment, Job, JobKind, JobState
from deployments.watch import watch
from patches import scripts
from patches.models import PatchPolicy, Scope
from tests.deployments.planning_helpers import approved_patch, fleet
from tests.deployments.test_dispatch import NEXT_TUESDAY, TUESDAY, TUESDAY_END, deploy, window  # noqa: F401
from tests.deployments.test_watch import DONE, installed, report  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def device_policy(device, **settings):
    return PatchPolicy.objects.create(scope=Scope.DEVICE, tenant_id=device.tenant_id, device=device, settings=settings)


def test_the_payload_carries_the_policys_health_check_and_catch_up(world, window):  # noqa: F811
    check = scripts.create_script(name="Check web", body="curl -fs localhost\n", user=world.msp_admin)
    PatchPolicy.objects.create(
        scope=Scope.TENANT,
        tenant=world.tenant_a,
        settings={"health_services": ["nginx", "postgresql"], "health_check_script": check.pk},
    )
    patch = approved_patch(world)
    plain, returning = fleet(world.tenant_a, 2, patch)
    device_policy(returning, catch_up="on_return", health_services=[])
    deployment = deploy(world, [plain, returning], patch)

    payloads = {j.device_id: j.payload for j in Job.objects.filter(deployment=deployment)}
    assert payloads[plain.pk]["health_services"] == ["nginx", "postgresql"]
    assert payloads[plain.pk]["health_script"] == check.pk
    assert payloads[plain.pk]["catch_up"] == "next_window"
    assert (payloads[returning.pk]["health_services"], payloads[returning.pk]["catch_up"]) == ([], "on_return")

    # What the agent receives: the services, and the check script signed with the job.
    release_due(TUESDAY)
    (job,) = claim(plain, now=TUESDAY)
    sent = job_for_agent(job, TUESDAY)
    assert sent["payload"]["health_services"] == ["nginx", "postgresql"]
    health = sent["scripts"]["health"]["payload"]
    assert (health["name"], health["job"], health["body"]) == ("Check web", str(job.pk), "curl -fs localhost\n")


def test_a_deployment_on_return_makes_every_job_on_return(world, window):  # noqa: F811
    patch = approved_patch(world)
    devices = fleet(world.tenant_a, 2, patch)
    deployment = deploy(world, devices, patch, catch_up=Deployment.CatchUp.ON_RETURN)
    assert {j.payload["catch_up"] for j in Job.objects.filter(deployment=deployment)} == {"on_return"}


def test_on_return_by_policy_frees_only_that_devices_job_from_the_window(world, window):  # noqa: F811
    patch = approved_patch(world)
    plain, returning = fleet(world.tenant_a, 2, patch)
    device_policy(returning, catch_up="on_return")
    deploy(world, [plain, returning], patch)

    assert release_due(TUESDAY) == 2
    assert Job.objects.get(device=returning).not_after is None
    assert Job.objects.get(device=plain).not_after == TUESDAY_END

    release_due(TUESDAY_END + dt.timedelta(hours=1))  # neither device came during the window
    late = Job.objects.get(device=plain)
    assert (late.state, late.not_before) == (JobState.PENDING, NEXT_TUESDAY)
    waiting = Job.objects.get(device=returning)
    assert (waiting.state, waiting.not_after) == (JobState.QUEUED, None)
    thursday = TUESDAY + dt.timedelta(days=2)
    assert [j.pk for j in claim(returning, now=thursday)] == [waiting.pk]
    assert claim(plain, now=thursday) == []


def test_no_rollback_where_the_policy_says_so_but_the_alert_and_halt_stay(world, installed):  # noqa: F811
    deployment, devices, jobs = installed
    # The tenant does not roll back; the second device's own policy does.
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"rollback_on_failure": False})
    device_policy(devices[1], rollback_on_failure=True)
    for device in devices:
        report(device, DONE + dt.timedelta(minutes=3), False)

    assert watch(DONE + dt.timedelta(minutes=4)) == {"passed": 0, "failed": 2, "rollbacks": 1}

    (rollback,) = Job.objects.filter(kind=JobKind.ROLLBACK)
    assert (rollback.device_id, rollback.rollback_of_id) == (devices[1].pk, jobs[1].pk)
    assert Alert.objects.filter(kind=AlertKind.HEALTH_FAILED).count() == 2
    assert Alert.objects.filter(kind=AlertKind.DEPLOYMENT_HALTED).count() == 1
    deployment.refresh_from_db()
    assert deployment.state == Deployment.State.HALTED
    assert jobs[0].events.filter(message="No automatic rollback: the device's policy does not allow it.").exists()
