from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

from tenants.models import TenantOwnedModel, TenantQuerySet

__all__ = ["EvaluatedPackage", "Finding", "FindingKind", "FindingState", "PackageMatch"]


class PackageMatch(models.Model):
    """A distinct installed package version that an advisory's affected entry covers.

    Computed once per (package version, affected entry), not per device: ten thousand devices
    share a few tens of thousands of versions. Findings are this table joined to the devices
    that have the version installed. `esm_only` marks matches through Ubuntu Pro's ESM
    ecosystem, which count only on devices with Pro enabled.
    """

    package = models.ForeignKey("devices.SoftwarePackage", on_delete=models.CASCADE, related_name="matches")
    affected = models.ForeignKey("advisories.AffectedPackage", on_delete=models.CASCADE, related_name="matches")
    advisory = models.ForeignKey("advisories.Advisory", on_delete=models.CASCADE, related_name="package_matches")
    fixed_version = models.CharField(max_length=255, blank=True)
    esm_only = models.BooleanField(default=False)
    # The patch that installs fixed_version (patches.catalogue); findings copy it.
    patch = models.ForeignKey(
        "patches.Patch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["package", "affected"], name="package_match_unique")]
        indexes = [models.Index(fields=["advisory"], name="package_match_advisory")]

    def __str__(self) -> str:
        return f"{self.package_id} x {self.affected_id}"


class EvaluatedPackage(models.Model):
    """A package version that has been evaluated against every advisory (see matching.packages)."""

    package = models.OneToOneField(
        "devices.SoftwarePackage", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    evaluated_at = models.DateTimeField()

    def __str__(self) -> str:
        return str(self.package_id)


class FindingKind(models.TextChoices):
    PACKAGE = "package", "Package"
    WINDOWS = "windows", "Windows update"


class FindingState(models.TextChoices):
    OPEN = "open", "Open"
    FIXED = "fixed", "Fixed"
    SUPPRESSED = "suppressed", "Not affected (VEX)"
    ACCEPTED = "accepted", "Risk accepted"


class FindingQuerySet(TenantQuerySet):
    def naming_cve(self, cve_id: str):
        """Findings about a CVE, through the indexes: the advisory's CVEs, or a Windows KB's own."""
        return self.filter(
            models.Q(advisory__cves__contains=[cve_id]) | models.Q(kind=FindingKind.WINDOWS, cves__contains=[cve_id])
        )


class Finding(TenantOwnedModel):
    """A vulnerability on a device: an advisory's package version installed there, or a
    missing Windows update. Materialised rows, kept current incrementally by patches.matching.

    One row per (device, advisory or KB, package): when the device is patched the row turns
    `fixed` (with the time), and if the version comes back it is reopened.
    """

    # Findings are derived rows, inserted by the million by patches.matching: no single-column
    # indexes where a composite one below leads with the column, and no database FK checks
    # (four per row at commit). Integrity comes from how they are computed; Django still
    # cascades deletes of devices, advisories and packages to them.
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    device = models.ForeignKey(
        "devices.Device", on_delete=models.CASCADE, related_name="findings", db_index=False, db_constraint=False
    )
    kind = models.CharField(max_length=10, choices=FindingKind.choices, default=FindingKind.PACKAGE)
    advisory = models.ForeignKey(
        "advisories.Advisory",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="findings",
        db_index=False,
        db_constraint=False,
    )
    package = models.ForeignKey(
        "devices.SoftwarePackage",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="findings",
        db_index=False,
        db_constraint=False,
    )
    update = models.ForeignKey(
        "devices.Update",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="findings",
        db_index=False,
        db_constraint=False,
    )
    # The patch that fixes it (none when no fixed version is known).
    patch = models.ForeignKey(
        "patches.Patch",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="findings",
        db_index=False,
        db_constraint=False,
    )
    # Denormalised for lists, sorting and exports without joins.
    reference = models.CharField(max_length=120, help_text="Advisory id, or the KB for Windows.")
    package_name = models.CharField(max_length=255, blank=True)
    source_package = models.CharField(max_length=255, blank=True)
    installed_version = models.CharField(max_length=255, blank=True)
    fixed_version = models.CharField(max_length=255, blank=True)
    cves = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    severity = models.CharField(max_length=10, blank=True)
    kev = models.BooleanField(default=False)
    kev_due = models.DateField(null=True, blank=True)
    ransomware = models.BooleanField(default=False)
    epss = models.FloatField(null=True, blank=True)
    cvss = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    score = models.FloatField(default=0)
    label = models.CharField(max_length=10, blank=True, help_text="SSVC-style: track, track*, attend, act.")
    state = models.CharField(max_length=12, choices=FindingState.choices, default=FindingState.OPEN)
    first_seen_at = models.DateTimeField(default=timezone.now)
    fixed_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(default=timezone.now)

    objects = FindingQuerySet.as_manager()

    # Findings change by the million in set-based SQL; the audit log records decisions about
    # them (approvals, exceptions), not each materialisation.
    audited = False

    class Meta:
        constraints = [
            # Advisory first: a new advisory's findings land side by side in this index, and
            # the advisory page reads its findings from the same index.
            models.UniqueConstraint(
                fields=["advisory", "device", "package", "update"],
                nulls_distinct=False,
                name="finding_identity",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "state", "-score"], name="finding_tenant_state_score"),
            models.Index(fields=["device", "state"], name="finding_device_state"),
            # CVE pages find package findings through their advisory's CVEs (indexed there);
            # Windows findings carry their KB's CVEs themselves, indexed for them only.
            GinIndex(fields=["cves"], name="finding_windows_cves", condition=models.Q(kind="windows")),
        ]

    def __str__(self) -> str:
        return f"{self.reference} on {self.device_id}"
