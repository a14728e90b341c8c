"""`manage.py render_report` and the Celery task that renders a report."""

from __future__ import annotations

import subprocess

import pytest
from django.core.management import CommandError, call_command

from portal.db_scope import tenant_scope
from reports.models import Report, ReportState
from reports.services import create_report
from reports.tasks import render_report
from tests.fixtures.worker_process import wait_until
from tests.reports.helpers import NOW, build_world


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.mark.django_db
def test_render_report_writes_a_deployment_pdf(media, tmp_path):
    world = build_world()
    out = tmp_path / "deployment.pdf"
    call_command(
        "render_report", "--tenant", "alpha-reports", "--kind", "deployment", "--deployment", str(world.deployment.pk),
        "--out", str(out),
    )  # fmt: skip
    text = subprocess.run(["pdftotext", str(out), "-"], check=True, capture_output=True, text=True).stdout
    assert "web-01" in text and "CVE-2099-9901" in text and "Page 1 of" in text
    report = Report.objects.get(tenant=world.tenant_a, kind="deployment")
    assert report.state == ReportState.READY and report.deployment_id == world.deployment.pk
    with report.pdf.open("rb") as stored:
        assert stored.read() == out.read_bytes()


@pytest.mark.django_db
def test_render_report_refuses_what_does_not_exist(media, tmp_path):
    world = build_world()
    out = str(tmp_path / "x.pdf")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("render_report", "--tenant", "nobody", "--kind", "monthly", "--out", out)
    with pytest.raises(CommandError, match="needs --deployment"):
        call_command("render_report", "--tenant", "alpha-reports", "--kind", "deployment", "--out", out)
    with pytest.raises(CommandError, match="has no deployment"):  # tenant B's deployment, asked for as A
        call_command(
            "render_report", "--tenant", "alpha-reports", "--kind", "deployment",
            "--deployment", str(world.deployment_b.pk), "--out", out,
        )  # fmt: skip
    assert not (tmp_path / "x.pdf").exists()


def test_the_celery_task_renders_a_report_in_a_real_worker(media, celery_worker):
    world = build_world()
    with tenant_scope([world.tenant_a.pk]):
        report = create_report(world.tenant_a, "executive", now=NOW)
    render_report.delay(report.pk, tenant_id=world.tenant_a.pk)
    wait_until(lambda: Report.objects.get(pk=report.pk).state != ReportState.RENDERING, timeout=30)
    report.refresh_from_db()
    assert report.state == ReportState.READY, report.error
    assert len(report.sha256) == 64
    with report.pdf.open("rb") as stored:
        assert stored.read().startswith(b"%PDF-")
