"""Reports in the background: rendering a report's PDF from its stored snapshot."""

from __future__ import annotations

from celery import shared_task

__all__ = ["render_report"]


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300)
def render_report(report_id: int, tenant_id: int | None = None) -> str | None:
    """Render report `report_id` (in its tenant's scope, from `tenant_id`); returns its state.

    Idempotent: a report already rendered is left alone, so a redelivered message does no harm.
    """
    from reports.models import Report, ReportState
    from reports.services import render_safely

    report = Report.objects.filter(pk=report_id).select_related("tenant").first()
    if report is None:
        return None
    if report.state != ReportState.READY:
        render_safely(report)
    return report.state
