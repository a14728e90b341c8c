"""The report archive: who sees which reports, signed download links, asking for a report
(rendered by a real worker), and the MSP's branding page."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from deployments.models import Deployment
from patches.models import Finding
from reports import links
from reports.models import Branding, Report, ReportState
from tenants.models import AuditEntry, Tenant
from tenants.roles import TenantRole
from tests.factories import MembershipFactory, UserFactory
from tests.fixtures.personas import sign_in
from tests.fixtures.worker_process import wait_until
from tests.reports.conftest import png_logo
from tests.reports.helpers import build_world
from tests.reports.test_access_matrix import PDF, ready_report

pytestmark = pytest.mark.django_db

LINK = re.compile(r'href="(/reports/download/[^"]+/)"')


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def reports(world, media):
    return {"a": ready_report(world.tenant_a), "b": ready_report(world.tenant_b)}


def archive(client, tenant):
    return client.get(reverse("report_list", kwargs={"tenant_slug": tenant.slug}))


def download(client, report, **kwargs):
    return client.get(reverse("report_download", kwargs={"token": links.make_token(report, **kwargs)}))


def body(response) -> bytes:
    return b"".join(response.streaming_content)


# ---- who sees what ------------------------------------------------------------------------------


def test_a_viewer_of_tenant_a_sees_only_tenant_a_reports(client, world, reports):
    sign_in(client, world.viewer_a)
    html = archive(client, world.tenant_a).content.decode()
    assert f'id="report-{reports["a"].pk}"' in html and f'id="report-{reports["b"].pk}"' not in html
    assert reports["a"].sha256[:12] in html and "New report" not in html  # viewers do not ask for reports
    assert 'href="/t/alpha/reports/" aria-current="page">Reports</a>' in html
    assert archive(client, world.tenant_b).status_code == 404
    preview_b = {"tenant_slug": world.tenant_a.slug, "pk": reports["b"].pk}  # B's id under A's slug
    assert client.get(reverse("report_preview", kwargs=preview_b)).status_code == 404
    assert download(client, reports["b"]).status_code == 404  # a signed-in outsider, even with a link


def test_the_preview_shows_the_report_html(client, world, reports):
    sign_in(client, world.owner_a)
    response = client.get(reverse("report_preview", kwargs={"tenant_slug": "alpha", "pk": reports["a"].pk}))
    html = response.content.decode()
    assert response.status_code == 200 and "Alpha Dental" in html and "<svg" in html
    assert "'unsafe-inline'" in response["Content-Security-Policy"].split("style-src")[1].split(";")[0]


def test_the_archive_issues_a_link_that_serves_the_pdf_with_its_hash(client, world, reports):
    sign_in(client, world.owner_a)
    [url] = LINK.findall(archive(client, world.tenant_a).content.decode())
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="alpha-executive-2026-10.pdf"'
    pdf = body(response)
    assert pdf == PDF and hashlib.sha256(pdf).hexdigest() == reports["a"].sha256 == response["X-Report-SHA256"]
    assert response["Cache-Control"] == "private, no-store"


def test_a_signed_link_alone_suffices_when_signed_out_and_is_audited(client, reports):
    response = download(client, reports["b"])
    assert response.status_code == 200 and hashlib.sha256(body(response)).hexdigest() == reports["b"].sha256
    entry = AuditEntry.objects.get(action="report_downloaded")
    assert entry.object_id == str(reports["b"].pk) and entry.actor_label == "anonymous"


# ---- refused links ------------------------------------------------------------------------------


def test_an_expired_link_is_refused_with_410(client, reports, settings):
    settings.REPORT_LINK_MAX_AGE = 3600
    issued = time.time() - 3601
    response = download(client, reports["a"], at=issued)
    assert response.status_code == 410 and b"This download link has expired" in response.content
    assert download(client, reports["a"], at=issued + 120).status_code == 200  # still inside the hour


def test_the_default_lifetime_is_seven_days(client, reports):
    assert download(client, reports["a"], at=time.time() - 7 * 86400 + 60).status_code == 200
    assert download(client, reports["a"], at=time.time() - 7 * 86400 - 60).status_code == 410


def test_a_tampered_link_is_refused_with_404(client, reports):
    token = links.make_token(reports["a"])
    value, stamp, signature = token.rsplit(":", 2)
    other = links.make_token(reports["b"]).rsplit(":", 2)[0]
    forged = [
        f"{other}:{stamp}:{signature}",  # B's claim under A's signature
        f"{value}:{stamp}:{'A' if signature[0] != 'A' else 'B'}{signature[1:]}",
        f"{value}:{links.make_token(reports['a'], at=time.time() + 86400).rsplit(':', 2)[1]}:{signature}",
        f"{value}:{stamp}",
        "nonsense",
    ]
    for bad in forged:
        response = client.get(reverse("report_download", kwargs={"token": bad}))
        assert response.status_code == 404 and b"This download link is not valid" in response.content, bad


def test_a_link_from_another_purpose_or_key_is_refused(client, reports, settings):
    from django.core import signing

    foreign = signing.TimestampSigner(salt="something.else").sign_object({"r": reports["a"].pk, "h": "x"})
    assert client.get(reverse("report_download", kwargs={"token": foreign})).status_code == 404
    token = links.make_token(reports["a"])
    settings.SECRET_KEY = "another-installation-" + "k" * 40
    assert client.get(reverse("report_download", kwargs={"token": token})).status_code == 404


def test_a_link_to_a_pdf_that_changed_is_refused(client, reports):
    token = links.make_token(reports["a"])
    Report.objects.filter(pk=reports["a"].pk).update(sha256="0" * 64)
    response = client.get(reverse("report_download", kwargs={"token": token}))
    assert response.status_code == 404 and b"no longer available" in response.content


def test_a_link_of_a_deactivated_client_is_refused(client, world, reports):
    token = links.make_token(reports["a"])
    assert client.get(reverse("report_download", kwargs={"token": token})).status_code == 200
    Tenant.objects.filter(pk=world.tenant_a.pk).update(is_active=False)
    response = client.get(reverse("report_download", kwargs={"token": token}))
    assert response.status_code == 404 and b"The account it belongs to is closed." in response.content


# ---- asking for a report ------------------------------------------------------------------------


def test_the_request_form_checks_kind_and_deployment(client, world, media):
    sign_in(client, world.tech_a)
    url = reverse("report_create", kwargs={"tenant_slug": "alpha"})
    assert client.post(url, {"kind": "deployment"}).status_code == 400
    bravo = Deployment.objects.create(tenant=world.tenant_b, name="Bravo rollout")
    assert client.post(url, {"kind": "deployment", "deployment": bravo.pk}).status_code == 400  # not A's
    assert client.post(url, {"kind": "monthly", "month": "2026-13"}).status_code == 400
    assert not Report.objects.exists()


def test_a_request_creates_the_report_and_renders_it_on_commit(
    client, world, media, django_capture_on_commit_callbacks
):
    sign_in(client, world.tech_a)
    url = reverse("report_create", kwargs={"tenant_slug": "alpha"})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url, {"kind": "monthly", "month": "2026-10"})
    assert response.status_code == 302 and response["Location"] == "/t/alpha/reports/"
    report = Report.objects.get()
    assert (report.kind, str(report.period_start), str(report.period_end)) == ("monthly", "2026-10-01", "2026-10-31")
    assert report.state == ReportState.RENDERING and report.created_by == world.tech_a
    assert len(callbacks) == 1
    entry = AuditEntry.objects.get(action="report_requested")
    assert entry.object_id == str(report.pk) and entry.actor_label == world.tech_a.email


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_staff_request_is_rendered_by_a_real_worker(celery_worker, client, world, media):
    sign_in(client, world.tech_all)
    response = client.post(reverse("report_create", kwargs={"tenant_slug": "alpha"}), {"kind": "executive"})
    assert response.status_code == 302
    report = Report.objects.get(tenant=world.tenant_a)
    wait_until(lambda: Report.objects.get(pk=report.pk).state != ReportState.RENDERING, timeout=60, what="the render")
    report.refresh_from_db()
    assert report.state == ReportState.READY, report.error
    sign_in(client, world.viewer_a)
    [url] = LINK.findall(archive(client, world.tenant_a).content.decode())
    pdf = body(client.get(url))
    assert pdf.startswith(b"%PDF-") and hashlib.sha256(pdf).hexdigest() == report.sha256


# ---- branding -----------------------------------------------------------------------------------


def upload(name, content, content_type):
    return SimpleUploadedFile(name, content, content_type=content_type)


def post_branding(client, **extra):
    data = {
        "name": "Northwind IT",
        "primary_colour": "#123a5e",
        "accent_colour": "#d9822b",
        "contact_line": "+49 30 1234567",
    }
    return client.post(reverse("branding_edit"), {**data, **extra})


def test_an_admin_sets_the_branding_with_a_logo_and_it_is_audited(client, world, media):
    sign_in(client, world.msp_admin)
    page = client.get(reverse("branding_edit"))
    assert page.status_code == 200 and f'href="{reverse("branding_edit")}"' in page.content.decode()  # in the nav
    response = post_branding(client, logo=upload("logo.png", png_logo(), "image/png"))
    assert response.status_code == 302
    branding = Branding.load()
    assert branding.name == "Northwind IT" and branding.logo.name.startswith("branding/logo")
    entry = AuditEntry.objects.get(object_type="reports.branding")
    assert entry.action == "create" and entry.actor_label == world.msp_admin.email
    assert entry.changes["name"] == [None, "Northwind IT"]
    assert post_branding(client, contact_line="help@northwind.example").status_code == 302
    assert Branding.load().logo.name == branding.logo.name  # kept without a new upload
    assert AuditEntry.objects.filter(object_type="reports.branding", action="update").exists()


def test_the_preview_shows_the_logo_its_snapshot_names(client, world, media):
    sign_in(client, world.msp_admin)
    post_branding(client, logo=upload("logo.png", png_logo(), "image/png"))
    report = ready_report(world.tenant_a)  # snapshot taken with the logo set
    kwargs = {"tenant_slug": world.tenant_a.slug, "pk": report.pk}
    sign_in(client, world.viewer_a)
    preview = client.get(reverse("report_preview", kwargs=kwargs)).content.decode()
    assert f'<img src="{reverse("report_logo", kwargs=kwargs)}"' in preview
    logo = client.get(reverse("report_logo", kwargs=kwargs))
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    assert body(logo) == png_logo()


SVG_OK = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'


@pytest.mark.parametrize(
    ("name", "content", "content_type", "error"),
    [
        ("logo.png", b"GIF89a not a png", "image/png", "not a PNG"),
        ("logo.gif", b"GIF89a", "image/gif", "PNG, JPEG or SVG"),
        ("logo.svg", SVG_OK.replace(b"<rect", b"<script>alert(1)</script><rect"), "image/svg+xml", "scripts"),
        ("logo.svg", SVG_OK.replace(b"<rect", b'<rect onload="x()"'), "image/svg+xml", "scripts"),
        ("logo.svg", b"<html>no</html>", "image/svg+xml", "not an SVG"),
    ],
)
def test_bad_logos_are_refused(client, world, media, name, content, content_type, error):
    sign_in(client, world.msp_admin)
    response = post_branding(client, logo=upload(name, content, content_type))
    assert response.status_code == 400 and error in response.content.decode()
    assert not Branding.objects.exists()


def test_a_logo_over_the_size_limit_is_refused_and_svg_and_jpeg_are_taken(client, world, media, settings):
    from PIL import Image

    settings.BRANDING_LOGO_MAX_BYTES = 1024
    sign_in(client, world.msp_admin)
    big = upload("logo.png", png_logo() + b"\0" * 2048, "image/png")
    assert post_branding(client, logo=big).status_code == 400
    assert post_branding(client, logo=upload("logo.svg", SVG_OK, "image/svg+xml")).status_code == 302
    assert Branding.load().logo.name.endswith(".svg")
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, format="JPEG")
    assert post_branding(client, logo=upload("logo.jpg", jpeg.getvalue(), "image/jpeg")).status_code == 302
    assert post_branding(client, remove_logo="on").status_code == 302
    assert not Branding.load().logo


# ---- CSV exports --------------------------------------------------------------------------------


def test_csv_exports_hold_only_the_tenants_rows_and_defuse_formulas(client, media):
    world = build_world()
    Finding.objects.filter(device__hostname="db-01").update(package_name='=HYPERLINK("http://x")')
    user = UserFactory(email="viewer@alpha-reports.test")
    MembershipFactory(tenant=world.tenant_a, user=user, role=TenantRole.CLIENT_VIEWER)
    sign_in(client, user)
    response = client.get(reverse("report_findings_csv", kwargs={"tenant_slug": world.tenant_a.slug}))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="alpha-reports-findings-')
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {r["device"] for r in rows} == {"db-01", "web-01", "app-01", "files-01"}
    kev = next(r for r in rows if r["device"] == "db-01")
    assert kev["package"] == '\'=HYPERLINK("http://x")' and kev["kev"] == "yes"
    assert kev["cves"] == "CVE-2099-9901 CVE-2099-0002"
    jobs = client.get(reverse("report_jobs_csv", kwargs={"tenant_slug": world.tenant_a.slug})).content.decode()
    rows = list(csv.DictReader(io.StringIO(jobs)))
    assert len(rows) == 22 and "bravo-secret-host" not in jobs
    failed = next(r for r in rows if r["device"] == "db-01")
    assert (failed["state"], failed["attempt"], failed["exit_code"]) == ("failed", "3", "100")
    assert client.get(reverse("report_jobs_csv", kwargs={"tenant_slug": world.tenant_b.slug})).status_code == 404
