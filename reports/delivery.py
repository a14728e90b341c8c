"""E-mailing reports on a schedule: due runs, one delivery per run, attempts, retries, the e-mail.

How a report reaches a client:

1. Every minute the beat task (reports.tasks.run_due_schedules) calls `claim_due`: in one
   transaction it locks the due schedules (`FOR UPDATE SKIP LOCKED`), adds one `ReportDelivery`
   per schedule and moves each schedule's `next_run_at` on. A second tick running at the same
   time skips the locked rows and, once they are committed, no longer finds them due; a unique
   constraint (schedule, run) backs this up. A deployment that completes or halts adds the
   deliveries of its tenant's "after each deployment" schedules the same way, in the
   transaction that ends it (`deployments.signals.deployment_finished`).
2. Each delivery is sent by a task (reports.tasks.deliver_report) that calls `attempt`: it
   claims the delivery for a while (`claimed_until`, so a duplicate message or a double click
   on "retry" does nothing), creates and renders the report at the first attempt (reusing
   reports.services), and e-mails it with the PDF attached, or with a signed download link
   when the PDF is larger than settings.REPORT_EMAIL_ATTACHMENT_MAX_BYTES.
3. A failed attempt is retried with doubling delays (settings.REPORT_RETRY_DELAY_SECONDS, at
   most settings.REPORT_DELIVERY_ATTEMPTS attempts); then the delivery is `failed`, listed on the
   tenant's delivery log for the MSP's staff, who may retry it. A report that cannot be made
   (its deployment was deleted) or a run without recipients fails at once.
4. A pending delivery whose task was lost (the broker was down when it was queued) is queued
   again by the beat task once it is `STRANDED_AFTER` overdue.

The clock is passed in everywhere (`now`), so tests run the real code at chosen times.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from deployments.windows import local_instant
from portal.db_scope import system_scope, tenant_scope
from reports import links
from reports.models import (
    Branding,
    DeliveryState,
    DeliveryVia,
    Report,
    ReportDelivery,
    ReportKind,
    ReportSchedule,
    ReportState,
    ScheduleCadence,
)
from reports.schedules import next_run, period_for, recipients, zone
from reports.services import ReportError, create_report, render_safely
from reports.snapshots.monthly import month_of
from tenants import audit

__all__ = [
    "DeliveryError",
    "attempt",
    "claim_due",
    "enqueue",
    "queue_after_deployment",
    "register",
    "retry",
    "retry_delay",
    "send_report",
    "stranded",
]

log = logging.getLogger(__name__)

# How long one attempt may hold a delivery (rendering and sending take far less).
LEASE = dt.timedelta(minutes=10)
# A pending delivery this far past its attempt time lost its task: the beat task queues it again.
STRANDED_AFTER = dt.timedelta(minutes=15)
# Workers' clocks may differ a little from the one that set `next_attempt_at`.
CLOCK_SLACK = dt.timedelta(seconds=30)
MAX_RETRY_DELAY_SECONDS = 30 * 60  # below the broker's visibility timeout
BATCH = 200
NO_RECIPIENTS = "No recipients: the client has no active client owner and the schedule names no other address."


class DeliveryError(Exception):
    """One attempt failed; the message says why (stored on the delivery)."""


class PermanentError(DeliveryError):
    """Trying again would fail the same way: the delivery fails at once."""


def max_attempts() -> int:
    return max(1, int(settings.REPORT_DELIVERY_ATTEMPTS))


def retry_delay(attempts_made: int) -> float:
    """Seconds before the next attempt after `attempts_made` attempts: doubling, capped."""
    base = float(settings.REPORT_RETRY_DELAY_SECONDS)
    return min(base * 2 ** max(0, attempts_made - 1), MAX_RETRY_DELAY_SECONDS)


# Creating deliveries -------------------------------------------------------------------------------


def _add_delivery(schedule: ReportSchedule, *, scheduled_for: dt.datetime, now: dt.datetime, deployment=None):
    """The delivery of this run (or deployment) of the schedule: (delivery, created)."""
    to = recipients(schedule)
    return ReportDelivery.objects.get_or_create(
        schedule=schedule,
        scheduled_for=scheduled_for,
        deployment=deployment,
        defaults={
            "tenant_id": schedule.tenant_id,
            "kind": schedule.kind,
            "recipients": to,
            "state": DeliveryState.PENDING if to else DeliveryState.FAILED,
            "last_error": "" if to else NO_RECIPIENTS,
            "next_attempt_at": now if to else None,
            "created_at": now,
        },
    )


def _sends_reports(tenant) -> bool:
    return tenant.is_active and not tenant.is_archived


def claim_due(now: dt.datetime) -> list[tuple[int, int]]:
    """Add a delivery for each due schedule and move the schedule to its next run, atomically.

    Returns the (delivery id, tenant id) of the deliveries to send. A schedule that missed
    several runs (no beat for days) sends once, for the latest, and continues from `now`.
    Inactive and archived tenants' schedules move on without sending.
    """
    queued = []
    with system_scope():
        due = list(
            ReportSchedule.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(enabled=True, next_run_at__lte=now)
            .select_related("tenant")
            .order_by("next_run_at", "pk")[:BATCH]
        )
        for schedule in due:
            ReportSchedule.objects.filter(pk=schedule.pk).update(next_run_at=next_run(schedule, now), last_run_at=now)
            if not _sends_reports(schedule.tenant):
                continue
            delivery, created = _add_delivery(schedule, scheduled_for=schedule.next_run_at, now=now)
            if created and delivery.state == DeliveryState.PENDING:
                queued.append((delivery.pk, delivery.tenant_id))
    if due:
        log.info("report schedules run", extra={"schedules": len(due), "deliveries": len(queued)})
    return queued


def queue_after_deployment(deployment, *, now: dt.datetime) -> list[tuple[int, int]]:
    """Deliveries of the tenant's "after each deployment" schedules for this deployment.

    Runs in the caller's transaction; the tasks are queued when it commits.
    """
    if deployment.dry_run:
        return []
    queued = []
    with tenant_scope([deployment.tenant_id]):
        schedules = ReportSchedule.objects.filter(
            tenant_id=deployment.tenant_id, enabled=True, cadence=ScheduleCadence.AFTER_DEPLOYMENT
        ).select_related("tenant")
        for schedule in schedules:
            if not _sends_reports(schedule.tenant):
                break
            delivery, created = _add_delivery(schedule, scheduled_for=now, now=now, deployment=deployment)
            if created and delivery.state == DeliveryState.PENDING:
                queued.append((delivery.pk, delivery.tenant_id))
            ReportSchedule.objects.filter(pk=schedule.pk).update(last_run_at=now)
    if queued:
        transaction.on_commit(lambda: enqueue(queued))
    return queued


def stranded(now: dt.datetime) -> list[tuple[int, int]]:
    """Pending deliveries long past their attempt time and not being attempted: their task was lost."""
    with system_scope():
        return list(
            ReportDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now - STRANDED_AFTER)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            .order_by("next_attempt_at")
            .values_list("pk", "tenant_id")[:BATCH]
        )


def enqueue(deliveries: list[tuple[int, int]]) -> None:
    from reports.tasks import deliver_report

    for delivery_id, tenant_id in deliveries:
        try:
            deliver_report.delay(delivery_id, tenant_id=tenant_id)
        except Exception:  # the broker is down: the beat task's sweep (`stranded`) queues it later
            log.exception("reports: queueing delivery %s failed", delivery_id)


def retry(delivery: ReportDelivery, *, now: dt.datetime) -> bool:
    """Staff's "retry" of a failed delivery: fresh attempts, to the schedule's current recipients.

    Runs in the caller's transaction and scope; the task is queued when it commits.
    """
    to = recipients(delivery.schedule) if delivery.schedule_id else list(delivery.recipients)
    if not to:
        ReportDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.FAILED).update(last_error=NO_RECIPIENTS)
        return False
    changed = ReportDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.FAILED).update(
        state=DeliveryState.PENDING,
        attempts=0,
        recipients=to,
        last_error="",
        next_attempt_at=now,
        claimed_until=None,
    )
    if not changed:
        return False
    audit.record("report_delivery.retried", delivery, changes={"recipients": to})
    pair = [(delivery.pk, delivery.tenant_id)]
    transaction.on_commit(lambda: enqueue(pair))
    return True


# One attempt ----------------------------------------------------------------------------------------


def _report_arguments(delivery: ReportDelivery) -> dict:
    if delivery.kind == ReportKind.DEPLOYMENT:
        if delivery.deployment_id is None:
            raise PermanentError("The deployment this report was for has been deleted.")
        return {"deployment_id": delivery.deployment_id}
    start, end = period_for(delivery.schedule, delivery.tenant, delivery.scheduled_for)
    return {"start": start, "end": end}


def _ready_report(delivery: ReportDelivery, now: dt.datetime) -> Report:
    """The delivery's report, created at the first attempt and rendered (again) if it is not ready."""
    with tenant_scope([delivery.tenant_id]):
        report = (
            Report.objects.filter(pk=delivery.report_id).select_related("tenant", "deployment").first()
            if delivery.report_id
            else None
        )
        if report is None:
            try:
                report = create_report(delivery.tenant, delivery.kind, now=now, **_report_arguments(delivery))
            except ReportError as error:
                raise PermanentError(f"The report could not be made: {error}") from None
            ReportDelivery.objects.filter(pk=delivery.pk).update(report=report)
            delivery.report = report
        if report.state != ReportState.READY and not render_safely(report):
            raise DeliveryError(f"Rendering the PDF failed: {report.error}")
    return report


