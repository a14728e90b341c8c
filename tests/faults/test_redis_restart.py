"""Redis restarts and loses everything: the broker's queue, the check-in's "due" marks, the cache.

Redis runs without persistence (as scripts/setup.sh starts it), so a restart is a loss. The
web server and the worker reconnect by themselves; the minute tick rebuilds what mattered
from PostgreSQL: the deployment whose dispatch message was lost is scheduled, and devices
whose marks were lost are marked again, so their agents find their jobs.
"""

from __future__ import annotations

import pytest

from tests.faults.services import wait_until
from tests.faults.stack import VERIFIED_BADGE

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_a_redis_restart_loses_the_queue_and_the_tick_recovers_from_the_database(make_stack):
    stack = make_stack()
    agents, patch = stack.fleet("redis-1", "redis-2")

    # The worker is busy elsewhere (paused): the new deployment's dispatch waits in Redis.
    stack.pause_worker()
    deployment = stack.driver("deploy", patch=patch, machines=[a.machine_id for a in agents])
    wait_until(
        lambda: "deployments.tasks.dispatch_deployment" in stack.queued_tasks(),
        timeout=30,
        what="the dispatch to wait in the broker",
    )
    stack.redis.restart()
    assert stack.queued_messages() == 0  # lost
    stack.resume_worker()  # its broker connection is dead: it must reconnect
    assert stack.jobs(deployment) == []

    # Beat's next tick (sent here) finds the deployment in the database and schedules it.
    assert stack.tick(timeout=120)["advance_all"] == {"scheduled": 1}, stack.logs()
    assert len(stack.jobs(deployment)) == 2
    assert stack.tick()["release_due"] == 2  # queued, and the devices marked due in Redis

    # Redis goes again, with the marks: the agents check in and hear of no job.
    stack.redis.restart()
    stack.run_agents(agents)
    assert {job["state"] for job in stack.jobs(deployment)} == {"queued"}
    # The tick's sweep marks every device with queued jobs again from the database.
    stack.tick()
    stack.run_agents(agents)  # claim and install
    stack.run_agents(agents)  # the inventories verify
    wait_until(lambda: stack.tick() and stack.deployment_state(deployment) == "completed", timeout=60, what="the end")

    jobs = stack.jobs(deployment)
    assert {(job["state"], job["attempt"]) for job in jobs} == {("verified", 1)}
    for job in jobs:
        assert stack.story(job["id"]) == ["pending", "queued", "claimed", "running", "succeeded", "verified"]
    assert stack.value("SELECT count(*) FROM deployments_deploymentstage WHERE deployment_id = %s", [deployment]) == 1
    page = stack.page(f"deployments/{deployment}/")
    assert 'data-state="completed"' in page and page.count(VERIFIED_BADGE) == 2
