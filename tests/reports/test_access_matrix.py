"""Every report page for every persona: the archive, a new report, the preview, a signed
download, the CSV exports, and the MSP's branding."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile

from reports import links
from reports.models import Report, ReportState
from reports.services import create_report
from tests.access import PERSONAS, Route, check_route
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


@pytest.fixture
def reports(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return {"a": ready_report(world.tenant_a), "b": ready_report(world.tenant_b)}


def report_a(w):
    return {"tenant_slug": w.tenant_a.slug, "pk": Report.objects.get(tenant=w.tenant_a).pk}


def link_a(w):
    return {"token": links.make_token(Report.objects.get(tenant=w.tenant_a))}


NONE = lambda w: {}  # noqa: E731
NEW_REPORT = lambda w: {"kind": "monthly", "month": "2026-10"}  # noqa: E731
BRANDING = lambda w: {"name": "Northwind IT", "primary_colour": "#123a5e", "accent_colour": "#d9822b"}  # noqa: E731

ROUTES = [
    Route("report_list", capability="report.view"),
    Route("report_create", capability="report.manage"),
    Route("report_create", "post", capability="report.manage", data=NEW_REPORT),
    Route("report_preview", kwargs=report_a, capability="report.view"),
    # Signed in, a link is honoured only inside the tenant (signed out, the link alone suffices).
    Route("report_download", kwargs=link_a, capability="report.view"),
    Route("report_findings_csv", capability="finding.view"),
    Route("report_jobs_csv", capability="deployment.view"),
    Route("branding_edit", kwargs=NONE, admin=True),
    Route("branding_edit", "post", kwargs=NONE, admin=True, data=BRANDING),
]


@pytest.mark.parametrize("persona", list(PERSONAS))
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_access(client, world, reports, route, persona):
    check_route(client, world, route, persona)
