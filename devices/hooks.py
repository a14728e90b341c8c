"""Hooks through which later apps add to the device page (devices never imports them).

Each entry of DEVICE_SECTIONS is a dict registered from an AppConfig.ready():
    {"label": "Findings", "key": "findings", "template": "app/_section.html",
     "context": callable(request, device) -> dict, "capability": "device.view" (optional)}
The device page shows it as one more section tab, `?section=<key>`.
"""

from __future__ import annotations

__all__ = ["DEVICE_SECTIONS", "sections_for"]

DEVICE_SECTIONS: list[dict] = []


def sections_for(access, tenant_id: int) -> list[dict]:
    return [s for s in DEVICE_SECTIONS if access.can(tenant_id, s.get("capability", "device.view"))]
