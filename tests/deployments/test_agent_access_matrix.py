"""Access table of the agent's job and health routes, for the "every route is covered" check.

These routes authenticate devices, not people: no persona can use them, and
tests/deployments/test_agent_job_api.py covers them (401 without a device token, 404 for
another device's job).
"""

from __future__ import annotations

ROUTES: list = []

NOT_TENANT_SCOPED = {"agent_jobs_claim", "agent_job_progress", "agent_job_result", "agent_health"}


def test_the_exempt_routes_exist():
    from django.urls import reverse

    for name in NOT_TENANT_SCOPED:
        assert reverse(name, kwargs={"pk": 1} if "job_" in name else None).startswith("/api/agent/v1/")