def attempt(delivery_id: int, tenant_id: int, *, now: dt.datetime | None = None) -> ReportDelivery | None:
    """One attempt at one delivery, its outcome recorded; None when there is nothing to do now
    (sent, failed, being attempted elsewhere, or not yet due)."""
    now = now or timezone.now()
    with tenant_scope([tenant_id]):
        claimed = (
            ReportDelivery.objects.filter(pk=delivery_id, tenant_id=tenant_id, state=DeliveryState.PENDING)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + CLOCK_SLACK))
            .update(claimed_until=now + LEASE)
        )
        if not claimed:
            return None
        delivery = ReportDelivery.objects.select_related("tenant", "schedule").get(pk=delivery_id)
    error, permanent = "", False
    try:
        report = _ready_report(delivery, now)
        # The SMTP exchange runs outside any transaction: no connection held open on it.
        delivery.via = send_report(report, delivery.recipients)
    except DeliveryError as failure:
        error, permanent = str(failure), isinstance(failure, PermanentError)
    except Exception as failure:  # a bug must count as an attempt too, or the sweep retries it forever
        log.exception("reports: delivery %s failed unexpectedly", delivery.pk)
        error = f"{type(failure).__name__}: {failure}"
    delivery.attempts += 1
    delivery.last_error = error[:2000]
    delivery.next_attempt_at = None
    if not error:
        delivery.state, delivery.sent_at = DeliveryState.SENT, now
    elif permanent or delivery.attempts >= max_attempts():
        delivery.state = DeliveryState.FAILED
    else:
        delivery.next_attempt_at = now + dt.timedelta(seconds=retry_delay(delivery.attempts))
    with tenant_scope([tenant_id]):
        ReportDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING).update(
            attempts=delivery.attempts,
            last_error=delivery.last_error,
            state=delivery.state,
            sent_at=delivery.sent_at,
            via=delivery.via,
            next_attempt_at=delivery.next_attempt_at,
            claimed_until=None,
        )
    if delivery.state == DeliveryState.FAILED:
        log.warning("report delivery failed", extra={"delivery": delivery.pk, "error": delivery.last_error})
        _alert_failure(delivery)
    return delivery


