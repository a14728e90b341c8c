"""Accepted risks: a finding, a device or an advisory, owned by someone, until a date."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.models import TenantOwnedModel

__all__ = ["RiskException"]


class RiskException(TenantOwnedModel):
    """While active, the findings it covers are `accepted`: shown, reported, not counted as open.

    It covers one finding, every finding of one device, or every finding of one advisory in
    the tenant. It ends at the end of `expires_on` in the tenant's time zone, or when revoked.
    """

    class Covers(models.TextChoices):
        FINDING = "finding", "One finding"
        DEVICE = "device", "A device"
        ADVISORY = "advisory", "An advisory"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="risk_exceptions")
    covers = models.CharField(max_length=10, choices=Covers.choices)
    finding = models.ForeignKey(
        "patches.Finding", null=True, blank=True, on_delete=models.CASCADE, related_name="exceptions"
    )
    device = models.ForeignKey("devices.Device", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    advisory = models.ForeignKey(
        "advisories.Advisory", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    expires_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["expires_on", "id"]
        constraints = [
            models.CheckConstraint(
                name="exception_covers_its_target",
                condition=Q(covers="finding", finding__isnull=False, device__isnull=True, advisory__isnull=True)
                | Q(covers="device", finding__isnull=True, device__isnull=False, advisory__isnull=True)
                | Q(covers="advisory", finding__isnull=True, device__isnull=True, advisory__isnull=False),
            ),
            models.CheckConstraint(name="exception_has_reason", condition=~Q(reason="")),
        ]
        indexes = [models.Index(fields=["tenant", "expires_on"], name="exception_tenant_expiry")]

    def __str__(self) -> str:
        target = {"finding": self.finding, "device": self.device, "advisory": self.advisory}[self.covers]
        return f"Accepted risk: {target}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
