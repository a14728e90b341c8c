from __future__ import annotations

from django.db import models

from tenants.models import TenantOwnedModel

__all__ = ["ComplianceSnapshot"]


class ComplianceSnapshot(TenantOwnedModel):
    """A day's state of a tenant (device empty) or of one device: the history reports need.

    Open findings by severity and KEV, how many are past their SLA, and how many were fixed
    that day within or after their SLA.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(
        "devices.Device", null=True, blank=True, on_delete=models.CASCADE, related_name="snapshots"
    )
    day = models.DateField()
    devices = models.PositiveIntegerField(default=0)
    devices_compliant = models.PositiveIntegerField(default=0, help_text="No open critical or KEV finding.")
    open_critical = models.PositiveIntegerField(default=0)
    open_high = models.PositiveIntegerField(default=0)
    open_medium = models.PositiveIntegerField(default=0)
    open_low = models.PositiveIntegerField(default=0)
    open_unknown = models.PositiveIntegerField(default=0)
    open_kev = models.PositiveIntegerField(default=0)
    overdue = models.PositiveIntegerField(default=0, help_text="Open past the SLA for their severity.")
    fixed_within_sla = models.PositiveIntegerField(default=0)
    fixed_late = models.PositiveIntegerField(default=0)

    audited = False

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "device", "day"], nulls_distinct=False, name="snapshot_identity"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.device_id or '*'} {self.day}"

    @property
    def open_total(self) -> int:
        return self.open_critical + self.open_high + self.open_medium + self.open_low + self.open_unknown
