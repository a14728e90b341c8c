"""An explainable risk score per finding, and an SSVC-style label.

Points, in the order an MSP triages (CISA KEV first, then likelihood, then impact):

* KEV listed: +130; its due date adds urgency: overdue +20, due within 7 days +15, within 30
  days +10, later +5; known ransomware use +5. Not scaled by anything, so every
  known-exploited finding (at least 135) ranks above every other (at most 126).
* EPSS (probability of exploitation in 30 days): +40 x EPSS.
* CVSS base score (or a default for the severity when no CVSS is known): +4 x CVSS.
* Age: up to +10, growing over the first 90 days the finding is open.
* Device criticality scales those last three: low 0.8, normal 1.0, high 1.2, critical 1.4.

The same formula exists as a PostgreSQL function (migration 0002) so millions of findings
are scored in one statement; tests/patches/test_risk.py checks the two agree.

Label (after CISA's SSVC deployer tree, with EPSS standing in for proof-of-concept
evidence and device criticality for mission prevalence):
exploitation active (KEV) -> act if total impact (CVSS ≥ 9) or an essential device
(high/critical), else attend; proof of concept (EPSS ≥ 0.1) -> attend if both, track* if
either, else track; none -> track* if both, else track.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["SEVERITY_DEFAULT_CVSS", "Factors", "label", "score"]

SEVERITY_DEFAULT_CVSS = {"critical": 9.0, "high": 7.5, "medium": 5.0, "low": 2.5, "none": 0.0}
UNKNOWN_CVSS = 5.0
CRITICALITY_FACTOR = {"low": 0.8, "normal": 1.0, "high": 1.2, "critical": 1.4}
EPSS_POC = 0.1
KEV_POINTS = 130.0


@dataclass
class Factors:
    kev: bool = False
    kev_due: dt.date | None = None
    ransomware: bool = False
    epss: float | None = None
    cvss: float | None = None
    severity: str = ""
    criticality: str = "normal"
    first_seen: dt.datetime | None = None


def round_like_postgres(value: float) -> float:
    """round(value::numeric, 1) as PostgreSQL does it: 15 significant digits, half away from zero."""
    return float(Decimal(f"{value:.15g}").quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def effective_cvss(cvss, severity: str) -> float:
    if cvss is not None:
        return float(cvss)
    return SEVERITY_DEFAULT_CVSS.get(severity or "", UNKNOWN_CVSS)


def _kev_urgency(kev_due: dt.date | None, today: dt.date) -> tuple[float, str]:
    if kev_due is None:
        return 5.0, "no due date"
    days = (kev_due - today).days
    if days < 0:
        return 20.0, f"overdue by {-days} days"
    if days <= 7:
        return 15.0, f"due in {days} days"
    if days <= 30:
        return 10.0, f"due in {days} days"
    return 5.0, f"due in {days} days"


def score(f: Factors, now: dt.datetime) -> tuple[float, list[tuple[str, str]]]:
    """The score and the factors that make it up, for display: [(what, "+12.0"), …]."""
    parts: list[tuple[str, str]] = []
    kev_points = 0.0
    if f.kev:
        kev_points += KEV_POINTS
        parts.append(("In CISA KEV", f"+{KEV_POINTS:g}"))
        urgency, why = _kev_urgency(f.kev_due, now.date())
        kev_points += urgency
        parts.append((f"KEV {why}", f"+{urgency:g}"))
        if f.ransomware:
            kev_points += 5
            parts.append(("Known ransomware use", "+5"))
    total = 0.0
    epss = f.epss or 0.0
    total += 40 * epss
    parts.append((f"EPSS {epss:.3f}", f"+{40 * epss:.1f}"))
    cvss = effective_cvss(f.cvss, f.severity)
    total += 4 * cvss
    parts.append(
        (
            f"CVSS {cvss:.1f}" + ("" if f.cvss is not None else f" (assumed for {f.severity or 'unknown'})"),
            f"+{4 * cvss:.1f}",
        )
    )
    if f.first_seen is not None:
        days = max(0.0, min((now - f.first_seen).total_seconds() / 86400, 90.0))
        total += days / 9
        parts.append((f"Open {int(days)} days", f"+{days / 9:.1f}"))
    factor = CRITICALITY_FACTOR.get(f.criticality, 1.0)
    parts.append((f"Device criticality {f.criticality} (scales EPSS, CVSS and age)", f"x{factor:g}"))
    return round_like_postgres(kev_points + total * factor), parts


def label(f: Factors) -> str:
    impact_total = effective_cvss(f.cvss, f.severity) >= 9.0
    essential = f.criticality in ("high", "critical")
    if f.kev:
        return "act" if impact_total or essential else "attend"
    if (f.epss or 0.0) >= EPSS_POC:
        if impact_total and essential:
            return "attend"
        return "track*" if impact_total or essential else "track"
    return "track*" if impact_total and essential else "track"


# The PostgreSQL twin of score() and label(); keep them in step (the tests compare them).
SQL_FUNCTIONS = """
CREATE OR REPLACE FUNCTION patches_effective_cvss(cvss numeric, severity text) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(cvss::float8, CASE severity WHEN 'critical' THEN 9.0 WHEN 'high' THEN 7.5
        WHEN 'medium' THEN 5.0 WHEN 'low' THEN 2.5 WHEN 'none' THEN 0.0 ELSE 5.0 END)
