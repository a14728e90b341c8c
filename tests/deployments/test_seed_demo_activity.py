"""The live demo as `make run` seeds it, with a smaller fleet: what it shows, and seeded once.

The same commands in the same order (scripts/run.sh): the MSP and its three clients, rings and
windows, the bundled advisories, simulated machines of every OS over HTTP, then the day at
work. A real worker matches the uploads and dispatches the deployments.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from deployments.models import Deployment, DeploymentStage, Job, JobEvent
from deployments.tasks import tick
from devices.models import Device
from devices.simulator import fleet
from patches.models import Approval, ApprovalState, Finding
from patches.queue import approval_queue
from reports.models import Report, ReportKind, ReportState
from tenants.models import Tenant
from tests.fixtures.worker_process import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MIX = "debian12,ubuntu2204,rhel9,windows11"
SLUGS = ("northwind", "contoso", "fabrikam")


@pytest.fixture(autouse=True)
def _clean_redis():
    from portal.redis import client

    client().flushdb()


def seed(server: str, devices: int = 4) -> None:
    """The demo's seeding steps, as scripts/run.sh takes them."""
    call_command("seed_demo", "--json")
    call_command("seed_demo_rollout")
    call_command("setup_feeds", "--disabled")
    call_command("load_demo_advisories")
    for slug in SLUGS:
        call_command("simulate_fleet", tenant=slug, devices=devices, mix=MIX, packages=150, server=server, quiet=True)
    call_command("seed_demo_activity")


def snapshot() -> dict:
    return {
        "devices": Device.objects.count(),
        "approvals": sorted(Approval.objects.values_list("tenant__slug", "patch_id", "state")),
        "deployments": Deployment.objects.count(),
        "stages": DeploymentStage.objects.count(),
        "reports": Report.objects.count(),
    }


def test_the_demo_shows_every_os_approvals_a_rollout_and_reports_and_seeds_once(live_server, celery_worker):
    seed(live_server.url)
    first = snapshot()

    # Every OS family of the demo, in every client.
    for slug in SLUGS:
        devices = Device.objects.filter(tenant__slug=slug)
        assert Counter(d.ecosystem.split(":")[0] for d in devices) == {
            "Debian": 1,
            "Ubuntu": 1,
            "Red Hat": 1,
            "Windows": 1,
        }, slug
    # The RHEL machines miss fixes of the bundled Red Hat CSAF advisories, and so do the others.
    rhel = Finding.objects.filter(state="open", device__ecosystem="Red Hat:9")
    assert set(rhel.values_list("advisory__advisory_id", flat=True)) >= {"RHSA-2024:0811"}
    assert rhel.values("device").distinct().count() >= 2
    for ecosystem in ("Ubuntu:22.04:LTS", "Debian:12"):
        assert Finding.objects.filter(state="open", device__ecosystem=ecosystem).exists(), ecosystem
    assert Finding.objects.filter(state="open", device__os_family="windows").exists()

    # Approvals: decided by the technician, some waiting for the client, the rest of the queue waiting.
    contoso = Tenant.objects.get(slug="contoso")
    assert Approval.objects.filter(tenant=contoso, needs_client=True, state=ApprovalState.PENDING).exists()
    for tenant in Tenant.objects.filter(slug__in=SLUGS):
        assert approval_queue([tenant], timezone.now(), statuses=("undecided",)), tenant

    # A run-now deployment through the rings for Northwind and Fabrikam, dispatched by the worker.
    deployments = Deployment.objects.filter(name="Security updates (demo)")
    assert sorted(deployments.values_list("tenant__slug", flat=True)) == ["fabrikam", "northwind"]
    for deployment in deployments:
        assert list(deployment.stages.order_by("position").values_list("name", flat=True)) == [
            "Pilot",
            "Early",
            "Broad",
        ]
    wait_until(
        lambda: all(d.stages.get(position=0).state != "waiting" for d in deployments),
        timeout=30,
        what="the worker to dispatch the demo deployments",
    )

    # Reports in every client's archive: this month's, and each deployment's.
    for slug in SLUGS:
        reports = Report.objects.filter(tenant__slug=slug, state=ReportState.READY)
        kinds = set(reports.values_list("kind", flat=True))
        expected = {ReportKind.MONTHLY, ReportKind.DEPLOYMENT} if slug != "contoso" else {ReportKind.MONTHLY}
        assert kinds == expected, slug

    # `make run` again: nothing fails, nothing doubles.
    seed(live_server.url)
    assert snapshot() == first


def test_the_followed_fleet_installs_the_demo_deployment_and_its_pilot_passes(live_server, celery_worker):
    seed(live_server.url, devices=8)  # enough that the Pilot and Early rings fill as in the demo
    fabrikam = Deployment.objects.get(tenant__slug="fabrikam", name="Security updates (demo)")
    # The same machines enroll again (as `simulate_fleet --follow` does on each `make run`) and stay on.
    devices = fleet.build_devices("sim-fabrikam", 8, MIX.split(","), "full", 150)
    token = _token("fabrikam")
    for device in devices:
        fleet.enroll(live_server.url, token, device)
    assert Device.objects.filter(tenant__slug="fabrikam").count() == 8
    stop = threading.Event()
    reports = []
    follower = threading.Thread(
        target=lambda: reports.append(fleet.follow(live_server.url, devices, stop, interval=0.5))
    )
    follower.start()
    try:
        wait_until(
            lambda: _ticked(fabrikam) and fabrikam.stages.get(position=0).state == "passed",
            timeout=180,
            interval=1,
            what="the followed fleet to install the Pilot ring's jobs and the ring to pass",
        )
    except AssertionError as error:
        stop.set()
        follower.join(timeout=60)
        jobs = list(Job.objects.filter(deployment=fabrikam).values_list("device__hostname", "stage__name", "state"))
        stages = list(fabrikam.stages.values_list("name", "state", "devices_total"))
        errors = reports[0].errors[:5] if reports else "the fleet did not stop"
        events = list(
            JobEvent.objects.filter(job__deployment=fabrikam)
            .exclude(job__state="verified")
            .values_list("job__device__hostname", "state", "message")
        )
        errors = f"{errors} {events}"
        raise AssertionError(f"{error}: {fabrikam.state} {fabrikam.halted_reason} {stages} {jobs} {errors}") from None
    finally:
        stop.set()
        follower.join(timeout=60)
    pilot = Job.objects.filter(deployment=fabrikam, stage__position=0)
    assert pilot.count() == 2 and set(pilot.values_list("state", flat=True)) == {"verified"}


def _token(slug: str) -> str:
    from datetime import timedelta

    from devices.models import EnrollmentToken

    tenant = Tenant.objects.get(slug=slug)
    _, raw = EnrollmentToken.issue(tenant, "test", max_uses=10, expires_at=timezone.now() + timedelta(hours=1))
    return raw


def _ticked(deployment) -> str:
    tick.apply_async(ignore_result=False).get(timeout=60)
    deployment.refresh_from_db()
    return deployment.state
