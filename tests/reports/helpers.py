"""A small client world for the report tests: two tenants, a finished deployment, findings,
snapshots, an accepted risk and a silent device. PDFs are read back with poppler's tools."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from advisories.models import Advisory, Cve, KevEntry
from deployments.models import Deployment, DeploymentPatch, Job, JobEvent
from patches.models import ComplianceSnapshot, Finding, Patch, PatchPolicy, RiskException, Scope
from tests.factories import DeviceFactory, TenantFactory, UserFactory

__all__ = ["NOW", "PERIOD", "ReportWorld", "build_world", "pdf_pages", "pdf_text", "pdf_words"]

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
PERIOD = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
KEV_CVE = "CVE-2099-9901"
PLAIN_CVE = "CVE-2099-0002"
LONG_HOST = "build-agent-" + "x" * 70  # no break opportunity: must wrap inside its cell
LONG_PACKAGE = "libreallylongpackagename" + "y" * 60


@dataclass
class ReportWorld:
    tenant_a: object
    tenant_b: object
    deployment: object
    deployment_b: object
    hosts_a: list[str] = field(default_factory=list)
    hosts_b: list[str] = field(default_factory=list)


def _job(tenant, deployment, device, state, patch, *, verified=False, **extra):
    payload = {
        "deployment": deployment.pk,
        "patches": [patch.pk],
        "packages": [
            {
                "patch": patch.pk,
                "name": extra.pop("package", "libssl3"),
                "manager": "apt",
                "version": "3.0.15-1~deb12u1",
                "previous_version": "3.0.13-1~deb12u1",
            }
        ],
    }
    return Job.objects.create(
        tenant=tenant,
        deployment=deployment,
        device=device,
        state=state,
        payload=payload,
        attempt=extra.pop("attempt", 1),
        finished_at=NOW - dt.timedelta(hours=3),
        verified_at=NOW - dt.timedelta(hours=2) if verified else None,
        **extra,
    )


def _finding(device, ref, severity, *, cves=(), kev=False, state="open", seen_days=10, fixed_after_days=None):
    advisory, _ = Advisory.objects.get_or_create(
        advisory_id=ref, defaults={"kind": "osv", "content_hash": ref, "cves": list(cves)}
    )
    first_seen = NOW - dt.timedelta(days=seen_days)
    return Finding.objects.create(
        tenant=device.tenant,
        device=device,
        advisory=advisory,
        reference=ref,
        package_name="openssl",
        installed_version="3.0.13-1~deb12u1",
        fixed_version="3.0.15-1~deb12u1",
        cves=list(cves),
        severity=severity,
        kev=kev,
        state=state,
        score=90 if kev else 40,
        label="act" if kev else "track",
        first_seen_at=first_seen,
        fixed_at=first_seen + dt.timedelta(days=fixed_after_days) if fixed_after_days is not None else None,
    )


def build_world() -> ReportWorld:
    tenant_a = TenantFactory(name="Alpha Dental", slug="alpha-reports", time_zone="Europe/Berlin")
    tenant_b = TenantFactory(name="Bravo Legal", slug="bravo-reports", time_zone="America/New_York")
    owner = UserFactory(email="risk-owner@alpha.test", full_name="Ada Owner")
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=tenant_a, settings={"sla_critical_days": 5})

    Cve.objects.create(cve_id=KEV_CVE, cvss3_score=9.8, cvss3_severity="CRITICAL")
    Cve.objects.create(cve_id=PLAIN_CVE, cvss3_score=7.5, cvss3_severity="HIGH")
    KevEntry.objects.create(cve_id=KEV_CVE, date_added=dt.date(2026, 11, 1), ransomware="Known")
    patch = Patch.objects.create(
        kind="package",
        ecosystem="Debian:12",
        name="openssl",
        version="3.0.15-1~deb12u1",
        severity="critical",
        kev=True,
        cves=[KEV_CVE, PLAIN_CVE],
    )

    seen = NOW - dt.timedelta(hours=1)
    web = DeviceFactory(tenant=tenant_a, hostname="web-01", last_seen_at=seen)
    db = DeviceFactory(tenant=tenant_a, hostname="db-01", last_seen_at=seen)
    app = DeviceFactory(tenant=tenant_a, hostname="app-01", last_seen_at=seen, reboot_required=True)
    files = DeviceFactory(tenant=tenant_a, hostname="files-01", last_seen_at=NOW - dt.timedelta(days=20))
    long_host = DeviceFactory(tenant=tenant_a, hostname=LONG_HOST, last_seen_at=seen)
    fleet = [DeviceFactory(tenant=tenant_a, hostname=f"ws-{n:02d}", last_seen_at=seen) for n in range(18)]

    deployment = Deployment.objects.create(
        tenant=tenant_a,
        name="November OpenSSL",
        state=Deployment.State.COMPLETED,
        started_at=NOW - dt.timedelta(hours=6),
        finished_at=NOW - dt.timedelta(hours=1),
    )
    DeploymentPatch.objects.create(tenant=tenant_a, deployment=deployment, patch=patch)
    web_job = _job(tenant_a, deployment, web, "verified", patch, verified=True)
    JobEvent.objects.create(tenant=tenant_a, job=web_job, state="reboot_pending", message="Rebooting.")
    failed = _job(tenant_a, deployment, db, "failed", patch, attempt=3, exit_code=100)
    JobEvent.objects.create(tenant=tenant_a, job=failed, state="failed", message="E: dpkg was interrupted")
    _job(tenant_a, deployment, app, "succeeded", patch, reboot_required=True)
    _job(tenant_a, deployment, long_host, "verified", patch, verified=True, package=LONG_PACKAGE)
    for device in fleet:
        _job(tenant_a, deployment, device, "verified", patch, verified=True)

    # Findings: one open KEV on the failed host, fixes in the period (one late), one accepted.
    _finding(db, "DSA-9901-1", "critical", cves=[KEV_CVE, PLAIN_CVE], kev=True)
    _finding(web, "DSA-9901-1", "critical", cves=[KEV_CVE], kev=True, state="fixed", seen_days=2, fixed_after_days=1)
    _finding(app, "DSA-9800-1", "critical", cves=["CVE-2099-8000"], state="fixed", seen_days=15, fixed_after_days=9)
    _finding(web, "DSA-9700-1", "high", cves=["CVE-2099-7000"], state="fixed", seen_days=12, fixed_after_days=4)
    accepted = _finding(files, "DSA-9600-1", "medium", cves=["CVE-2099-6000"], state="accepted")
    RiskException.objects.create(
        tenant=tenant_a,
        covers="finding",
        finding=accepted,
        owner=owner,
        reason="Legacy imaging software needs the old library until the vendor ships an update.",
        expires_on=dt.date(2027, 1, 31),
    )
    for days_ago, compliant in ((60, 10), (30, 15), (1, 20)):
        ComplianceSnapshot.objects.create(
            tenant=tenant_a,
            day=NOW.date() - dt.timedelta(days=days_ago),
            devices=23,
            devices_compliant=compliant,
            open_critical=23 - compliant,
            open_kev=1,
        )

    # Tenant B: a secret host, its own KEV finding and deployment; none of it may appear for A.
    secret = DeviceFactory(tenant=tenant_b, hostname="bravo-secret-host", last_seen_at=NOW - dt.timedelta(days=30))
    _finding(secret, "DSA-7777-1", "critical", cves=["CVE-2099-7777"], kev=True)
    deployment_b = Deployment.objects.create(tenant=tenant_b, name="Bravo rollout", state=Deployment.State.COMPLETED)
    DeploymentPatch.objects.create(tenant=tenant_b, deployment=deployment_b, patch=patch)
    _job(tenant_b, deployment_b, secret, "verified", patch, verified=True)
    return ReportWorld(
        tenant_a,
        tenant_b,
        deployment,
        deployment_b,
        hosts_a=["web-01", "db-01", "app-01", *[d.hostname for d in fleet]],
        hosts_b=["bravo-secret-host"],
    )


# --- reading PDFs back ------------------------------------------------------------------------


def _write(pdf: bytes, tmp: Path) -> Path:
    path = tmp / "report.pdf"
    path.write_bytes(pdf)
    return path


def pdf_text(pdf: bytes, tmp: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(_write(pdf, tmp)), "-"], check=True, capture_output=True, text=True
    ).stdout


def pdf_pages(pdf: bytes, tmp: Path) -> list[str]:
    """The text of each page (pdftotext separates pages with form feeds)."""
    return [page for page in pdf_text(pdf, tmp).split("\f") if page.strip()]


WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)


def pdf_words(pdf: bytes, tmp: Path) -> list[tuple[float, float, list[tuple[float, float, float, float, str]]]]:
    """Per page: (width, height, [(xMin, yMin, xMax, yMax, word)]), from `pdftotext -bbox-layout`."""
    xhtml = subprocess.run(
        ["pdftotext", "-bbox-layout", str(_write(pdf, tmp)), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = []
    for width, height, body in PAGE.findall(xhtml):
        words = [(float(a), float(b), float(c), float(d), text) for a, b, c, d, text in WORD.findall(body)]
        pages.append((float(width), float(height), words))
    return pages
