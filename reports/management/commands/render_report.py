"""Render a report for a tenant now, store it in the archive and write the PDF to a file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from portal.db_scope import system_scope, tenant_scope
from reports.models import ReportKind, ReportState
from reports.services import ReportError, create_report, render_safely
from reports.snapshots.monthly import month_of
from tenants.models import Tenant


def _month(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(f"{value}-01")
    except ValueError as error:
        raise CommandError(f"--month must look like 2026-10, not {value!r}") from error


class Command(BaseCommand):
    help = "Render a monthly, deployment or executive report for a tenant and write the PDF to a file."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--kind", required=True, choices=ReportKind.values)
        parser.add_argument("--deployment", type=int, help="Deployment id (for --kind deployment).")
        parser.add_argument("--month", help="YYYY-MM (monthly, executive); default: the last complete month.")
        parser.add_argument("--out", required=True, help="Where to write the PDF.")

    def handle(self, *args, **options):
        with system_scope():
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        if options["kind"] == ReportKind.DEPLOYMENT and options["deployment"] is None:
            raise CommandError("--kind deployment needs --deployment ID.")
        period = {}
        if options["kind"] == ReportKind.DEPLOYMENT:
            period["deployment_id"] = options["deployment"]
        elif options["month"]:
            period["start"], period["end"] = month_of(_month(options["month"]))
        with tenant_scope([tenant.pk]):
            try:
                report = create_report(tenant, options["kind"], now=timezone.now(), **period)
            except ReportError as error:
                raise CommandError(str(error)) from error
            render_safely(report)
            if report.state != ReportState.READY:
                raise CommandError(f"Rendering failed: {report.error}")
            report.pdf.open("rb")
            try:
                pdf = report.pdf.read()
            finally:
                report.pdf.close()
        out = Path(options["out"])
        out.write_bytes(pdf)
        self.stdout.write(f"Report {report.pk}: {out} ({len(pdf)} bytes, sha256 {report.sha256})")
