"""Reports in the background: rendering a report's PDF from its stored snapshot, and e-mailing
scheduled reports (reports.delivery)."""

from __future__ import annotations

from celery import shared_task

__all__ = ["deliver_report", "render_report", "run_due_schedules"]


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


# The scheduler and the deliveries open their own short scopes (atomic_scope=False): a retry must
# not roll back the attempt it records, and the SMTP exchange must not hold a transaction open.


@shared_task(atomic_scope=False, ignore_result=True, soft_time_limit=120, time_limit=180)
def run_due_schedules() -> int:
    """The beat task (every minute): deliveries for the due schedules, and lost ones queued again."""
    from django.utils import timezone

    from reports import delivery

    now = timezone.now()
    queued = delivery.claim_due(now) + delivery.stranded(now)
    delivery.enqueue(queued)
    return len(queued)


@shared_task(atomic_scope=False, ignore_result=True, bind=True, soft_time_limit=300, time_limit=360)
def deliver_report(self, delivery_id: int, tenant_id: int) -> str:
    """One attempt at a delivery; retried with doubling delays while it is pending."""
    from reports import delivery as deliveries
    from reports.models import DeliveryState

    delivery = deliveries.attempt(delivery_id, tenant_id)
    if delivery is None:
        return "skipped"
    if delivery.state == DeliveryState.PENDING:
        # Attempts are counted on the row, not by Celery: max_retries=None leaves that to us.
        raise self.retry(countdown=deliveries.retry_delay(delivery.attempts), max_retries=None)
    return delivery.state
