"""CVSS vectors to scores and severities, with the `cvss` library (FIRST's formulas)."""

from __future__ import annotations

from decimal import Decimal

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

__all__ = ["parse_vector", "severity_for_score"]


def severity_for_score(score) -> str:
    """CVSS v3/v4 qualitative rating: critical ≥ 9, high ≥ 7, medium ≥ 4, low > 0, none."""
    if score is None:
        return ""
    score = float(score)
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0:
        return "low"
    return "none"


def parse_vector(vector: str) -> tuple[str, Decimal]:
    """(version, base score) of a CVSS vector; ValueError if the vector is malformed."""
    vector = (vector or "").strip()
    try:
        if vector.startswith("CVSS:4.0/"):
            return "4.0", Decimal(str(CVSS4(vector).base_score))
        if vector.startswith(("CVSS:3.0/", "CVSS:3.1/")):
            return vector[5:8], Decimal(str(CVSS3(vector).base_score))
        if vector.startswith("AV:"):
            return "2.0", Decimal(str(CVSS2(vector).base_score))
    except CVSSError as exc:
        raise ValueError(f"malformed CVSS vector {vector!r}: {exc}") from exc
    raise ValueError(f"unknown CVSS vector format {vector!r}")
