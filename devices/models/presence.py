from __future__ import annotations

from django.db import models

from tenants.models import TenantOwnedModel

__all__ = ["DeviceCheckIn"]


class DeviceCheckIn(TenantOwnedModel):
    """Check-in history in hourly buckets: when a device was seen, and how often.

    Agents check in every few minutes; keeping each heartbeat would cost millions of rows
    a day, so the presence flush folds them into one row per device and hour.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="checkins")
    hour = models.DateTimeField()
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    agent_version = models.CharField(max_length=40, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    audited = False

    class Meta:
        ordering = ["-hour"]
        constraints = [models.UniqueConstraint(fields=["device", "hour"], name="checkin_device_hour")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.hour:%Y-%m-%d %H}:00 x{self.count}"
