"""Explaining a finding's and a device's risk with the factors behind the score."""

from __future__ import annotations

from django.db.models import Count, Max, Q
from django.utils import timezone

from patches import risk
from patches.models import Finding, FindingState

__all__ = ["device_risk", "explain"]


def factors_of(finding: Finding) -> risk.Factors:
    return risk.Factors(
        kev=finding.kev,
        kev_due=finding.kev_due,
        ransomware=finding.ransomware,
        epss=finding.epss,
        cvss=float(finding.cvss) if finding.cvss is not None else None,
        severity=finding.severity,
        criticality=finding.device.criticality,
        first_seen=finding.first_seen_at,
    )


def explain(finding: Finding, now=None) -> dict:
    """The score, recomputed now, with its parts and the SSVC-style label."""
    factors = factors_of(finding)
    score, parts = risk.score(factors, now or timezone.now())
    return {"score": score, "parts": parts, "label": risk.label(factors)}


def device_risk(device) -> dict:
    """A device's risk: its worst open finding, with the counts that explain it."""
    open_findings = Finding.objects.filter(device=device, state=FindingState.OPEN)
    summary = open_findings.aggregate(
        score=Max("score"),
        total=Count("id"),
        kev=Count("id", filter=Q(kev=True)),
        critical=Count("id", filter=Q(severity="critical")),
        high=Count("id", filter=Q(severity="high")),
        act=Count("id", filter=Q(label="act")),
    )
    summary["score"] = summary["score"] or 0.0
    return summary
