"""The monthly client summary's data.

Compliance now (from the findings as they are) and its trend over the last months (from the
daily tenant snapshots, patches.compliance), patches installed in the period (install jobs
verified by inventory then), mean time to patch by severity (finding first seen → fixed),
SLA attainment against each device's policy SLA days, the outstanding risk with its top
findings, the accepted risks, and the devices not seen recently.

`build(tenant, start, end, now)` reads the database in the caller's scope and returns plain
JSON. The period is a range of days in the tenant's time zone, both ends included.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from django.db.models import Exists, OuterRef, Q

from deployments.models import Job, JobKind, JobState
from devices.models import Device
from devices.models.device import stale_after
from patches.models import ComplianceSnapshot, Finding, FindingState, RiskException
from patches.policy import FIELDS, chains_for_devices, effective
from reports.snapshots.common import (
    SEVERITIES,
    SEVERITY_RANK,
    branding_data,
    day_bounds,
    iso,
    local_date,
    severity_of,
    tenant_data,
    zone,
)

__all__ = ["TREND_DAYS", "build", "month_of"]

TREND_DAYS = 180
TOP_FINDINGS = 10
SLA_SEVERITIES = ["critical", "high", "medium", "low"]


def month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar month containing `day`: its first and last days."""
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _sla_days(tenant) -> tuple[dict[int, dict[str, int]], dict[str, int]]:
    """Each active device's SLA days per severity (its policy chain), and the most common set."""
    per_device, by_chain = {}, {}
    for device_id, chain in chains_for_devices(tenant_ids=[tenant.pk]).items():
        if chain.key not in by_chain:
            eff = effective(chain)
            by_chain[chain.key] = {s: int(eff[f"sla_{s}_days"]) for s in SLA_SEVERITIES}
        per_device[device_id] = by_chain[chain.key]
    common = Counter(tuple(sorted(days.items())) for days in per_device.values()).most_common(1)
    typical = dict(common[0][0]) if common else {s: int(FIELDS[f"sla_{s}_days"].default) for s in SLA_SEVERITIES}
    return per_device, typical


def _deadline(first_seen: dt.datetime, severity: str, kev_due: dt.date | None, days: dict[str, int]) -> dt.datetime:
    """As patches.compliance: first seen + the SLA days for the severity (low for unknown), or
    the end of the KEV due date if earlier."""
    deadline = first_seen + dt.timedelta(days=days.get(severity, days["low"]))
    if kev_due is not None:
        deadline = min(deadline, dt.datetime.combine(kev_due + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC))
    return deadline


def _compliance_now(tenant, devices, sla, typical, now) -> dict:
    risky = Finding.objects.filter(device=OuterRef("pk"), state=FindingState.OPEN).filter(
        Q(severity="critical") | Q(kev=True)
    )
    total = devices.count()
    compliant = devices.exclude(Exists(risky)).count()
    open_rows = Finding.objects.filter(
        tenant=tenant, state=FindingState.OPEN, device__retired_at__isnull=True
    ).values_list("device_id", "severity", "kev", "first_seen_at", "kev_due")
    by_severity = dict.fromkeys(SEVERITIES, 0)
    kev = overdue = 0
    for device_id, severity, is_kev, first_seen, kev_due in open_rows:
        severity = severity_of(severity)
        by_severity[severity] += 1
        kev += bool(is_kev)
        if _deadline(first_seen, severity, kev_due, sla.get(device_id, typical)) < now:
            overdue += 1
    return {
        "devices": total,
        "devices_compliant": compliant,
        "percent": _percent(compliant, total),
        "open_by_severity": by_severity,
        "open_total": sum(by_severity.values()),
        "open_kev": kev,
        "overdue": overdue,
    }


def _trend(tenant, end: dt.date) -> list[dict]:
    rows = ComplianceSnapshot.objects.filter(
        tenant=tenant, device__isnull=True, day__gt=end - dt.timedelta(days=TREND_DAYS), day__lte=end
    ).order_by("day")
    return [
        {
            "day": iso(row.day),
            "percent": _percent(row.devices_compliant, row.devices),
            "devices": row.devices,
            "open_total": row.open_total,
            "open_critical": row.open_critical,
            "open_kev": row.open_kev,
            "overdue": row.overdue,
        }
        for row in rows
    ]


def _months(trend: list[dict]) -> list[dict]:
    """The last snapshot of each month in the trend, newest first."""
    last = {}
    for point in trend:
        last[point["day"][:7]] = point
    return [{"month": month, **point} for month, point in sorted(last.items(), reverse=True)]


def _installed(tenant, since: dt.datetime, until: dt.datetime) -> dict:
    jobs = Job.objects.filter(
        tenant=tenant, kind=JobKind.INSTALL, state=JobState.VERIFIED, verified_at__gte=since, verified_at__lt=until
    ).values_list("device_id", "payload")
    per_update: dict[tuple[str, str], set[int]] = defaultdict(set)
    devices, patches, count = set(), set(), 0
    for device_id, payload in jobs:
        count += 1
        devices.add(device_id)
        payload = payload or {}
        patches.update(payload.get("patches") or [])
        for p in payload.get("packages") or []:
            per_update[(p.get("name", ""), p.get("version", ""))].add(device_id)
        for u in payload.get("windows_updates") or []:
            per_update[(u.get("kb", ""), "")].add(device_id)
        for w in payload.get("winget") or []:
            per_update[(w.get("id", ""), w.get("version", ""))].add(device_id)
    updates = [
        {"name": name, "version": version, "devices": len(ids)}
        for (name, version), ids in sorted(per_update.items(), key=lambda item: (-len(item[1]), item[0]))
    ]
    return {"jobs": count, "devices": len(devices), "patches": len(patches), "updates": updates}