def _alert_failure(delivery: ReportDelivery) -> None:
    """Tell the technicians (portal, e-mail, chat channels) that a client did not get its report."""
    from deployments.alerts import raise_alert
    from deployments.models import AlertKind

    raise_alert(
        AlertKind.REPORT_DELIVERY_FAILED,
        tenant=delivery.tenant_id,
        title=f"Report e-mail to {delivery.tenant.name} failed after {delivery.attempts} attempt(s)",
        body=delivery.last_error,
        link=reverse("report_delivery_list", kwargs={"tenant_slug": delivery.tenant.slug}),
        # A retried delivery that fails again is a new failure worth a new alert.
        dedupe_key=f"report-delivery:{delivery.pk}:{delivery.attempts}",
    )


# The e-mail -----------------------------------------------------------------------------------------


def _title(report: Report) -> str:
    """ "Monthly summary, October 2026", "Deployment summary: November OpenSSL"."""
    kind = report.get_kind_display()
    if report.kind == ReportKind.DEPLOYMENT:
        name = (report.data.get("deployment") or {}).get("name") or (report.deployment and report.deployment.name)
        return f"{kind}: {name}" if name else str(report)
    if month_of(report.period_start) == (report.period_start, report.period_end):
        return f"{kind}, {report.period_start:%B %Y}"
    return f"{kind}, {report.period_start:%Y-%m-%d} to {report.period_end:%Y-%m-%d}"


