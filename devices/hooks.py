"""Hooks through which later apps add to the device page (devices never imports them).

Each entry of DEVICE_SECTIONS is a dict registered from an AppConfig.ready():
    {"label": "Findings", "key": "findings", "template": "app/_section.html",
     "context": callable(request, device) -> dict, "capability": "device.view" (optional)}
The device page shows it as one more section tab, `?section=<key>`.

Each entry of CHECKIN_JOBS is a callable(agent_device) -> list[dict] that the agent check-in
calls to fill its "jobs" list (agent_device: devices.agent_cache.AgentDevice). It runs on the
hottest path there is: it must answer from Redis unless the device has something due.
"""

from __future__ import annotations

__all__ = ["CHECKIN_JOBS", "DEVICE_SECTIONS", "checkin_jobs", "sections_for"]

DEVICE_SECTIONS: list[dict] = []
CHECKIN_JOBS: list = []


def sections_for(access, tenant_id: int) -> list[dict]:
    return [s for s in DEVICE_SECTIONS if access.can(tenant_id, s.get("capability", "device.view"))]


def checkin_jobs(agent_device) -> list[dict]:
    jobs: list[dict] = []
    for hook in CHECKIN_JOBS:
        jobs.extend(hook(agent_device))
    return jobs
