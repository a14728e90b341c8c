"""A Celery worker killed with SIGKILL in the middle of dispatching a deployment.

The dispatch is one transaction: the kill leaves nothing half-written, the minute tick
(and the message the broker gives back) schedule the stage again on a new worker, and
every device ends up with exactly one job, claimed once.
"""

from __future__ import annotations

import datetime as dt
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from deployments.jobs import claim
from deployments.models import Deployment, DeploymentStage, Job, JobEvent, JobState
from deployments.planning import create_deployment
from deployments.tasks import tick
from tests.deployments.planning_helpers import approved_patch, fleet, rings
from tests.fixtures.worker_process import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DEVICES = 40


def _owner_connection():
    owner = settings.MIGRATION_DATABASE
    return psycopg.connect(
        host=owner["HOST"],
        port=owner["PORT"],
        user=owner["USER"],
        password=owner["PASSWORD"],
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
    )


def _worker_waiting_on_lock(blocker) -> bool:
    with blocker.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE relation = 'deployments_job'::regclass AND NOT granted")
        return cursor.fetchone()[0] > 0


@pytest.fixture
def blocker():
    """The schema owner's connection, holding the jobs table while the test says so."""
    conn = _owner_connection()
    yield conn
    conn.close()  # a failed test must not leave the table locked for the teardown


def test_no_job_is_lost_or_doubled_when_the_worker_dies_mid_dispatch(world, worker_process, blocker):
    tenant = world.tenant_a
    patch = approved_patch(world, tenant, name="openssl", title="openssl 3.0.16-1~deb12u1")
    devices = fleet(tenant, DEVICES, patch)
    rings(tenant, pilot_devices=devices[:4], soak_hours=1)

    # Hold the jobs table so the worker's dispatch stops half-way through its transaction.
    blocker.execute("BEGIN")
    blocker.execute("LOCK TABLE deployments_job IN EXCLUSIVE MODE")
    worker_process.start()
    deployment = create_deployment(tenant, name="Pilot then broad", patches=[patch], now=timezone.now()).deployment
    wait_until(lambda: _worker_waiting_on_lock(blocker), timeout=60, what="the worker to be dispatching")

    worker_process.kill()
    blocker.execute("ROLLBACK")
    # The killed worker's transaction never committed: no job, the stage still waiting.
    assert Job.objects.filter(deployment=deployment).count() == 0
    assert DeploymentStage.objects.get(deployment=deployment, position=0).state == DeploymentStage.State.WAITING

    worker_process.start()
    tick.delay()
    wait_until(lambda: Job.objects.filter(deployment=deployment).count() == 4, timeout=90, what="the pilot's jobs")
    # The message the killed worker held comes back after the visibility timeout; running the
    # dispatch again, and more ticks, change nothing.
    time.sleep(8)
    tick.delay()
    time.sleep(3)
    jobs = list(Job.objects.filter(deployment=deployment))
    assert sorted(j.device_id for j in jobs) == sorted(d.pk for d in devices[:4])
    assert Deployment.objects.get(pk=deployment.pk).state in (Deployment.State.SCHEDULED, Deployment.State.RUNNING)

    # Every job is handed to its agent once.
    later = timezone.now() + dt.timedelta(hours=2)
    tick(now=later.isoformat())
    claimed = [job for device in devices[:4] for job in claim(device, now=later)]
    assert sorted(j.pk for j in claimed) == sorted(j.pk for j in jobs)
    assert all(j.attempt == 1 for j in claimed)
    assert not [job for device in devices[:4] for job in claim(device, now=later)]
    queued_events = JobEvent.objects.filter(job__deployment=deployment, state=JobState.QUEUED).count()
    assert queued_events == 4
