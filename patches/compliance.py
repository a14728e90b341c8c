"""Daily compliance snapshots per device and per tenant: the history that reports need.

One statement per level: device rows from the device's findings, tenant rows from the day's
device rows. A finding is overdue when it has been open longer than the SLA for its severity
(or past its KEV due date); a fix counts as within SLA when it came before either deadline.
Taking the snapshot again the same day replaces that day's rows.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

__all__ = ["take_snapshots"]


def _deadline_sql(alias: str) -> str:
    """The moment a finding becomes overdue: first seen + its device's SLA days for the severity
    (device_sla, from the policies), or the KEV due date if earlier."""
    days = (
        f"CASE {alias}.severity WHEN 'critical' THEN s.critical WHEN 'high' THEN s.high "
        f"WHEN 'medium' THEN s.medium ELSE s.low END"
    )
    sla = f"({alias}.first_seen_at + make_interval(days => {days}))"
    return f"CASE WHEN {alias}.kev_due IS NOT NULL THEN least({sla}, ({alias}.kev_due + 1)::timestamptz) ELSE {sla} END"


def _device_sla(cursor, tenant_ids) -> None:
    """A temporary table of each active device's SLA days per severity, from its policy chain."""
    from patches.policy import chains_for_devices, effective

    chains = chains_for_devices(tenant_ids=tenant_ids)
    by_chain = {}
    rows = []
    for device_id, chain in chains.items():
        eff = by_chain.setdefault(chain.key, effective(chain))
        rows.append((device_id, *(eff[f"sla_{severity}_days"] for severity in ("critical", "high", "medium", "low"))))
    cursor.execute("DROP TABLE IF EXISTS device_sla")
    cursor.execute(
        "CREATE TEMP TABLE device_sla (device_id bigint PRIMARY KEY, critical int, high int, medium int, low int)"
        " ON COMMIT DROP"
    )
    if rows:
        cursor.execute(
            "INSERT INTO device_sla SELECT * FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::int[], %s::int[])",
            [list(column) for column in zip(*rows, strict=True)],
        )


@transaction.atomic
def take_snapshots(day: dt.date, now: dt.datetime, tenant_ids: list[int] | None = None) -> int:
    """Snapshot every active device and tenant for `day` (as of `now`); returns device rows written."""
    deadline = _deadline_sql("f")
    tenant_filter = "AND d.tenant_id = ANY(%(tenants)s)" if tenant_ids is not None else ""
    params = {"day": day, "now": now, "tenants": tenant_ids}
    with connection.cursor() as cursor:
        _device_sla(cursor, tenant_ids)
        cursor.execute(
            f"""
            INSERT INTO patches_compliancesnapshot (tenant_id, device_id, day, devices, devices_compliant,
                open_critical, open_high, open_medium, open_low, open_unknown, open_kev, overdue,
                fixed_within_sla, fixed_late)
            SELECT d.tenant_id, d.id, %(day)s, 1,
                   CASE WHEN count(f.id) FILTER (WHERE f.state = 'open' AND (f.severity = 'critical' OR f.kev)) = 0
                        THEN 1 ELSE 0 END,
                   count(f.id) FILTER (WHERE f.state = 'open' AND f.severity = 'critical'),
                   count(f.id) FILTER (WHERE f.state = 'open' AND f.severity = 'high'),
                   count(f.id) FILTER (WHERE f.state = 'open' AND f.severity = 'medium'),
                   count(f.id) FILTER (WHERE f.state = 'open' AND f.severity = 'low'),
                   count(f.id) FILTER (WHERE f.state = 'open' AND f.severity NOT IN ('critical', 'high', 'medium',
                                                                                     'low')),
                   count(f.id) FILTER (WHERE f.state = 'open' AND f.kev),
                   count(f.id) FILTER (WHERE f.state = 'open' AND {deadline} < %(now)s),
                   count(f.id) FILTER (WHERE f.state = 'fixed' AND f.fixed_at::date = %(day)s
                                       AND f.fixed_at <= {deadline}),
                   count(f.id) FILTER (WHERE f.state = 'fixed' AND f.fixed_at::date = %(day)s
                                       AND f.fixed_at > {deadline})
            FROM devices_device d
            JOIN device_sla s ON s.device_id = d.id
            LEFT JOIN patches_finding f ON f.device_id = d.id
            WHERE d.retired_at IS NULL {tenant_filter}
            GROUP BY d.tenant_id, d.id
            ON CONFLICT ON CONSTRAINT snapshot_identity DO UPDATE SET
                devices = EXCLUDED.devices, devices_compliant = EXCLUDED.devices_compliant,
                open_critical = EXCLUDED.open_critical, open_high = EXCLUDED.open_high,
                open_medium = EXCLUDED.open_medium, open_low = EXCLUDED.open_low,
                open_unknown = EXCLUDED.open_unknown, open_kev = EXCLUDED.open_kev, overdue = EXCLUDED.overdue,
                fixed_within_sla = EXCLUDED.fixed_within_sla, fixed_late = EXCLUDED.fixed_late
            """,
            params,
        )
        written = cursor.rowcount
        cursor.execute(
            f"""
            INSERT INTO patches_compliancesnapshot (tenant_id, device_id, day, devices, devices_compliant,
                open_critical, open_high, open_medium, open_low, open_unknown, open_kev, overdue,
                fixed_within_sla, fixed_late)
            SELECT s.tenant_id, NULL, %(day)s, sum(s.devices), sum(s.devices_compliant), sum(s.open_critical),
                   sum(s.open_high), sum(s.open_medium), sum(s.open_low), sum(s.open_unknown), sum(s.open_kev),
                   sum(s.overdue), sum(s.fixed_within_sla), sum(s.fixed_late)
            FROM patches_compliancesnapshot s JOIN devices_device d ON d.id = s.device_id
            WHERE s.day = %(day)s AND d.retired_at IS NULL {tenant_filter}
            GROUP BY s.tenant_id
            ON CONFLICT ON CONSTRAINT snapshot_identity DO UPDATE SET
                devices = EXCLUDED.devices, devices_compliant = EXCLUDED.devices_compliant,
                open_critical = EXCLUDED.open_critical, open_high = EXCLUDED.open_high,
                open_medium = EXCLUDED.open_medium, open_low = EXCLUDED.open_low,
                open_unknown = EXCLUDED.open_unknown, open_kev = EXCLUDED.open_kev, overdue = EXCLUDED.overdue,
                fixed_within_sla = EXCLUDED.fixed_within_sla, fixed_late = EXCLUDED.fixed_late
            """,
            params,
        )
    return written
