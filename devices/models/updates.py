from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from tenants.models import Tenant

__all__ = ["DeviceUpdate", "Update", "UpdateKind"]


class UpdateKind(models.TextChoices):
    APT = "apt", "apt"
    DNF = "dnf", "dnf"
    WINDOWS = "windows", "Windows Update"
    WINGET = "winget", "winget"


class Update(models.Model):
    """An installable update as agents report it, stored once for every device offered it.

    Identity by kind: Windows Update by update id and revision; apt and dnf by ecosystem,
    package name and the offered version; winget by package id and the offered version.
    """

    kind = models.CharField(max_length=10, choices=UpdateKind.choices)
    ecosystem = models.CharField(max_length=80, blank=True)
    identifier = models.CharField(max_length=255, help_text="Update GUID, package name or winget id.")
    version = models.CharField(max_length=255, help_text="Revision or offered version.")
    kb = models.CharField(max_length=20, blank=True, db_index=True)
    title = models.CharField(max_length=500, blank=True)
    classification = models.CharField(max_length=100, blank=True)
    severity = models.CharField(max_length=20, blank=True)
    reboot = models.CharField(max_length=10, blank=True)
    supersedes = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    released = models.DateField(null=True, blank=True)
    security = models.BooleanField(default=False)
    origin = models.CharField(max_length=255, blank=True, help_text="apt origin, dnf repo or winget source.")
    first_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "ecosystem", "identifier", "version"], name="update_identity"),
        ]

    def __str__(self) -> str:
        if self.kind == UpdateKind.WINDOWS:
            return self.title or self.kb or self.identifier
        return f"{self.identifier} {self.version}"


class DeviceUpdate(models.Model):
    """An update a device is offered, or (Windows) has installed."""

    pk = models.CompositePrimaryKey("device_id", "update_id", "arch")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="updates", db_index=False)
    update = models.ForeignKey(Update, on_delete=models.PROTECT, related_name="devices")
    arch = models.CharField(max_length=20, blank=True, default="")
    installed = models.BooleanField(default=False)
    current_version = models.CharField(max_length=255, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.update} on {self.device_id}"
