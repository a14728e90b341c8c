from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone

__all__ = ["FeedKind", "FeedRun", "FeedSource"]


class FeedKind(models.TextChoices):
    OSV = "osv", "OSV"
    KEV = "kev", "CISA KEV"
    EPSS = "epss", "FIRST EPSS"
    NVD = "nvd", "NVD CVE API 2.0"
    MSRC = "msrc", "Microsoft CVRF"
    CSAF = "csaf", "CSAF 2.0 / VEX"
    DEBIAN_TRACKER = "debian-tracker", "Debian security tracker"


class FeedSource(models.Model):
    """Where an advisory feed comes from and how it fared. Beat syncs the enabled ones when due."""

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=FeedKind.choices)
    url = models.CharField(
        max_length=500, help_text="An http(s) URL, or for air-gapped sites a path to a file, folder or zip."
    )
    interval_minutes = models.PositiveIntegerField(default=360, help_text="How often beat syncs it.")
    enabled = models.BooleanField(default=True)
    # HTTP caching: sent back as If-None-Match / If-Modified-Since so an unchanged feed costs a 304.
    etag = models.CharField(max_length=255, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    # Feed-specific resume point, e.g. NVD's lastModified window end.
    cursor = models.JSONField(default=dict, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    record_count = models.PositiveIntegerField(default=0, help_text="Records this source holds.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name

    def is_due(self, now=None) -> bool:
        if not self.enabled:
            return False
        if self.last_attempt_at is None:
            return True
        return (now or timezone.now()) - self.last_attempt_at >= timedelta(minutes=self.interval_minutes)

    @property
    def healthy(self) -> bool:
        return self.last_failure_at is None or (
            self.last_success_at is not None and self.last_success_at >= self.last_failure_at
        )


class FeedRun(models.Model):
    """One sync or manual ingest: what it added, changed, left alone and skipped, and why."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCESS = "success", "Succeeded"
        NOT_MODIFIED = "not_modified", "Not modified"
        PARTIAL = "partial", "Succeeded, some records skipped"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(FeedSource, null=True, blank=True, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=20, choices=FeedKind.choices)
    location = models.CharField(max_length=500, help_text="URL or path that was read.")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # [{"record": "DSA-1234-1", "error": "affected[0].ranges[0].events: …"}], at most a few hundred.
    errors = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, help_text="Why the run failed as a whole.")

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["source", "-started_at"], name="feedrun_source_started")]

    def __str__(self) -> str:
        return f"{self.kind} {self.location} {self.status}"
