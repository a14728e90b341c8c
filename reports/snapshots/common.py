"""Helpers the snapshot builders share: JSON-ready values, period bounds, branding, severities."""

from __future__ import annotations

import datetime as dt

from deployments.windows import tenant_zone as zone  # one rule for a tenant's zone, under the name reports use

__all__ = [
    "SEVERITIES",
    "SEVERITY_RANK",
    "branding_data",
    "day_bounds",
    "iso",
    "local_date",
    "severity_of",
    "tenant_data",
]

SEVERITIES = ["critical", "high", "medium", "low", "unknown"]
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


def severity_of(value: str | None) -> str:
    value = (value or "").strip().lower()
    if value == "moderate":
        return "medium"
    return value if value in SEVERITY_RANK else "unknown"


def iso(value) -> str | None:
    """A date or an aware datetime as ISO 8601 text (UTC for datetimes), None stays None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    return value.isoformat()


def local_date(value: dt.datetime | None, tenant) -> str | None:
    """The calendar day of an instant in the tenant's time zone, as ISO text."""
    if value is None:
        return None
    return value.astimezone(zone(tenant)).date().isoformat()


def day_bounds(start: dt.date, end: dt.date, tenant) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00) in the tenant's time zone, as aware datetimes."""
    tz = zone(tenant)
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz),
    )


def tenant_data(tenant) -> dict:
    return {"id": tenant.pk, "name": tenant.name, "slug": tenant.slug, "time_zone": str(tenant.time_zone)}


def branding_data() -> dict:
    """The branding as it is now: stored in each snapshot so a re-render looks the same."""
    from reports.models import Branding

    branding = Branding.load()
    return {
        "name": branding.name,
        "logo": branding.logo.name if branding.logo else "",
        "primary_colour": branding.primary_colour,
        "accent_colour": branding.accent_colour,
        "contact_line": branding.contact_line,
    }
