"""The executive one-page summary's data: headline numbers over a period, and the few
risks that matter most. Built from the monthly summary's data, cut down to one page.
"""

from __future__ import annotations

import datetime as dt

from reports.snapshots import monthly

__all__ = ["build"]

TOP = 3


def build(tenant, start: dt.date, end: dt.date, now: dt.datetime) -> dict:
    data = monthly.build(tenant, start, end, now)
    compliance = data["compliance"]
    start_percent = data["trend_start_percent"]
    change = (
        round(compliance["percent"] - start_percent, 1)
        if compliance["percent"] is not None and start_percent is not None
        else None
    )
    return {
        "kind": "executive",
        "generated_at": data["generated_at"],
        "tenant": data["tenant"],
        "branding": data["branding"],
        "period": data["period"],
        "headline": {
            "compliance_percent": compliance["percent"],
            "compliance_change": change,
            "trend_days": monthly.TREND_DAYS,
            "devices": compliance["devices"],
            "devices_compliant": compliance["devices_compliant"],
            "open_critical": compliance["open_by_severity"]["critical"],
            "open_high": compliance["open_by_severity"]["high"],
            "open_kev": compliance["open_kev"],
            "overdue": compliance["overdue"],
            "updates_installed": data["installed"]["jobs"],
            "devices_updated": data["installed"]["devices"],
            "sla_attainment": data["sla"]["attainment"],
            "fixed": data["sla"]["fixed"],
            "accepted_risks": len(data["accepted"]["exceptions"]),
            "not_seen": len(data["not_seen"]),
        },
        "open_by_severity": compliance["open_by_severity"],
        "trend": data["trend"],
        "top_findings": data["top_findings"][:TOP],
    }
