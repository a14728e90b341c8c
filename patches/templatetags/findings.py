"""Display helpers for findings: label classes, ages, and the score explained in plain words."""

from __future__ import annotations

from django import template
from django.utils import timezone

from patches import risk

register = template.Library()


@register.filter
def label_class(label: str) -> str:
    """The badge class of an SSVC-style label ("track*" is styled like "track")."""
    return (label or "").rstrip("*")


@register.filter
def days_since(moment) -> int | str:
    if moment is None:
        return ""
    return max(0, (timezone.now() - moment).days)


@register.inclusion_tag("patches/_score_help.html")
def score_help() -> dict:
    """How the score and label are worked out; the numbers that patches.risk names come from it
    (tests/patches/test_pages.py checks the others against risk.score)."""
    return {
        "kev_points": f"{risk.KEV_POINTS:g}",
        "severity_cvss": risk.SEVERITY_DEFAULT_CVSS,
        "criticality": risk.CRITICALITY_FACTOR,
        "epss_poc": f"{risk.EPSS_POC:g}",
    }
