"""The Celery worker is killed with SIGKILL in the middle of a rollout, while agents claim jobs.

The worker hangs inside the minute tick, releasing the broad ring's next job (the test holds
that job's row), while the agents go on claiming, installing and reporting through the web
server. Then the worker dies without a word and a new one starts. Its transaction never
committed, the tick it held comes back from the broker, and the next ticks release what is
left: every device gets one job, claimed once and finished once, and the matching the
agents' inventories asked for while the worker was gone still happens.
"""

from __future__ import annotations

import pytest

from tests.deployments.e2e_helpers import FIXED
from tests.faults.services import wait_until
from tests.faults.stack import VERIFIED_BADGE

pytestmark = [pytest.mark.worker, pytest.mark.slow]

# The states one job's log goes through when it ran once, start to end.
ONCE = ["pending", "queued", "claimed", "running", "succeeded", "verified"]


def test_a_worker_killed_mid_rollout_loses_nothing_and_runs_nothing_twice(make_stack):
    stack = make_stack()
    agents, patch = stack.fleet("pilot", "broad-1", "broad-2", "broad-3", "broad-4")
    pilot, *broad = agents
    stack.driver("rings", pilot=[pilot.machine_id])
    deployment = stack.driver("deploy", patch=patch, max_concurrent=2)
    wait_until(lambda: len(stack.jobs(deployment)) == 1, timeout=60, what="the worker to dispatch the pilot")

    stack.tick()  # releases the pilot's job
    stack.run_agents([pilot])  # claims, installs, reports
    stack.run_agents([pilot])  # its new inventory verifies the install
    assert stack.tick()["advance_all"] == {"passed": 1}  # the pilot's gate passes; the broad ring is scheduled
    assert stack.tick()["release_due"] == 2  # two at once (max_concurrent)
    job_of = {job["device_id"]: job for job in stack.jobs(deployment)}
    state_of = {agent: job_of[stack.device_id(agent)]["state"] for agent in broad}
    (first, second), held = (
        [a for a in broad if state_of[a] == "queued"],
        [a for a in broad if state_of[a] == "pending"],
    )
    assert len(held) == 2

    # Hold the rows of the jobs still to release: the worker's next release waits on them.
    blocker = stack.connect(autocommit=False)
    try:
        blocker.execute(
            "SELECT id FROM deployments_job WHERE id = ANY(%s) FOR UPDATE",
            [[job_of[stack.device_id(a)]["id"] for a in held]],
        )
        stack.run_agents([first])  # done: room for one more job
        stack.celery.send_task("deployments.tasks.tick")  # as beat sends it
        wait_until(lambda: stack.waiting_on_locks() > 0, timeout=60, what="the worker to be releasing a job")
        # While the worker hangs: the second agent claims and installs, the first one's inventory verifies.
        stack.run_agents([second, first])
        assert stack.queued_messages() > 0  # the matching of the new inventories waits for a worker

        stack.worker.kill()
    finally:
        blocker.rollback()
        blocker.close()
    # Nothing the killed worker did was committed: no job was released by it.
    assert [
        stack.value("SELECT state FROM deployments_job WHERE device_id = %s", [stack.device_id(a)]) for a in held
    ] == [
        "pending",
        "pending",
    ]

    stack.worker.start()
    # The next ticks (the first may find the dead session's lock still held) release the rest.
    wait_until(
        lambda: (
            stack.tick()["release_due"] is not None and all(job["state"] != "pending" for job in stack.jobs(deployment))
        ),
        timeout=90,
        what="the new worker to release the held jobs",
    )
    stack.run_agents([second, *held])  # the second one's inventory verifies; the others claim and install
    stack.run_agents(held)
    wait_until(
        lambda: stack.tick() and stack.deployment_state(deployment) == "completed",
        timeout=90,
        what="the deployment to complete",
    )

    # One job per device, each claimed once and finished once.
    jobs = stack.jobs(deployment)
    assert sorted(job["device_id"] for job in jobs) == sorted(stack.device_id(a) for a in agents)
    assert {(job["state"], job["attempt"]) for job in jobs} == {("verified", 1)}, stack.logs()
    for job in jobs:
        assert stack.story(job["id"]) == ONCE, stack.log_of(job["id"])
    assert all(agent.packages()["openssl"] == FIXED for agent in agents)
    # The matching queued while the worker was dead was not lost: every finding is closed.
    wait_until(lambda: stack.open_findings(agents) == 0, timeout=60, what="the findings to close")

    page = stack.page(f"deployments/{deployment}/")
    assert 'data-state="completed"' in page and "100%" in page
    assert page.count(VERIFIED_BADGE) == len(agents)