def _read_pdf(report: Report) -> bytes:
    if not report.pdf:
        raise DeliveryError("The report has no PDF.")
    try:
        with report.pdf.open("rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise DeliveryError(f"The report's PDF file is missing ({report.pdf.name}).") from None


def send_report(report: Report, to: list[str]) -> str:
    """E-mail the report to `to` in one message; returns how it went (PDF attached or linked)."""
    if not to:
        raise PermanentError(NO_RECIPIENTS)
    pdf = _read_pdf(report)
    tenant = report.tenant
    attach = len(pdf) <= settings.REPORT_EMAIL_ATTACHMENT_MAX_BYTES
    context = {
        "tenant": tenant,
        "report": report,
        "title": _title(report),
        "branding": Branding.load(),
        "attached": attach,
        "link": ""
        if attach
        else settings.SITE_URL + reverse("report_download", kwargs={"token": links.make_token(report)}),
        "link_days": links.max_age_days(),
        "portal_url": settings.SITE_URL + reverse("report_list", kwargs={"tenant_slug": tenant.slug}),
    }
    subject = " ".join(render_to_string("emails/report_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject,
        render_to_string("emails/report.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        to,
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string("emails/report.html", context), "text/html")
    if attach:
        message.attach(f"{tenant.slug}-{report.kind}-{report.period_end:%Y-%m-%d}.pdf", pdf, "application/pdf")
    try:
        message.send()
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"{type(error).__name__}: {error}") from None
    return DeliveryVia.ATTACHMENT if attach else DeliveryVia.LINK


# Wiring ---------------------------------------------------------------------------------------------


def _on_deployment_finished(sender, deployment, now=None, **kwargs) -> None:
    """A deployment completed or halted: its tenant's "after each deployment" reports go out.

    A failure here must not undo the deployment's own transition: it is logged, and the
    savepoint of the scope rolls back only the deliveries.
    """
    try:
        queue_after_deployment(deployment, now=now or timezone.now())
    except Exception:
        log.exception("reports: queueing the reports of deployment %s failed", deployment.pk)


def replan(tenant, old_zone, *, now: dt.datetime) -> int:
    """Move the tenant's pending schedule runs to the same wall-clock time in its new zone.

    The pending run keeps its local day and time: Monday 08:00 in the old zone becomes
    Monday 08:00 in the new one. A run that has thereby passed goes at once rather than being
    skipped; a run already due is left to the scheduler. Returns how many schedules moved.
    """
    old_zone = old_zone if isinstance(old_zone, dt.tzinfo) else ZoneInfo(str(old_zone))
    new_zone = zone(tenant)
    moved = 0
    with tenant_scope([tenant.pk]):
        pending = ReportSchedule.objects.select_for_update().filter(
            tenant_id=tenant.pk, enabled=True, next_run_at__gt=now
        )
        for schedule in pending:
            day = schedule.next_run_at.astimezone(old_zone).date()
            run_at = max(local_instant(day, schedule.time_of_day, new_zone), now)
            if run_at != schedule.next_run_at:
                ReportSchedule.objects.filter(pk=schedule.pk).update(next_run_at=run_at)
                moved += 1
    return moved


def _on_tenant_saved(sender, instance, created, **kwargs) -> None:
    """A tenant moved to another time zone: 08:00 of its schedules is 08:00 there from now on.

    The values the tenant was loaded with (AuditedModel) tell whether the zone changed.
    """
    before = getattr(instance, "_audit_loaded", {}).get("time_zone")
    if not created and before is not None and str(before) != str(instance.time_zone):
        replan(instance, before, now=timezone.now())


def register() -> None:
    """Connect to the deployments' and tenants' signals; called from reports/apps.py ready()."""
    from django.db.models.signals import post_save

    from deployments.signals import deployment_finished
    from tenants.models import Tenant

    deployment_finished.connect(_on_deployment_finished, dispatch_uid="reports.delivery.deployment_finished")
    post_save.connect(_on_tenant_saved, sender=Tenant, dispatch_uid="reports.delivery.tenant_saved")
