"""Every report page for every persona: the archive, a new report, the preview, a signed
download, the CSV exports, report schedules and their delivery log, and the MSP's branding."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile

from reports import links
from reports.models import Branding, DeliveryState, Report, ReportDelivery, ReportSchedule, ReportState
from reports.schedules import next_run
from reports.services import create_report
from tests.access import PERSONAS, Route, check_route
from tests.reports.conftest import png_logo
from tests.reports.helpers import NOW

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n% a stand-in for a rendered report\n%%EOF\n"


def ready_report(tenant) -> Report:
    """A report with a real snapshot and a stored (stand-in) PDF, without running WeasyPrint."""
    report = create_report(tenant, "executive", now=NOW)
    report.pdf.save(f"{tenant.slug}-executive.pdf", ContentFile(PDF), save=False)
    report.sha256 = hashlib.sha256(PDF).hexdigest()
    report.state = ReportState.READY
    report.save()
    return report


def schedule_of(tenant) -> ReportSchedule:
    schedule = ReportSchedule(tenant=tenant, kind="monthly", cadence="monthly", day_of_month=1)
    schedule.next_run_at = next_run(schedule, NOW)
    schedule.save()
    return schedule


def failed_delivery(schedule) -> ReportDelivery:
    return ReportDelivery.objects.create(
        tenant=schedule.tenant,
        schedule=schedule,
        kind=schedule.kind,
        scheduled_for=NOW,
        recipients=["owner@example.test"],
        state=DeliveryState.FAILED,
        attempts=6,
        last_error="SMTPServerDisconnected: Connection unexpectedly closed",
    )


@pytest.fixture
def reports(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    branding = Branding.load()
    branding.logo.save("logo.png", ContentFile(png_logo()), save=True)  # the snapshots name it
    for tenant in (world.tenant_a, world.tenant_b):
        failed_delivery(schedule_of(tenant))
    return {"a": ready_report(world.tenant_a), "b": ready_report(world.tenant_b)}


def report_a(w):
    return {"tenant_slug": w.tenant_a.slug, "pk": Report.objects.get(tenant=w.tenant_a).pk}


def schedule_a(w):
    return {"tenant_slug": w.tenant_a.slug, "pk": ReportSchedule.objects.get(tenant=w.tenant_a).pk}


def delivery_a(w):
    return {"tenant_slug": w.tenant_a.slug, "pk": ReportDelivery.objects.get(tenant=w.tenant_a).pk}


def link_a(w):
    return {"token": links.make_token(Report.objects.get(tenant=w.tenant_a))}


NONE = lambda w: {}  # noqa: E731
NEW_REPORT = lambda w: {"kind": "monthly", "month": "2026-10"}  # noqa: E731
SCHEDULE = lambda w: {  # noqa: E731
    "kind": "executive",
    "cadence": "weekly",
    "weekday": "0",
    "time_of_day": "08:00",
    "include_client_owners": "on",
    "extra_recipients": "cfo@alpha.example",
    "enabled": "on",
}
BRANDING = lambda w: {"name": "Northwind IT", "primary_colour": "#123a5e", "accent_colour": "#d9822b"}  # noqa: E731

ROUTES = [
    Route("report_list", capability="report.view"),
    Route("report_create", capability="report.manage"),
    Route("report_create", "post", capability="report.manage", data=NEW_REPORT),
    Route("report_preview", kwargs=report_a, capability="report.view"),
    Route("report_logo", kwargs=report_a, capability="report.view"),
    # Signed in, a link is honoured only inside the tenant (signed out, the link alone suffices).
    Route("report_download", kwargs=link_a, capability="report.view"),
    Route("report_findings_csv", capability="finding.view"),
    Route("report_jobs_csv", capability="deployment.view"),
    Route("report_schedule_list", capability="report.manage"),
    Route("report_schedule_create", capability="report.manage"),
    Route("report_schedule_create", "post", capability="report.manage", data=SCHEDULE),
    Route("report_schedule_edit", kwargs=schedule_a, capability="report.manage"),
    Route("report_schedule_edit", "post", kwargs=schedule_a, capability="report.manage", data=SCHEDULE),
    Route("report_schedule_delete", kwargs=schedule_a, capability="report.manage"),
    Route("report_schedule_delete", "post", kwargs=schedule_a, capability="report.manage"),
    Route("report_delivery_list", capability="report.manage"),
    Route("report_delivery_retry", "post", kwargs=delivery_a, capability="report.manage"),
    Route("branding_edit", kwargs=NONE, admin=True),
    Route("branding_edit", "post", kwargs=NONE, admin=True, data=BRANDING),
]


@pytest.mark.parametrize("persona", list(PERSONAS))
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_access(client, world, reports, route, persona):
    check_route(client, world, route, persona)
