from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

__all__ = ["WindowsKb"]


class WindowsKb(models.Model):
    """A Microsoft update (KB) as the monthly CVRF document describes it.

    Which CVEs it fixes on which products, its highest severity, and which earlier KBs it
    supersedes (CVRF's Remediation/Supercedence); Windows findings take their CVEs from here.
    """

    kb = models.CharField(max_length=20, unique=True, help_text='Digits only, e.g. "5077181".')
    document = models.CharField(max_length=40, help_text='CVRF document, e.g. "2026-Feb".')
    released = models.DateField(null=True, blank=True)
    products = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    cves = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    severity = models.CharField(max_length=20, blank=True, help_text="Highest MSRC severity among its CVEs.")
    supersedes = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    restart_required = models.CharField(max_length=20, blank=True)
    fixed_builds = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    url = models.URLField(max_length=300, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-released", "kb"]
        verbose_name = "Windows KB"

    def __str__(self) -> str:
        return f"KB{self.kb}"
