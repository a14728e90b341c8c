"""CSV exports of a tenant's findings and job results, for clients' own records and audits.

Built in memory inside the request's database scope (row-level security applies; nothing is
read lazily after the scope ends). Cells that a spreadsheet would run as a formula are
prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io

__all__ = ["findings_csv", "jobs_csv", "safe_cell"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# (CSV column, model field) in order.
FINDING_COLUMNS = [
    ("device", "device__hostname"),
    ("reference", "reference"),
    ("package", "package_name"),
    ("installed_version", "installed_version"),
    ("fixed_version", "fixed_version"),
    ("cves", "cves"),
    ("severity", "severity"),
    ("kev", "kev"),
    ("state", "state"),
    ("score", "score"),
    ("label", "label"),
    ("first_seen_at", "first_seen_at"),
    ("fixed_at", "fixed_at"),
]
JOB_COLUMNS = [
    ("deployment", "deployment__name"),
    ("device", "device__hostname"),
    ("kind", "kind"),
    ("state", "state"),
    ("attempt", "attempt"),
    ("exit_code", "exit_code"),
    ("reboot_required", "reboot_required"),
    ("started_at", "started_at"),
    ("finished_at", "finished_at"),
    ("verified_at", "verified_at"),
]


def safe_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        value = " ".join(str(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _write(columns: list[tuple[str, str]], queryset) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column for column, _ in columns])
    for row in queryset.values_list(*(name for _, name in columns)).iterator(chunk_size=2000):
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue()


def findings_csv(tenant) -> str:
    from patches.models import Finding

    findings = Finding.objects.in_tenant(tenant).order_by("device__hostname", "reference", "pk")
    return _write(FINDING_COLUMNS, findings)


def jobs_csv(tenant) -> str:
    from deployments.models import Job

    jobs = Job.objects.in_tenant(tenant).order_by("-deployment_id", "device__hostname", "pk")
    return _write(JOB_COLUMNS, jobs)
