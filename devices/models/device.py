from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Case, DurationField, ExpressionWrapper, F, Q, Value, When
from django.utils import timezone

from tenants.models import Site, TenantOwnedModel, TenantQuerySet

__all__ = ["Criticality", "Device", "DeviceState", "OsFamily"]


class OsFamily(models.TextChoices):
    LINUX = "linux", "Linux"
    WINDOWS = "windows", "Windows"
    MACOS = "macos", "macOS"


class Criticality(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class DeviceState(models.TextChoices):
    ONLINE = "online", "Online"
    OFFLINE = "offline", "Offline"
    STALE = "stale", "Stale"
    NEVER = "never", "Never seen"


# A device is online while it keeps its check-in rhythm (with room for one missed check-in
# and jitter), offline after that, and stale once it has been silent for days.
ONLINE_INTERVALS = 2.5


def stale_after() -> timedelta:
    return timedelta(days=getattr(settings, "DEVICE_STALE_AFTER_DAYS", 7))


class DeviceQuerySet(TenantQuerySet):
    def with_state(self, now=None):
        now = now or timezone.now()
        online_window = ExpressionWrapper(
            F("checkin_interval") * Value(timedelta(seconds=ONLINE_INTERVALS)), output_field=DurationField()
        )
        return self.annotate(
            state=Case(
                When(last_seen_at__isnull=True, then=Value(DeviceState.NEVER)),
                When(last_seen_at__gte=Value(now) - online_window, then=Value(DeviceState.ONLINE)),
                When(last_seen_at__gte=now - stale_after(), then=Value(DeviceState.OFFLINE)),
                default=Value(DeviceState.STALE),
                output_field=models.CharField(),
            )
        )

    def in_state(self, state: str, now=None):
        return self.with_state(now).filter(state=state)

    def active(self):
        return self.filter(retired_at__isnull=True)


class Device(TenantOwnedModel):
    """A managed computer of a client, as its agent reports it."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="devices")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices")
    hostname = models.CharField(max_length=255)
    fqdn = models.CharField(max_length=255, blank=True)
    machine_id = models.CharField(max_length=128, blank=True)
    # Operating system as the agent reports it (os-release fields on Linux).
    os_family = models.CharField(max_length=10, choices=OsFamily.choices)
    os_id = models.CharField(max_length=40, blank=True, help_text="os-release ID, e.g. debian, ubuntu, rhel.")
    os_name = models.CharField(max_length=120, blank=True)
    os_version = models.CharField(max_length=60, blank=True)
    os_codename = models.CharField(max_length=60, blank=True)
    os_build = models.CharField(max_length=60, blank=True)
    kernel = models.CharField(max_length=120, blank=True)
    arch = models.CharField(max_length=20, blank=True)
    ubuntu_pro = models.BooleanField(default=False)
    # OSV ecosystem the device's packages belong to: "Debian:12", "Ubuntu:22.04:LTS", "Red Hat:9",
    # "Alpine:v3.20", or "Windows:10.0.22631" (see devices.ecosystem).
    ecosystem = models.CharField(max_length=80, blank=True, db_index=True)
    agent_version = models.CharField(max_length=40, blank=True)
    criticality = models.CharField(max_length=10, choices=Criticality.choices, default=Criticality.NORMAL)
    tags = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    notes = models.TextField(blank=True)
    is_simulated = models.BooleanField(default=False, help_text="Created by simulate_fleet, not a real machine.")

    enrolled_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_ip = models.GenericIPAddressField(null=True, blank=True)
    checkin_interval = models.PositiveIntegerField(default=300, help_text="Seconds between check-ins.")
    reboot_required = models.BooleanField(default=False)
    uptime_seconds = models.BigIntegerField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    token_hash = models.CharField(max_length=64, unique=True)
    token_created_at = models.DateTimeField(default=timezone.now)

    inventory_format = models.CharField(max_length=10, blank=True)
    inventory_hash = models.CharField(max_length=64, blank=True)
    inventory_updated_at = models.DateTimeField(null=True, blank=True)
    package_count = models.PositiveIntegerField(default=0)
    updates_hash = models.CharField(max_length=64, blank=True)
    updates_updated_at = models.DateTimeField(null=True, blank=True)

    audit_exclude = (
        "token_hash",
        "last_seen_at",
        "last_ip",
        "uptime_seconds",
        "inventory_hash",
        "inventory_updated_at",
        "updates_hash",
        "updates_updated_at",
        "package_count",
        "reboot_required",
        "agent_version",
    )

    objects = DeviceQuerySet.as_manager()

    class Meta:
        ordering = ["tenant_id", "hostname"]
        indexes = [
            models.Index(fields=["tenant", "hostname"], name="device_tenant_hostname"),
            models.Index(fields=["tenant", "last_seen_at"], name="device_tenant_seen"),
            models.Index(fields=["tenant", "machine_id"], name="device_tenant_machine"),
            GinIndex(fields=["tags"], name="device_tags"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "machine_id"],
                condition=~Q(machine_id="") & Q(retired_at__isnull=True),
                name="device_machine_unique_per_tenant",
            )
        ]

    def __str__(self) -> str:
        return self.hostname

    @classmethod
    def from_db(cls, db, field_names, values):
        device = super().from_db(db, field_names, values)
        device._saved_criticality = device.__dict__.get("criticality")
        return device

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # Risk scores weigh criticality: matching rescores the device's findings when it changes.
        previous = getattr(self, "_saved_criticality", None)
        if previous is not None and previous != self.criticality:
            from devices.signals import criticality_changed

            criticality_changed.send(Device, device=self)
        self._saved_criticality = self.criticality

    def state(self, now=None) -> str:
        if self.last_seen_at is None:
            return DeviceState.NEVER
        age = (now or timezone.now()) - self.last_seen_at
        if age <= timedelta(seconds=self.checkin_interval * ONLINE_INTERVALS):
            return DeviceState.ONLINE
        return DeviceState.OFFLINE if age <= stale_after() else DeviceState.STALE

    @property
    def ecosystems(self) -> list[str]:
        """Every OSV ecosystem whose advisories apply (Ubuntu Pro devices also get ESM's)."""
        from devices.ecosystem import ecosystems_for

        return ecosystems_for(self.ecosystem, self.ubuntu_pro)

    @property
    def os_display(self) -> str:
        return " ".join(part for part in (self.os_name, self.os_version) if part) or self.os_family
