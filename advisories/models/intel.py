"""What the world knows about a CVE beyond who fixed it: NVD's CVSS, CISA KEV, FIRST EPSS."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

__all__ = ["Cve", "EpssScore", "KevEntry"]


class Cve(models.Model):
    cve_id = models.CharField(max_length=30, primary_key=True)
    description = models.TextField(blank=True)
    published = models.DateTimeField(null=True, blank=True)
    last_modified = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=40, blank=True, help_text="NVD vulnStatus.")
    cvss3_vector = models.CharField(max_length=200, blank=True)
    cvss3_score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    cvss3_severity = models.CharField(max_length=10, blank=True)
    cvss4_vector = models.CharField(max_length=300, blank=True)
    cvss4_score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    cvss4_severity = models.CharField(max_length=10, blank=True)
    cwes = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-published"]
        verbose_name = "CVE"

    def __str__(self) -> str:
        return self.cve_id

    @property
    def cvss_score(self):
        """The score to rank by: CVSS v3.1 where NVD has one, else v4.0."""
        return self.cvss3_score if self.cvss3_score is not None else self.cvss4_score


class KevEntry(models.Model):
    """A CVE in CISA's Known Exploited Vulnerabilities catalog."""

    cve_id = models.CharField(max_length=30, unique=True)
    vendor = models.CharField(max_length=200, blank=True)
    product = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=500, blank=True)
    date_added = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    ransomware = models.CharField(max_length=20, blank=True, help_text='"Known" or "Unknown", as CISA says.')
    description = models.TextField(blank=True)
    required_action = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    cwes = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-date_added"]
        verbose_name = "KEV entry"
        verbose_name_plural = "KEV entries"

    def __str__(self) -> str:
        return self.cve_id

    @property
    def ransomware_known(self) -> bool:
        return self.ransomware.lower() == "known"


class EpssScore(models.Model):
    """The latest FIRST EPSS score of a CVE: the probability of exploitation in the next 30 days."""

    cve_id = models.CharField(max_length=30, unique=True)
    score = models.FloatField()
    percentile = models.FloatField()
    scored_on = models.DateField()
    model_version = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name = "EPSS score"

    def __str__(self) -> str:
        return f"{self.cve_id} {self.score:.5f}"
