from __future__ import annotations

from django.db import models

from tenants.models import Tenant

__all__ = ["DeviceSoftware", "SoftwarePackage"]


class SoftwarePackage(models.Model):
    """One distinct installed package version, stored once for the whole MSP.

    Ten thousand devices share tens of thousands of distinct versions, so advisories are
    matched against these rows and the result joined to devices through DeviceSoftware.
    For Debian and Ubuntu the source package and its version are kept, because advisories
    name source packages and a binary may differ from its source (binNMU `+bN` versions,
    own epoch or name); for rpm systems the source RPM.
    """

    ecosystem = models.CharField(max_length=80)
    name = models.CharField(max_length=255)
    version = models.CharField(max_length=255)
    source_name = models.CharField(max_length=255, blank=True)
    source_version = models.CharField(max_length=255, blank=True)
    publisher = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ecosystem", "name", "version"], name="package_identity"),
        ]
        indexes = [models.Index(fields=["ecosystem", "source_name"], name="package_source")]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def match_name(self) -> str:
        return self.source_name or self.name

    @property
    def match_version(self) -> str:
        return self.source_version or self.version


class DeviceSoftware(models.Model):
    """A package installed on a device (one row per architecture for multi-arch installs)."""

    # Fifteen million rows for a large MSP: two indexes only. The primary key leads with the
    # device; the package index serves matching. No index on the tenant (filters go by device).
    pk = models.CompositePrimaryKey("device_id", "package_id", "arch")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="software", db_index=False)
    package = models.ForeignKey(SoftwarePackage, on_delete=models.PROTECT, related_name="installs", db_index=False)
    arch = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        # Matching reads "who has this version": answered from the index alone.
        indexes = [models.Index(fields=["package"], include=["device", "tenant"], name="install_package")]

    def __str__(self) -> str:
        return f"{self.package} on {self.device_id}"
