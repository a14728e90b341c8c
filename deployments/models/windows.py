"""Maintenance windows and blackout periods, in the tenant's time zone."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from tenants.models import TenantOwnedModel

__all__ = ["BlackoutPeriod", "MaintenanceWindow", "WindowPurpose", "WindowRecurrence"]


class WindowPurpose(models.TextChoices):
    INSTALL = "install", "Install"
    REBOOT = "reboot", "Reboot"


class WindowRecurrence(models.TextChoices):
    WEEKLY = "weekly", "Weekly, on chosen days"
    MONTHLY_DAY = "monthly_day", "Monthly, on a day of the month"
    MONTHLY_NTH = "monthly_nth", "Monthly, on the Nth weekday"
    PATCH_TUESDAY = "patch_tuesday", "Relative to Patch Tuesday"


class MaintenanceWindow(TenantOwnedModel):
    """When a tenant's devices may install updates (or reboot), as wall-clock time.

    The start is a local time in the tenant's zone, so a 02:00 window stays at 02:00 across
    DST changes (a start that does not exist that night moves forward, see
    deployments.windows). `rings` limits the window to some rings; empty means all.
    Weekdays count from Monday = 0, as Python's `date.weekday()` does.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="maintenance_windows")
    name = models.CharField(max_length=120)
    purpose = models.CharField(max_length=8, choices=WindowPurpose.choices, default=WindowPurpose.INSTALL)
    recurrence = models.CharField(max_length=14, choices=WindowRecurrence.choices, default=WindowRecurrence.WEEKLY)
    weekdays = ArrayField(models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)]), default=list, blank=True)
    day_of_month = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    nth = models.SmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(-1), MaxValueValidator(5)], help_text="-1: the last."
    )
    nth_weekday = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(6)])
    offset_days = models.SmallIntegerField(default=0, help_text="Days after Patch Tuesday.")
    start_time = models.TimeField()
    duration_minutes = models.PositiveIntegerField(validators=[MinValueValidator(15), MaxValueValidator(7 * 24 * 60)])
    rings = models.ManyToManyField("deployments.Ring", blank=True, related_name="windows")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["tenant_id", "purpose", "name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="window_name_unique")]

    def __str__(self) -> str:
        return self.name


class BlackoutPeriod(TenantOwnedModel):
    """Days (inclusive, in the tenant's zone) when nothing is installed: month-end close, audits."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="blackouts")
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["tenant_id", "starts_on"]
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="blackout_order")]

    def __str__(self) -> str:
        return f"{self.starts_on} to {self.ends_on}: {self.reason}"
