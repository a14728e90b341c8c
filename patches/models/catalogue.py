"""The patch catalogue: installable units, what they fix, and what supersedes what."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

__all__ = ["Classification", "Patch", "PatchAdvisory", "PatchKind", "PatchUpdate", "Reboot"]


class PatchKind(models.TextChoices):
    PACKAGE = "package", "Linux package"
    WINDOWS = "windows", "Windows update"
    APPLICATION = "application", "Application"


class Classification(models.TextChoices):
    SECURITY = "security", "Security"
    CRITICAL = "critical", "Critical"
    UPDATE_ROLLUP = "update_rollup", "Update rollup"
    FEATURE = "feature", "Feature"
    DRIVER = "driver", "Driver"
    DEFINITION = "definition", "Definition"
    UPDATE = "update", "Update"


class Reboot(models.TextChoices):
    NEVER = "never", "Never"
    MAY = "may", "May be required"
    REQUIRED = "required", "Required"
    UNKNOWN = "", "Unknown"


class Patch(models.Model):
    """An installable unit: a Windows KB, a Linux package at a fixed version, an application version.

    Linux patches are keyed by source package and the version that fixes an advisory (apt
    upgrades every binary of the source to it); Windows patches by KB; applications by
    winget id and version. Built from advisories and from what agents are offered
    (patches.catalogue), never edited by hand.
    """

    kind = models.CharField(max_length=12, choices=PatchKind.choices)
    ecosystem = models.CharField(max_length=80, help_text='"Debian:12", "Windows" or "winget".')
    name = models.CharField(max_length=255, help_text="Source package, KB or winget id.")
    version = models.CharField(max_length=255, blank=True, help_text="The version that fixes; empty for a KB.")
    title = models.CharField(max_length=500, blank=True)
    product = models.CharField(max_length=255, blank=True)
    classification = models.CharField(max_length=16, choices=Classification.choices, default=Classification.UPDATE)
    severity = models.CharField(max_length=10, blank=True)
    released_on = models.DateField(null=True, blank=True)
    reboot = models.CharField(max_length=10, choices=Reboot.choices, blank=True, default=Reboot.UNKNOWN)
    cves = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    kev = models.BooleanField(default=False, help_text="Fixes a CVE in CISA's KEV catalog.")
    # What the vendor says this replaces (KB numbers for Windows), and the newest known patch
    # that replaces this one: a superseded patch is never missing and its approvals close.
    supersedes = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes_patches"
    )
    advisories = models.ManyToManyField("advisories.Advisory", through="PatchAdvisory", related_name="patches")
    updates = models.ManyToManyField("devices.Update", through="PatchUpdate", related_name="patches")
    first_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "ecosystem", "name", "version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "ecosystem", "name", "version"], name="patch_identity"),
        ]

    def __str__(self) -> str:
        return self.title or self.name_and_version

    @property
    def name_and_version(self) -> str:
        return f"{self.name} {self.version}".strip()

    @property
    def has_own_title(self) -> bool:
        """A title that says more than the name and version (lists then show both)."""
        return bool(self.title) and self.title != self.name_and_version

    @property
    def is_superseded(self) -> bool:
        return self.superseded_by_id is not None


class PatchAdvisory(models.Model):
    patch = models.ForeignKey(Patch, on_delete=models.CASCADE, related_name="+")
    advisory = models.ForeignKey("advisories.Advisory", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patch", "advisory"], name="patch_advisory_unique")]

    def __str__(self) -> str:
        return f"{self.patch_id} fixes {self.advisory_id}"


class PatchUpdate(models.Model):
    """An offered update (a WUA revision, a winget version) that installs this patch."""

    patch = models.ForeignKey(Patch, on_delete=models.CASCADE, related_name="+")
    update = models.OneToOneField("devices.Update", on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"{self.update_id} installs {self.patch_id}"
