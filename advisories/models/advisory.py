from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

__all__ = ["Advisory", "AffectedPackage", "Severity"]


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    NONE = "none", "None"
    UNKNOWN = "", "Unknown"


class Advisory(models.Model):
    """A vendor advisory in OSV's shape, whatever feed it came from.

    OSV records are stored as they are; Red Hat CSAF, the Debian security tracker and other
    sources are converted to the same shape (affected packages with ranges), so one matcher
    serves them all. The original record is kept in `raw` for the detail page.
    """

    advisory_id = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, help_text="Feed kind that produced it.")
    source = models.ForeignKey(
        "advisories.FeedSource", null=True, blank=True, on_delete=models.SET_NULL, related_name="advisories"
    )
    summary = models.CharField(max_length=500, blank=True)
    details = models.TextField(blank=True)
    aliases = ArrayField(models.CharField(max_length=120), default=list, blank=True)
    cves = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    cvss_vector = models.CharField(max_length=200, blank=True)
    cvss_score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    published = models.DateTimeField(null=True, blank=True)
    modified = models.DateTimeField(null=True, blank=True)
    withdrawn = models.DateTimeField(null=True, blank=True)
    references = models.JSONField(default=list, blank=True)
    # GIT ranges name commits, not package versions: stored and shown, never matched.
    has_git_ranges = models.BooleanField(default=False)
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the record as ingested.")
    raw = models.JSONField(default=dict, blank=True)
    ingested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-published", "advisory_id"]
        indexes = [GinIndex(fields=["cves"], name="advisory_cves"), models.Index(fields=["kind"], name="advisory_kind")]
        verbose_name_plural = "advisories"

    def __str__(self) -> str:
        return self.advisory_id


class AffectedPackage(models.Model):
    """One `affected` entry: a package in an ecosystem and the version ranges that are vulnerable.

    `ranges` keeps OSV's ranges as they are ({"type", "events": [{"introduced"|"fixed"|
    "last_affected"|"limit": version}], "repo"}); `versions` lists explicitly affected versions.
    """

    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="affected")
    ecosystem = models.CharField(max_length=120, help_text='OSV ecosystem, e.g. "Debian:12".')
    name = models.CharField(max_length=255, help_text="Package name (the source package for Debian/Ubuntu).")
    purl = models.CharField(max_length=500, blank=True)
    ranges = models.JSONField(default=list, blank=True)
    versions = ArrayField(models.CharField(max_length=255), default=list, blank=True)
    # The fix, for display and reports: the `fixed` events of the matchable ranges.
    fixed_versions = ArrayField(models.CharField(max_length=255), default=list, blank=True)
    severity = models.CharField(
        max_length=10,
        choices=Severity.choices,
        blank=True,
        help_text="Per-package severity where the feed gives one (e.g. Debian urgency).",
    )

    class Meta:
        indexes = [models.Index(fields=["ecosystem", "name"], name="affected_eco_name")]

    def __str__(self) -> str:
        return f"{self.advisory_id}: {self.ecosystem}/{self.name}"
