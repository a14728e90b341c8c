"""Reading findings the way every list shows them: riskiest first, with a summary."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone

from advisories.models import KevEntry
from patches.explain import explain
from patches.models import FindingState

__all__ = ["explained", "kev_cves", "ranked", "summary"]


def ranked(findings):
    return findings.order_by("-score", "id")


def summary(findings) -> dict:
    """Counts over open findings, in one query: what the summary strip shows."""
    return findings.filter(state=FindingState.OPEN).aggregate(
        open=Count("id"),
        kev=Count("id", filter=Q(kev=True)),
        critical=Count("id", filter=Q(severity="critical")),
        high=Count("id", filter=Q(severity="high")),
        medium=Count("id", filter=Q(severity="medium")),
        low=Count("id", filter=Q(severity="low")),
        act=Count("id", filter=Q(label="act")),
    )


def kev_cves(rows) -> set[str]:
    """Which of the CVEs named on a page are in CISA KEV (one query for the page)."""
    cves = {cve for row in rows for cve in row.cves}
    if not cves:
        return set()
    return set(KevEntry.objects.filter(cve_id__in=cves).values_list("cve_id", flat=True))


def explained(rows, now=None) -> list:
    """A page of findings, each with its score's factors (no queries when device is joined)."""
    now = now or timezone.now()
    rows = list(rows)
    for finding in rows:
        finding.explained = explain(finding, now)
    return rows
