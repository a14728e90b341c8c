"""Health reports the agent sends after an update (and on request)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tenants.models import TenantOwnedModel

__all__ = ["HealthReport"]


class HealthReport(TenantOwnedModel):
    """The agent's checks: its own heartbeat, named services running, a signed check script."""

    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="health_reports")
    job = models.ForeignKey("deployments.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(default=timezone.now)
    healthy = models.BooleanField()
    checks = models.JSONField(default=list, help_text='[{"name": ..., "ok": ..., "detail": ...}]')

    audited = False

    class Meta:
        ordering = ["device_id", "-received_at"]
        indexes = [models.Index(fields=["device", "-received_at"], name="health_device_recent")]
