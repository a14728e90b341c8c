"""Scheduled report e-mails: due schedules claimed once (also by overlapping ticks), the PDF
attached or linked, retries with back-off until the delivery fails and staff see it, reports
after each deployment, and one schedule delivered end to end by a real Celery worker to a real
SMTP server on loopback.

The clock is passed in (NOW) except in the worker test, which uses the real one."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deployments.models import Alert, AlertKind, Deployment, DeploymentStage
from deployments.promotion import advance, halt
from portal.db_scope import system_scope
from reports import delivery as deliveries
from reports.models import DeliveryState, Report, ReportDelivery, ReportSchedule, ReportState
from reports.schedules import next_run
from reports.tasks import run_due_schedules
from tenants.models import AuditEntry
from tenants.roles import TenantRole
from tests.factories import MembershipFactory, UserFactory
from tests.fixtures.mail import free_port
from tests.fixtures.personas import sign_in
from tests.fixtures.worker_process import wait_until
from tests.reports.helpers import NOW, build_world, pdf_text
from tests.reports.test_access_matrix import PDF, ready_report

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def schedule_for(tenant, *, due=NOW - MINUTE, **fields) -> ReportSchedule:
    values = {"kind": "executive", "cadence": "weekly", "weekday": 0, "extra_recipients": ["cfo@alpha.example"]}
    schedule = ReportSchedule.objects.create(tenant=tenant, **{**values, **fields})
    ReportSchedule.objects.filter(pk=schedule.pk).update(next_run_at=due)
    schedule.refresh_from_db()
    return schedule


def delivery_with_report(world, **fields) -> ReportDelivery:
    """A due delivery whose report is ready (a stand-in PDF), so attempts do not run WeasyPrint."""
    schedule = schedule_for(world.tenant_a)
    [(delivery_id, _)] = deliveries.claim_due(NOW)
    ReportDelivery.objects.filter(pk=delivery_id).update(report=ready_report(world.tenant_a), **fields)
    return ReportDelivery.objects.get(pk=delivery_id, schedule=schedule)


def attempt(delivery, now=NOW) -> ReportDelivery | None:
    return deliveries.attempt(delivery.pk, delivery.tenant_id, now=now)


# ---- claiming due schedules ------------------------------------------------------------------------


def test_a_due_schedule_gets_one_delivery_and_moves_to_its_next_run(world):
    schedule = schedule_for(world.tenant_a)
    queued = deliveries.claim_due(NOW)
    delivery = ReportDelivery.objects.get()
    assert queued == [(delivery.pk, world.tenant_a.pk)]
    assert (delivery.kind, delivery.state, delivery.scheduled_for) == ("executive", "pending", NOW - MINUTE)
    assert delivery.recipients == ["owner@alpha.test", "cfo@alpha.example"]
    schedule.refresh_from_db()
    # NOW is Saturday 21 November 2026, 13:00 in Berlin: next Monday 08:00 CET.
    assert (schedule.next_run_at, schedule.last_run_at) == (dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC), NOW)
    assert deliveries.claim_due(NOW) == [] and ReportDelivery.objects.count() == 1


def test_schedules_not_yet_due_disabled_or_after_deployments_are_left_alone(world):
    later = schedule_for(world.tenant_a, due=NOW + MINUTE)
    schedule_for(world.tenant_a, enabled=False, weekday=1)
    schedule_for(world.tenant_b, kind="deployment", cadence="deployment", weekday=None, due=None)
    assert deliveries.claim_due(NOW) == []
    assert deliveries.claim_due(NOW + MINUTE) != []
    assert ReportDelivery.objects.get().schedule == later


def test_missed_runs_send_once_and_continue_from_now(world):
    schedule = schedule_for(world.tenant_a, due=NOW - dt.timedelta(days=30))
    assert len(deliveries.claim_due(NOW)) == 1
    schedule.refresh_from_db()
    assert schedule.next_run_at == next_run(schedule, NOW) and schedule.next_run_at > NOW


def test_an_inactive_clients_schedule_moves_on_without_sending(world):
    world.tenant_b.is_active = False
    world.tenant_b.save()
    schedule = schedule_for(world.tenant_b)
    assert deliveries.claim_due(NOW) == []
    schedule.refresh_from_db()
    assert schedule.next_run_at > NOW and not ReportDelivery.objects.exists()


def test_a_run_without_recipients_fails_at_once_and_is_shown(world):
    schedule_for(world.tenant_b, include_client_owners=False, extra_recipients=[])
    assert deliveries.claim_due(NOW) == []
    delivery = ReportDelivery.objects.get()
    assert delivery.state == DeliveryState.FAILED and delivery.last_error.startswith("No recipients")


@pytest.mark.django_db(transaction=True)
def test_overlapping_ticks_send_once(world):
    schedule_for(world.tenant_a)
    second = {}

    def other_tick():
        try:
            second["queued"] = deliveries.claim_due(NOW)
        finally:
            connection.close()

    with transaction.atomic():
        first = deliveries.claim_due(NOW)
        # A second tick while the first has not committed yet: the schedule is locked, it skips it.
        thread = threading.Thread(target=other_tick)
        thread.start()
        thread.join(timeout=60)
    # A third tick after the first committed: the schedule is no longer due.
    third = deliveries.claim_due(NOW)
    assert (len(first), second["queued"], third) == (1, [], [])
    assert ReportDelivery.objects.count() == 1


# ---- the e-mail --------------------------------------------------------------------------------------


def test_the_pdf_is_attached_under_the_size_limit(world, media, smtp_server, settings):
    settings.SITE_URL = "https://portal.msp.test"
    delivery = attempt(delivery_with_report(world))
    assert (delivery.state, delivery.attempts, delivery.via, delivery.sent_at) == ("sent", 1, "attachment", NOW)
    (message,) = smtp_server.messages
    assert message["X-Envelope-To"] == "owner@alpha.test, cfo@alpha.example"
    assert message["Subject"] == "Alpha Dental: Executive summary, October 2026"
    assert message["Auto-Submitted"] == "auto-generated"
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "alpha-executive-2026-10-31.pdf"
    assert attachment.get_content() == PDF
    text = message.get_body(("plain",)).get_content()
    assert "Attached is Alpha Dental's Executive summary" in text and "/reports/download/" not in text
    assert "https://portal.msp.test/t/alpha/reports/" in text


def test_a_pdf_above_the_size_limit_goes_as_a_signed_link_that_works(client, world, media, smtp_server, settings):
    settings.SITE_URL = "https://portal.msp.test"
    settings.REPORT_EMAIL_ATTACHMENT_MAX_BYTES = len(PDF) - 1
    delivery = attempt(delivery_with_report(world))
    assert (delivery.state, delivery.via) == ("sent", "link")
    (message,) = smtp_server.messages
    assert list(message.iter_attachments()) == []
    text = message.get_body(("plain",)).get_content()
    assert "too large to attach" in text
    [url] = [line.strip() for line in text.splitlines() if "/reports/download/" in line]
    assert url.startswith("https://portal.msp.test/reports/download/")
    html = message.get_body(("html",)).get_content()
    assert f'href="{url}"' in html
    response = client.get(url.removeprefix("https://portal.msp.test"))  # signed out: the link suffices
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    sign_in(client, world.tech_a)
    log = client.get(reverse("report_delivery_list", kwargs={"tenant_slug": "alpha"})).content.decode()
    recent = log.split("<h3>Recent</h3>")[1]
    assert f'id="delivery-{delivery.pk}"' in recent and "download link" in recent


# ---- retries and failure -----------------------------------------------------------------------------


def test_failed_attempts_are_retried_with_back_off_then_fail_and_staff_see_it(
    client, world, media, smtp_server, settings
):
    settings.REPORT_DELIVERY_ATTEMPTS = 3
    settings.REPORT_RETRY_DELAY_SECONDS = 60
    working_port, settings.EMAIL_PORT = settings.EMAIL_PORT, free_port()  # nothing listens there
    delivery = delivery_with_report(world)

    first = attempt(delivery)
    assert (first.state, first.attempts, first.next_attempt_at) == ("pending", 1, NOW + MINUTE)
    assert "ConnectionRefusedError" in first.last_error
    assert attempt(delivery, NOW + dt.timedelta(seconds=10)) is None  # not due yet: no attempt
    second = attempt(delivery, NOW + MINUTE)
    assert (second.state, second.attempts, second.next_attempt_at) == ("pending", 2, NOW + 3 * MINUTE)
    third = attempt(delivery, NOW + 3 * MINUTE)
    assert (third.state, third.attempts, third.next_attempt_at) == ("failed", 3, None)
    assert attempt(delivery, NOW + dt.timedelta(hours=1)) is None  # failed: no more attempts
    assert smtp_server.messages == []
    with system_scope():
        (alert,) = Alert.objects.filter(kind=AlertKind.REPORT_DELIVERY_FAILED)
    assert alert.tenant_id == world.tenant_a.pk and "ConnectionRefusedError" in alert.body
    assert alert.link == reverse("report_delivery_list", kwargs={"tenant_slug": "alpha"})

    # The technicians see it: on the archive, and first on the delivery log with its error.
    sign_in(client, world.tech_a)
    archive = client.get(reverse("report_list", kwargs={"tenant_slug": "alpha"})).content.decode()
    assert "1 report e-mail failed." in archive
    log = client.get(reverse("report_delivery_list", kwargs={"tenant_slug": "alpha"})).content.decode()
    failed_section = log.split('class="failed-deliveries"')[1].split("<h3>Recent</h3>")[0]
    assert f'id="delivery-{delivery.pk}"' in failed_section and "ConnectionRefusedError" in failed_section
    sign_in(client, world.viewer_a)
    archive = client.get(reverse("report_list", kwargs={"tenant_slug": "alpha"})).content.decode()
    assert "failed-deliveries" not in archive  # clients do not see the MSP's delivery problems

    # A technician retries once the mail server is back: fresh attempts, and it is sent.
    settings.EMAIL_PORT = working_port
    sign_in(client, world.tech_a)
    retry_url = reverse("report_delivery_retry", kwargs={"tenant_slug": "alpha", "pk": delivery.pk})
    assert client.post(retry_url).status_code == 302
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("pending", 0, "")
    assert AuditEntry.objects.filter(action="report_delivery.retried", object_id=str(delivery.pk)).exists()
    sent = attempt(delivery, timezone.now())
    assert (sent.state, sent.attempts) == ("sent", 1)
    assert len(smtp_server.messages) == 1


def test_a_delivery_being_attempted_elsewhere_is_skipped(world, media, smtp_server):
    delivery = delivery_with_report(world, claimed_until=NOW + dt.timedelta(minutes=5))
    assert attempt(delivery) is None
    assert smtp_server.messages == []
    # A lease that ran out (the worker died) no longer holds it.
    assert attempt(delivery, NOW + dt.timedelta(minutes=5)).state == DeliveryState.SENT


def test_a_lost_task_is_found_again_once_it_is_long_overdue(world, media):
    delivery = delivery_with_report(world)
    assert deliveries.stranded(NOW + deliveries.STRANDED_AFTER - MINUTE) == []
    assert deliveries.stranded(NOW + deliveries.STRANDED_AFTER) == [(delivery.pk, world.tenant_a.pk)]


def test_a_deployment_report_whose_deployment_was_deleted_fails_at_once(world, media):
    schedule = schedule_for(world.tenant_a, kind="deployment", cadence="deployment", weekday=None, due=None)
    delivery = ReportDelivery.objects.create(
        tenant=world.tenant_a, schedule=schedule, kind="deployment", scheduled_for=NOW, recipients=["a@alpha.example"]
    )
    failed = attempt(delivery)
    assert (failed.state, failed.attempts) == ("failed", 1)
    assert "deployment this report was for has been deleted" in failed.last_error


# ---- after each deployment ----------------------------------------------------------------------------


def test_a_completed_deployment_is_reported_to_the_client_with_its_pdf(
    media, smtp_server, settings, tmp_path, django_capture_on_commit_callbacks
):
    report_world = build_world()
    tenant = report_world.tenant_a
    owner = UserFactory(email="owner@alpha-dental.example")
    MembershipFactory(tenant=tenant, user=owner, role=TenantRole.CLIENT_OWNER)
    schedule = ReportSchedule.objects.create(tenant=tenant, kind="deployment", cadence="deployment")
    other = ReportSchedule.objects.create(tenant=report_world.tenant_b, kind="deployment", cadence="deployment")
    deployment = report_world.deployment
    Deployment.objects.filter(pk=deployment.pk).update(state=Deployment.State.RUNNING, finished_at=None)
    DeploymentStage.objects.create(
        tenant=tenant, deployment=deployment, name="Everyone", position=0, state=DeploymentStage.State.PASSED
    )

    with django_capture_on_commit_callbacks() as callbacks:
        assert advance(deployment, now=NOW) == "completed"
    delivery = ReportDelivery.objects.get()
    assert (delivery.schedule, delivery.deployment, delivery.recipients) == (schedule, deployment, [owner.email])
    assert len(callbacks) == 1  # the task is queued once the deployment's transaction commits
    assert not other.deliveries.exists()

    sent = attempt(delivery)
    assert (sent.state, sent.via) == ("sent", "attachment"), sent.last_error
    report = Report.objects.get(pk=ReportDelivery.objects.get().report_id)
    assert (report.kind, report.deployment, report.state) == ("deployment", deployment, ReportState.READY)
    (message,) = smtp_server.messages
    assert message["Subject"] == "Alpha Dental: Deployment summary: November OpenSSL"
    (attachment,) = message.iter_attachments()
    text = pdf_text(attachment.get_content(), tmp_path)
    assert "November OpenSSL" in text and "web-01" in text and "bravo-secret-host" not in text


def test_a_halted_deployment_is_reported_and_a_dry_run_is_not(world):
    schedule = schedule_for(world.tenant_a, kind="deployment", cadence="deployment", weekday=None, due=None)
    dry = Deployment.objects.create(tenant=world.tenant_a, name="Rehearsal", state="running", dry_run=True)
    real = Deployment.objects.create(tenant=world.tenant_a, name="Real", state="running")
    assert halt(dry, None, reason="Too many failures.", now=NOW)
    assert halt(real, None, reason="Too many failures.", now=NOW)
    assert not halt(real, None, reason="Again.", now=NOW)  # already halted: no second report
    delivery = ReportDelivery.objects.get()
    assert (delivery.deployment, delivery.schedule, delivery.scheduled_for) == (real, schedule, NOW)
    schedule.refresh_from_db()
    assert schedule.last_run_at == NOW


# ---- end to end: the real beat task, a real worker, a real SMTP server ---------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_due_schedule_is_delivered_by_the_worker_with_the_pdf_attached(
    celery_worker, smtp_server, media, settings, tmp_path
):
    settings.SITE_URL = "https://portal.msp.test"
    report_world = build_world()
    tenant = report_world.tenant_a
    MembershipFactory(tenant=tenant, user=UserFactory(email="owner@alpha-dental.example"), role=TenantRole.CLIENT_OWNER)
    schedule = ReportSchedule.objects.create(
        tenant=tenant,
        kind="executive",
        cadence="monthly",
        day_of_month=1,
        extra_recipients=["cfo@alpha-dental.example"],
    )
    # Due now by the real clock: the worker's tick claims it (the beat would do the same each minute).
    due = timezone.now()
    ReportSchedule.objects.filter(pk=schedule.pk).update(next_run_at=due)

    run_due_schedules.delay()

    (message,) = smtp_server.wait_for(1, timeout=120)
    assert message["X-Envelope-To"] == "owner@alpha-dental.example, cfo@alpha-dental.example"
    assert message["Subject"].startswith("Alpha Dental: Executive summary, ")
    (attachment,) = message.iter_attachments()
    pdf = attachment.get_content()
    assert attachment.get_content_type() == "application/pdf" and pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    assert "Alpha Dental" in text and "bravo-secret-host" not in text
    delivery = wait_until(
        lambda: ReportDelivery.objects.filter(schedule=schedule, state=DeliveryState.SENT).first(),
        timeout=30,
        what="the delivery to be recorded as sent",
    )
    assert (delivery.attempts, delivery.via, delivery.scheduled_for) == (1, "attachment", due)
    schedule.refresh_from_db()
    assert schedule.next_run_at > due and schedule.last_run_at >= due
    assert schedule.next_run_at.astimezone(tenant.time_zone).day == 1


def test_the_delivery_log_reads_a_fixed_number_of_queries(client, world):
    schedule = schedule_for(world.tenant_a, due=None)
    url = reverse("report_delivery_list", kwargs={"tenant_slug": "alpha"})
    sign_in(client, world.tech_a)

    def add(count, state):
        start = ReportDelivery.objects.count()
        for n in range(count):
            ReportDelivery.objects.create(
                tenant=world.tenant_a,
                schedule=schedule,
                kind="executive",
                scheduled_for=NOW - dt.timedelta(days=start + n),
                recipients=["cfo@alpha.example"],
                state=state,
            )

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    add(1, DeliveryState.FAILED)
    add(1, DeliveryState.SENT)
    few = queries()
    add(5, DeliveryState.FAILED)
    add(5, DeliveryState.SENT)
    assert queries() == few
