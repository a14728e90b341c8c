"""PostgreSQL goes down in the middle of a deployment and comes back.

While it is down the portal answers its agents with a server error (they keep their results
and try again later) and /healthz says the database is failing. Once it is back, the web
server and the worker use new connections, not the dead ones they pooled: the next
check-ins, results and ticks work at once, and the deployment ends with each job run once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.faults.services import wait_until
from tests.faults.stack import VERIFIED_BADGE

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def healthy(stack) -> bool:
    try:
        return requests.get(stack.web.url + "/healthz", timeout=60).json()["checks"]["database"] == "ok"
    except (requests.RequestException, ValueError):
        return False


def test_a_postgres_restart_mid_deployment_is_survived_and_nothing_is_doubled(make_stack):
    stack = make_stack()
    agents, patch = stack.fleet("pg-1", "pg-2", "pg-3")
    first, *others = agents
    deployment = stack.driver("deploy", patch=patch, machines=[a.machine_id for a in agents])
    wait_until(lambda: len(stack.jobs(deployment)) == 3, timeout=60, what="the worker to dispatch")
    assert stack.tick()["release_due"] == 3
    stack.run_agents([first])  # one job done before the outage
    assert requests.get(stack.web.url + "/healthz", timeout=30).status_code == 200

    stack.postgres.stop()
    # While it is down: /healthz says the database is failing, and an agent's check-in gets a
    # server error (both wait for the connection pool's timeout first, so both at once).
    with ThreadPoolExecutor(max_workers=1) as pool:
        health = pool.submit(requests.get, stack.web.url + "/healthz", timeout=60)
        down = others[0].start("once")
        output, _ = down.communicate(timeout=120)
        health = health.result()
    assert health.status_code == 503 and health.json()["checks"]["database"].startswith("error"), health.text
    assert down.returncode != 0 and "server busy or failing (5" in output, output  # it tries again next cycle
    stack.postgres.start()
    # The web server's pool reconnects on its own (after its back-off): /healthz says so.
    wait_until(lambda: healthy(stack), timeout=120, what="the web server to reconnect")

    # Then every request and the first tick work: no dead pooled connection is handed out.
    stack.run_agents(others)  # claim and install
    assert all(step != "error" for step in stack.tick().values()), stack.logs()
    stack.run_agents(agents)  # the inventories verify
    wait_until(lambda: stack.tick() and stack.deployment_state(deployment) == "completed", timeout=60, what="the end")

    jobs = stack.jobs(deployment)
    assert {(job["state"], job["attempt"]) for job in jobs} == {("verified", 1)}, stack.logs()
    for job in jobs:
        assert stack.story(job["id"]) == ["pending", "queued", "claimed", "running", "succeeded", "verified"]
    # The matching the new inventories asked for ran on the reconnected worker.
    wait_until(lambda: stack.open_findings(agents) == 0, timeout=60, what="the findings to close")
    page = stack.page(f"deployments/{deployment}/")
    assert 'data-state="completed"' in page and page.count(VERIFIED_BADGE) == 3