$$;

CREATE OR REPLACE FUNCTION patches_severity(cvss numeric, fallback text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN cvss >= 9 THEN 'critical' WHEN cvss >= 7 THEN 'high' WHEN cvss >= 4 THEN 'medium'
                WHEN cvss > 0 THEN 'low' ELSE coalesce(fallback, '') END
$$;

CREATE OR REPLACE FUNCTION patches_risk_score(
    kev boolean, kev_due date, ransomware boolean, epss float8, cvss numeric, severity text,
    criticality text, first_seen timestamptz, now timestamptz
) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT round((
        CASE WHEN kev THEN 130.0
            + CASE WHEN kev_due IS NULL THEN 5
                   WHEN kev_due < (now AT TIME ZONE 'UTC')::date THEN 20
                   WHEN kev_due - (now AT TIME ZONE 'UTC')::date <= 7 THEN 15
                   WHEN kev_due - (now AT TIME ZONE 'UTC')::date <= 30 THEN 10
                   ELSE 5 END
            + CASE WHEN ransomware THEN 5 ELSE 0 END
        ELSE 0.0 END
        + (40 * coalesce(epss, 0)
           + 4 * patches_effective_cvss(cvss, severity)
           + CASE WHEN first_seen IS NULL THEN 0
                  ELSE greatest(0, least(extract(epoch FROM now - first_seen) / 86400, 90)) / 9 END)
        * CASE criticality WHEN 'low' THEN 0.8 WHEN 'high' THEN 1.2 WHEN 'critical' THEN 1.4 ELSE 1.0 END
    )::numeric, 1)::float8
$$;

CREATE OR REPLACE FUNCTION patches_ssvc_label(
    kev boolean, epss float8, cvss numeric, severity text, criticality text
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN kev THEN CASE WHEN patches_effective_cvss(cvss, severity) >= 9.0
                                OR criticality IN ('high', 'critical') THEN 'act' ELSE 'attend' END
        WHEN coalesce(epss, 0) >= 0.1 THEN CASE
            WHEN patches_effective_cvss(cvss, severity) >= 9.0 AND criticality IN ('high', 'critical') THEN 'attend'
            WHEN patches_effective_cvss(cvss, severity) >= 9.0 OR criticality IN ('high', 'critical') THEN 'track*'
            ELSE 'track' END
        ELSE CASE WHEN patches_effective_cvss(cvss, severity) >= 9.0 AND criticality IN ('high', 'critical')
                  THEN 'track*' ELSE 'track' END
    END
$$;
"""
