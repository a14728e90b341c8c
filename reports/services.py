"""Creating reports: build the snapshot now, render the PDF now or in a task.

Callers supply the database scope (the tenant's, or the system scope); every lookup here is
also filtered by the tenant, so an id from elsewhere finds nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction

from reports import rendering
from reports.models import Report, ReportKind, ReportState
from reports.snapshots import deployment as deployment_snapshot
from reports.snapshots import executive, monthly
from reports.snapshots.common import zone

__all__ = ["ReportError", "build_snapshot", "create_report", "default_period", "render_safely"]

log = logging.getLogger(__name__)


class ReportError(ValueError):
    pass


def default_period(tenant, now: dt.datetime) -> tuple[dt.date, dt.date]:
    """The last complete calendar month in the tenant's time zone."""
    today = now.astimezone(zone(tenant)).date()
    return monthly.month_of(today.replace(day=1) - dt.timedelta(days=1))


def build_snapshot(
    tenant,
    kind: str,
    *,
    now: dt.datetime,
    deployment_id: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
):
    """(data, period start, period end, deployment) for a new report of `kind`."""
    if kind == ReportKind.DEPLOYMENT:
        from deployments.models import Deployment

        if deployment_id is None:
            raise ReportError("A deployment report needs a deployment.")
        deployment = Deployment.objects.filter(tenant=tenant, pk=deployment_id).select_related("tenant").first()
        if deployment is None:
            raise ReportError(f"{tenant} has no deployment {deployment_id}.")
        start, end = deployment_snapshot.period(deployment, now)
        return deployment_snapshot.build(deployment, now), start, end, deployment
    if kind not in (ReportKind.MONTHLY, ReportKind.EXECUTIVE):
        raise ReportError(f"Unknown report kind {kind!r}.")
    if start is None or end is None:
        start, end = default_period(tenant, now)
    if start > end:
        raise ReportError("The period ends before it starts.")
    builder = monthly.build if kind == ReportKind.MONTHLY else executive.build
    return builder(tenant, start, end, now), start, end, None


def create_report(tenant, kind: str, *, now: dt.datetime, user=None, **period) -> Report:
    """A new report with its snapshot, not yet rendered (state `rendering`)."""
    data, start, end, deployment = build_snapshot(tenant, kind, now=now, **period)
    return Report.objects.create(
        tenant=tenant,
        kind=kind,
        period_start=start,
        period_end=end,
        deployment=deployment,
        data=data,
        created_by=user,
        created_at=now,
    )


def render_safely(report: Report) -> bool:
    """Render and store the PDF; on failure mark the report failed with the error, keep going."""
    try:
        with transaction.atomic():
            rendering.render(report)
        return True
    except Exception as error:  # a broken report must be visible as failed, not lost in a log
        log.exception("reports: rendering report %s failed", report.pk)
        Report.objects.filter(pk=report.pk).update(state=ReportState.FAILED, error=f"{type(error).__name__}: {error}")
        report.state = ReportState.FAILED
        return False