def _fixes(tenant, since, until, sla, typical) -> tuple[list[dict], dict]:
    """Mean time to patch and SLA attainment by severity, over the findings fixed in the period."""
    rows = Finding.objects.filter(
        tenant=tenant, state=FindingState.FIXED, fixed_at__gte=since, fixed_at__lt=until
    ).values_list("device_id", "severity", "first_seen_at", "fixed_at", "kev_due")
    hours: dict[str, list[float]] = defaultdict(list)
    within: dict[str, int] = defaultdict(int)
    for device_id, severity, first_seen, fixed_at, kev_due in rows:
        severity = severity_of(severity)
        hours[severity].append((fixed_at - first_seen).total_seconds() / 3600)
        if fixed_at <= _deadline(first_seen, severity, kev_due, sla.get(device_id, typical)):
            within[severity] += 1
    table = []
    for severity in SEVERITIES:
        fixed = len(hours[severity])
        table.append(
            {
                "severity": severity,
                "fixed": fixed,
                "mean_days": round(sum(hours[severity]) / fixed / 24, 1) if fixed else None,
                "sla_days": typical.get(severity, typical["low"]),
                "within_sla": within[severity],
                "late": fixed - within[severity],
                "attainment": _percent(within[severity], fixed),
            }
        )
    fixed_total = sum(r["fixed"] for r in table)
    within_total = sum(r["within_sla"] for r in table)
    return table, {"fixed": fixed_total, "within_sla": within_total, "attainment": _percent(within_total, fixed_total)}


def _top_findings(tenant, now) -> list[dict]:
    rows = (
        Finding.objects.filter(tenant=tenant, state=FindingState.OPEN, device__retired_at__isnull=True)
        .select_related("device")
        .order_by("-kev", "-score", "id")[:TOP_FINDINGS]
    )
    return [
        {
            "hostname": f.device.hostname,
            "reference": f.reference,
            "package": f.package_name,
            "installed_version": f.installed_version,
            "fixed_version": f.fixed_version,
            "cves": sorted(f.cves or [])[:3],
            "more_cves": max(0, len(f.cves or []) - 3),
            "severity": severity_of(f.severity),
            "kev": f.kev,
            "label": f.label,
            "score": round(f.score, 1),
            "age_days": max(0, (now - f.first_seen_at).days),
        }
        for f in rows
    ]


def _accepted(tenant, today: dt.date) -> dict:
    active = (
        RiskException.objects.filter(tenant=tenant, revoked_at__isnull=True, expires_on__gte=today)
        .select_related("finding__device", "device", "advisory", "owner")
        .order_by("expires_on", "id")
    )
    items = []
    for exc in active:
        if exc.covers == RiskException.Covers.FINDING:
            target = f"{exc.finding.reference} on {exc.finding.device.hostname}"
        elif exc.covers == RiskException.Covers.DEVICE:
            target = f"All findings on {exc.device.hostname}"
        else:
            target = f"{exc.advisory.advisory_id} on every device"
        items.append(
            {
                "covers": exc.covers,
                "target": target,
                "owner": str(exc.owner),
                "reason": exc.reason,
                "expires_on": iso(exc.expires_on),
            }
        )
    findings = Finding.objects.filter(tenant=tenant, state=FindingState.ACCEPTED).count()
    return {"exceptions": items, "findings": findings}


def _not_seen(devices, now, tenant) -> list[dict]:
    cutoff = now - stale_after()
    rows = devices.filter(Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True)).order_by(
        "last_seen_at", "hostname"
    )
    return [
        {
            "hostname": d.hostname,
            "last_seen": local_date(d.last_seen_at, tenant),
            "days": (now - d.last_seen_at).days if d.last_seen_at else None,
        }
        for d in rows
    ]


def build(tenant, start: dt.date, end: dt.date, now: dt.datetime) -> dict:
    since, until = day_bounds(start, end, tenant)
    devices = Device.objects.filter(tenant=tenant).active()
    sla, typical = _sla_days(tenant)
    compliance = _compliance_now(tenant, devices, sla, typical, now)
    trend = _trend(tenant, end)
    mttp, sla_total = _fixes(tenant, since, until, sla, typical)
    today = now.astimezone(zone(tenant)).date()
    first = next((p for p in trend if p["percent"] is not None), None)
    return {
        "kind": "monthly",
        "generated_at": iso(now),
        "tenant": tenant_data(tenant),
        "branding": branding_data(),
        "period": {"start": iso(start), "end": iso(end)},
        "compliance": compliance,
        "trend": trend,
        "trend_start_percent": first["percent"] if first else None,
        "months": _months(trend),
        "installed": _installed(tenant, since, until),
        "mttp": mttp,
        "sla": {**sla_total, "days": typical, "varies": len({tuple(sorted(d.items())) for d in sla.values()}) > 1},
        "top_findings": _top_findings(tenant, now),
        "accepted": _accepted(tenant, today),
        "not_seen": _not_seen(devices, now, tenant),
        "stale_after_days": stale_after().days,
        "severity_order": sorted(SEVERITY_RANK, key=SEVERITY_RANK.get),
    }
