"""An agent disappears in the middle of its job: killed after it claimed and started the install.

Nobody reports on the job any more, so its lease runs out; the minute tick's sweep puts it
back in the queue (attempt 1 of 3 is over) with a back-off. When the machine comes back,
its agent claims the job again, once, and finishes it. The job's log tells the story.
"""

from __future__ import annotations

import pytest

from tests.deployments.e2e_helpers import FIXED
from tests.faults.services import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_a_job_whose_agent_vanished_is_retried_once_when_the_machine_returns(make_stack):
    # Short leases and back-off, so that real time can run them out (production: 600 s and 300 s).
    stack = make_stack(JOB_LEASE_SECONDS="6", JOB_RETRY_BACKOFF_SECONDS="1")
    agents, patch = stack.fleet("vanishing", "steady")
    vanishing, steady = agents
    deployment = stack.driver("deploy", patch=patch, machines=[a.machine_id for a in agents])
    wait_until(lambda: len(stack.jobs(deployment)) == 2, timeout=60, what="the worker to dispatch")
    assert stack.tick()["release_due"] == 2
    job = stack.value("SELECT id FROM deployments_job WHERE device_id = %s", [stack.device_id(vanishing)])

    hanging = stack.start_hanging(vanishing)  # claims the job and starts installing, for ever
    wait_until(lambda: stack.job(job)["state"] == "running", timeout=60, what="the agent to start the job")
    hanging.kill()  # the machine is gone: no result, no progress, no goodbye
    hanging.wait()
    stack.run_agents([steady])  # the other machine's job goes on as usual
    stack.run_agents([steady])

    # The lease runs out; the sweep retries the job rather than leaving it running for ever.
    wait_until(
        lambda: stack.tick()["sweep_leases"] == {"requeued": 1, "timed_out": 0},
        timeout=60,
        what="the sweep to requeue the abandoned job",
    )
    left = stack.job(job)
    assert (left["state"], left["attempt"], left["lease_expires_at"]) == ("queued", 1, None)
    assert "The lease of attempt 1 expired without a result; retrying from" in stack.events(job)[-1]["message"]

    # The machine returns after the back-off: its agent takes the job again and completes it.
    wait_until(lambda: stack.run_agents([vanishing]) or stack.job(job)["attempt"] == 2, timeout=60, what="a new claim")
    stack.run_agents([vanishing])
    wait_until(lambda: stack.tick() and stack.deployment_state(deployment) == "completed", timeout=60, what="the end")

    done = stack.job(job)
    assert (done["state"], done["attempt"]) == ("verified", 2), stack.log_of(job)
    assert stack.story(job) == [
        "pending",
        "queued",
        "claimed",
        "running",
        "queued",  # the lease expired
        "claimed",
        "running",
        "succeeded",
        "verified",
    ], stack.log_of(job)
    assert [e["state"] for e in stack.events(job)].count("succeeded") == 1
    assert vanishing.packages()["openssl"] == FIXED
    # Nothing more happens to it: later check-ins claim nothing, later sweeps retry nothing.
    stack.run_agents([vanishing])
    assert stack.tick()["sweep_leases"] == {"requeued": 0, "timed_out": 0}
    assert stack.job(job)["attempt"] == 2

    # The job's page says what happened, in order.
    page = stack.page(f"deployments/{deployment}/jobs/{job}/")
    for line in ("Claimed (attempt 1 of 3).", "expired without a result", "Claimed (attempt 2 of 3).", "success"):
        assert line in page, line
    assert page.index("expired without a result") < page.index("Claimed (attempt 2 of 3).")
