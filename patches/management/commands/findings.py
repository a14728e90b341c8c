"""Print a tenant's findings, one row per finding, as JSON or CSV (for scripts and PSA tools)."""

from __future__ import annotations

import csv
import json

from django.core.management.base import BaseCommand, CommandError

from patches.models import Finding
from portal.db_scope import system_scope, tenant_scope
from tenants.models import Tenant

FIELDS = [
    "advisory_id",
    "cves",
    "package",
    "source_package",
    "installed_version",
    "fixed_version",
    "kev",
    "epss",
    "cvss",
    "score",
    "label",
    "state",
]


def row(finding: Finding) -> dict:
    return {
        "advisory_id": finding.reference,
        "cves": list(finding.cves),
        "package": finding.package_name,
        "source_package": finding.source_package,
        "installed_version": finding.installed_version,
        "fixed_version": finding.fixed_version,
        "kev": finding.kev,
        "epss": finding.epss,
        "cvss": float(finding.cvss) if finding.cvss is not None else None,
        "score": finding.score,
        "label": finding.label,
        "state": finding.state,
    }


class Command(BaseCommand):
    help = "Print findings of a tenant (optionally one host) as JSON or CSV, riskiest first."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--hostname", help="Only this device.")
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("--all", action="store_true", help="Include fixed findings (default: open and suppressed).")

    def handle(self, *args, **options):
        with system_scope():
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        with tenant_scope([tenant.pk]):
            findings = Finding.objects.in_tenant(tenant).select_related("device")
            if options["hostname"]:
                findings = findings.filter(device__hostname=options["hostname"])
                if not findings.exists() and not tenant.devices.filter(hostname=options["hostname"]).exists():
                    raise CommandError(f"{tenant.name} has no device {options['hostname']!r}.")
            if not options["all"]:
                findings = findings.exclude(state="fixed")
            rows = [row(f) for f in findings.order_by("-score", "reference", "package_name")]
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, indent=2))
            return
        writer = csv.DictWriter(self.stdout, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        for item in rows:
            writer.writerow({**item, "cves": " ".join(item["cves"])})
