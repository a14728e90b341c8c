"""The monthly client report for a tenant with 500 devices and 5,000 open findings.

The tenant is built here (each tenant of the matching fleet has 1,000 devices and some 63,000
findings, not the shape the issue asks for): 500 Debian devices, 5,000 open findings over real Debian package names, the
findings fixed last month (time to patch and SLA), install jobs verified last month, accepted
risks, devices gone silent, a patch policy with a stricter group, and 180 days of daily
compliance snapshots per device and per tenant (today's taken by patches.compliance).

Timed through the functions the product runs: `reports.services.create_report` (the snapshot,
stored as the report's row) and `reports.services.render_safely` (template, WeasyPrint, the PDF
stored), as `manage.py render_report --kind monthly` and the Celery task do. WeasyPrint alone
renders the same HTML with the same fetcher, base URL and options, so the ratio shows what the
product adds around it. The tenant's data is removed again at the end, so the other benchmarks
(the matching benchmark's full recompute, say) never see it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import random
import statistics
import subprocess
import time

from bench import env, results

TENANT = "bench-reports"
DEVICES = 500
OPEN_PER_DEVICE = 10  # 5,000 open findings
FIXED_PER_DEVICE = 3  # fixed last month: time to patch and SLA attainment
ADVISORIES = 400
STALE_DEVICES = 25
NEVER_SEEN = 5
UPDATES = 80  # distinct package updates installed last month
HISTORY_DAYS = 180
RUNS = 7
SEVERITY_WEIGHTS = {"critical": 5, "high": 25, "medium": 45, "low": 20, "": 5}
TOTAL_TARGET = 10.0
RATIO_TARGET = 1.5


def _clear(tenant) -> None:
    """Remove the tenant's data (and the bench advisories), so no other benchmark sees it."""
    from advisories.models import Advisory
    from deployments.models import Deployment, Job
    from devices.models import Device, DeviceGroup
    from patches.models import ComplianceSnapshot, Finding, PatchPolicy, RiskException
    from reports.models import Report

    for report in Report.objects.filter(tenant=tenant):
        if report.pdf:
            report.pdf.delete(save=False)
    Report.objects.filter(tenant=tenant).delete()
    RiskException.objects.filter(tenant=tenant).delete()
    Job.objects.filter(tenant=tenant).delete()
    Deployment.objects.filter(tenant=tenant).delete()
    ComplianceSnapshot.objects.filter(tenant=tenant)._raw_delete("default")
    Finding.objects.filter(tenant=tenant)._raw_delete("default")
    PatchPolicy.objects.filter(tenant=tenant).delete()
    DeviceGroup.objects.filter(tenant=tenant).delete()
    Device.objects.filter(tenant=tenant).delete()
    Advisory.objects.filter(advisory_id__startswith="BENCH-DSA-").delete()


def _advisories(rng: random.Random) -> list[dict]:
    """Bench advisories over real Debian package names and versions (BENCH-: other benches drop them)."""
    from advisories.models import Advisory
    from devices.simulator.profiles import debian_universe

    secured = [p for p in debian_universe() if p.security_version]
    packages = rng.sample(secured, min(ADVISORIES, len(secured)))
    severities, weights = zip(*SEVERITY_WEIGHTS.items(), strict=True)
    specs = []
    for n, package in enumerate(packages):
        cves = [f"CVE-2026-{rng.randint(10000, 59999)}" for _ in range(rng.choice([1, 1, 2, 3, 5, 8]))]
        specs.append(
            {
                "advisory_id": f"BENCH-DSA-{9000 + n}-1",
                "package": package,
                "cves": cves,
                "severity": rng.choices(severities, weights)[0],
                "kev": rng.random() < 0.03,
            }
        )
    created = Advisory.objects.bulk_create(
        Advisory(
            advisory_id=s["advisory_id"],
            kind="osv",
            summary=f"{s['package'].source}: security update",
            cves=s["cves"],
            severity=s["severity"],
            content_hash=s["advisory_id"],
        )
        for s in specs
    )
    for spec, advisory in zip(specs, created, strict=True):
        spec["advisory"] = advisory
    return specs


def _finding(tenant, device_id, spec, rng, now, **fields):
    from patches.models import Finding

    severity, kev = spec["severity"], spec["kev"]
    base = {"critical": 80, "high": 60, "medium": 40, "low": 20, "": 10}[severity]
    score = min(100.0, base + (15 if kev else 0) + rng.random() * 10)
    package = spec["package"]
    return Finding(
        tenant=tenant,
        device_id=device_id,
        advisory=spec["advisory"],
        reference=spec["advisory_id"],
        package_name=package.name,
        source_package=package.source,
        installed_version=package.version,
        fixed_version=package.security_version,
        cves=spec["cves"],
        severity=severity,
        kev=kev,
        kev_due=(now - dt.timedelta(days=rng.randint(-20, 20))).date() if kev else None,
        score=round(score, 1),
        label="act" if kev else ("attend" if severity in ("critical", "high") else "track"),
        **fields,
    )


def _build(now: dt.datetime):
    """The tenant and everything its monthly report reads; rebuilt on every run (dates follow now)."""
    from django.db import connection

    from deployments.models import Deployment, Job
    from devices.models import Device, DeviceGroup, DeviceGroupMember
    from patches.compliance import take_snapshots
    from patches.models import Finding, PatchPolicy, RiskException, Scope
    from reports.services import default_period
    from reports.snapshots.common import day_bounds
    from tenants.models import Tenant, User

    rng = random.Random(11)
    tenant, _ = Tenant.objects.get_or_create(
        slug=TENANT, defaults={"name": "Bench Reports Dental Group", "time_zone": "Europe/Berlin"}
    )
    _clear(tenant)
    start, end = default_period(tenant, now)
    since, until = day_bounds(start, end, tenant)
    period_seconds = (until - since).total_seconds()

    def in_period() -> dt.datetime:
        return since + dt.timedelta(seconds=rng.random() * period_seconds)

    devices = []
    for i in range(DEVICES):
        if i < NEVER_SEEN:
            seen = None
        elif i < NEVER_SEEN + STALE_DEVICES:
            seen = now - dt.timedelta(days=rng.randint(8, 60), minutes=rng.randint(0, 1440))
        else:
            seen = now - dt.timedelta(minutes=rng.randint(1, 60))
        devices.append(
            Device(
                tenant=tenant,
                hostname=f"{rng.choice(['ws', 'ws', 'ws', 'lt', 'srv', 'db'])}-{i:04d}.clinic.example",
                os_family="linux",
                os_id="debian",
                os_version="12",
                ecosystem="Debian:12",
                token_hash=f"bench-reports-{i:050d}",
                criticality=rng.choice(["low", "normal", "normal", "high", "critical"]),
                is_simulated=True,
                last_seen_at=seen,
            )
        )
    devices = Device.objects.bulk_create(devices)
    device_ids = [d.pk for d in devices]

    # Policy: the tenant's SLA, and a stricter one for the servers (so SLA days vary by device).
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=tenant, settings={"sla_critical_days": 7})
    servers = DeviceGroup.objects.create(tenant=tenant, name="Servers")
    DeviceGroupMember.objects.bulk_create(
        DeviceGroupMember(tenant=tenant, group=servers, device=d) for d in devices if d.hostname.startswith("srv")
    )
    PatchPolicy.objects.create(
        scope=Scope.GROUP, tenant=tenant, group=servers, settings={"sla_critical_days": 3, "sla_high_days": 7}
    )

    specs = _advisories(rng)
    findings = []
    for device_id in device_ids:
        chosen = rng.sample(specs, OPEN_PER_DEVICE + FIXED_PER_DEVICE)
        for spec in chosen[:OPEN_PER_DEVICE]:
            first_seen = now - dt.timedelta(days=rng.randint(0, 120), hours=rng.randint(0, 23))
            findings.append(_finding(tenant, device_id, spec, rng, now, first_seen_at=first_seen))
        for spec in chosen[OPEN_PER_DEVICE:]:
            fixed_at = in_period()
            first_seen = fixed_at - dt.timedelta(days=rng.choice([1, 2, 3, 5, 8, 13, 21, 40]), hours=rng.randint(0, 23))
            findings.append(
                _finding(tenant, device_id, spec, rng, now, state="fixed", first_seen_at=first_seen, fixed_at=fixed_at)
            )
    created = Finding.objects.bulk_create(findings, batch_size=2000)
    open_findings = [f for f in created if f.state == "open"]

    # Accepted risks: single findings, whole devices and one advisory everywhere.
    owner, _ = User.objects.get_or_create(
        email="risk-owner@bench-reports.test", defaults={"full_name": "Dr. Rita Owner"}
    )
    exceptions = []
    for finding in rng.sample(open_findings, 12):
        finding.state = "accepted"
        exceptions.append(
            RiskException(
                tenant=tenant,
                covers="finding",
                finding=finding,
                owner=owner,
                reason="The imaging software vendor certifies only this library version; isolated VLAN.",
                expires_on=(now + dt.timedelta(days=rng.randint(10, 180))).date(),
            )
        )
    for device_id in rng.sample(device_ids[NEVER_SEEN + STALE_DEVICES :], 3):
        for finding in open_findings:
            if finding.device_id == device_id:
                finding.state = "accepted"
        exceptions.append(
            RiskException(
                tenant=tenant,
                covers="device",
                device_id=device_id,
                owner=owner,
                reason="Lab analyser controlled by the manufacturer; replaced in the next budget year.",
                expires_on=(now + dt.timedelta(days=rng.randint(30, 300))).date(),
            )
        )
    accepted_spec = next(s for s in specs if s["severity"] == "low")
    for finding in open_findings:
        if finding.reference == accepted_spec["advisory_id"]:
            finding.state = "accepted"
    exceptions.append(
        RiskException(
            tenant=tenant,
            covers="advisory",
            advisory=accepted_spec["advisory"],
            owner=owner,
            reason="Local-only issue in a component that is not used on any client machine.",
            expires_on=(now + dt.timedelta(days=90)).date(),
        )
    )
    Finding.objects.bulk_update([f for f in open_findings if f.state == "accepted"], ["state"], batch_size=2000)
    RiskException.objects.bulk_create(exceptions)
    # Top the open findings up to the 5,000 the report is about (the accepted ones left the count).
    missing = DEVICES * OPEN_PER_DEVICE - Finding.objects.filter(tenant=tenant, state="open").count()
    taken = {(f.device_id, f.reference) for f in created}
    extra = []
    while len(extra) < missing:
        device_id, spec = rng.choice(device_ids), rng.choice(specs)
        if (device_id, spec["advisory_id"]) not in taken:
            taken.add((device_id, spec["advisory_id"]))
            first_seen = now - dt.timedelta(days=rng.randint(0, 120))
            extra.append(_finding(tenant, device_id, spec, rng, now, first_seen_at=first_seen))
    Finding.objects.bulk_create(extra)

    # Install jobs verified last month, in three deployments: what the fixes came from.
    updates = rng.sample([s for s in specs if s["package"].security_version], UPDATES)
    for name, share in (("Patch Tuesday", 0.9), ("Mid-month security", 0.6), ("Emergency: OpenSSL", 0.3)):
        deployment = Deployment.objects.create(
            tenant=tenant, name=name, state=Deployment.State.COMPLETED, started_at=since, finished_at=until
        )
        jobs = []
        for device_id in device_ids[NEVER_SEEN + STALE_DEVICES :]:
            if rng.random() > share:
                continue
            packages = rng.sample(updates, rng.randint(3, 12))
            verified = rng.random() < 0.95
            jobs.append(
                Job(
                    tenant=tenant,
                    deployment=deployment,
                    device_id=device_id,
                    state="verified" if verified else "failed",
                    attempt=1,
                    payload={
                        "deployment": deployment.pk,
                        "patches": [],
                        "packages": [
                            {
                                "name": s["package"].name,
                                "manager": "apt",
                                "version": s["package"].security_version,
                                "previous_version": s["package"].version,
                            }
                            for s in packages
                        ],
                    },
                    finished_at=(done := in_period()),
                    verified_at=done + dt.timedelta(minutes=20) if verified else None,
                )
            )
        Job.objects.bulk_create(jobs, batch_size=2000)

    # Daily compliance history: device rows for the last 180 days (improving over time), tenant
    # rows summed from them, today's both taken by patches.compliance as the beat task does.
    today = now.astimezone(dt.UTC).date()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO patches_compliancesnapshot (tenant_id, device_id, day, devices, devices_compliant,
                open_critical, open_high, open_medium, open_low, open_unknown, open_kev, overdue,
                fixed_within_sla, fixed_late)
            SELECT %(tenant)s, d.id, %(today)s::date - n, 1, c.compliant, 1 - c.compliant,
                   1 + (h %% 4), 3 + (h %% 5), 1 + (h %% 3), h %% 2, (1 - c.compliant) * (h %% 2), h %% 13,
                   (h %% 2), (h %% 5) / 4
            FROM unnest(%(devices)s::bigint[]) AS d(id)
            CROSS JOIN generate_series(1, %(days)s) AS s(n)
            CROSS JOIN LATERAL (SELECT abs(hashint8(d.id * 1000 + n)) AS h) AS hh
            CROSS JOIN LATERAL (
                SELECT CASE WHEN (h %% 1000) < 460 - n THEN 1 ELSE 0 END AS compliant
            ) AS c
            """,
            {"tenant": tenant.pk, "today": today, "devices": device_ids, "days": HISTORY_DAYS},
        )
        cursor.execute(
            """
            INSERT INTO patches_compliancesnapshot (tenant_id, device_id, day, devices, devices_compliant,
                open_critical, open_high, open_medium, open_low, open_unknown, open_kev, overdue,
                fixed_within_sla, fixed_late)
            SELECT tenant_id, NULL, day, sum(devices), sum(devices_compliant), sum(open_critical), sum(open_high),
                   sum(open_medium), sum(open_low), sum(open_unknown), sum(open_kev), sum(overdue),
                   sum(fixed_within_sla), sum(fixed_late)
            FROM patches_compliancesnapshot WHERE tenant_id = %s AND device_id IS NOT NULL
            GROUP BY tenant_id, day
            """,
            [tenant.pk],
        )
    take_snapshots(today, now, [tenant.pk])
    env.analyze()
    return tenant


@contextlib.contextmanager
def _timed(module, name: str, into: list[float]):
    """Time each call of module.name while inside (the product calls it through the module)."""
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - started)

    setattr(module, name, wrapper)
    try:
        yield
    finally:
        setattr(module, name, original)


def _pipeline(tenant, now) -> dict:
    """One monthly report as `manage.py render_report --kind monthly` makes it."""
    from portal.db_scope import tenant_scope
    from reports import rendering
    from reports.models import ReportState
    from reports.services import create_report, render_safely

    html_times, pdf_times = [], []
    gc.collect()  # each measured call starts without the previous one's garbage
    with tenant_scope([tenant.pk]), _timed(rendering, "render_html", html_times):
        with _timed(rendering, "render_pdf", pdf_times):
            started, cpu = time.perf_counter(), time.process_time()
            report = create_report(tenant, "monthly", now=now)
            created = time.perf_counter()
            render_safely(report)
            finished, cpu = time.perf_counter(), time.process_time() - cpu
        if report.state != ReportState.READY:
            raise RuntimeError(f"the report failed: {report.error}")
        with report.pdf.open("rb") as handle:
            pdf = handle.read()
    html_seconds, render_seconds = html_times[0], pdf_times[0]
    return {
        "total": finished - started,
        "cpu": cpu,
        "snapshot": created - started,
        "html": html_seconds,
        "pdf": render_seconds - html_seconds,
        "store": (finished - created) - render_seconds,
        "pdf_bytes": pdf,
        "data": report.data,
    }


def _weasyprint_alone(html: str) -> tuple[float, float]:
    """(wall, CPU) seconds of WeasyPrint on its own, called as reports.rendering.render_pdf calls it."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import path2url

    from reports.rendering import LocalFetcher, _static_dir

    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    HTML(string=html, base_url=path2url(str(_static_dir())) + "/", url_fetcher=LocalFetcher()).write_pdf(
        font_config=FontConfiguration(), pdf_identifier=False, uncompressed_pdf=False
    )
    return time.perf_counter() - started, time.process_time() - cpu


def _pages(pdf: bytes) -> int:
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def run() -> None:
    from django.utils import timezone

    from portal.db_scope import system_scope
    from reports.rendering import render_html
    from tenants.audit import SYSTEM, acting_as

    now = timezone.now()
    started = time.monotonic()
    with system_scope(), acting_as(SYSTEM):
        tenant = _build(now)
    build_seconds = time.monotonic() - started

    cold = _pipeline(tenant, now)  # the first report in a fresh process: fonts and templates loaded
    html = render_html(cold["data"], for_pdf=True)
    _weasyprint_alone(html)
    runs, alone = [], []
    for _ in range(RUNS):  # interleaved, so both see the same machine
        runs.append(_pipeline(tenant, now))
        alone.append(_weasyprint_alone(html))
    keys = ("total", "cpu", "snapshot", "html", "pdf", "store")
    median = {key: statistics.median(r[key] for r in runs) for key in keys}
    weasy = statistics.median(wall for wall, _ in alone)
    weasy_cpu = statistics.median(cpu for _, cpu in alone)
    ratio = median["total"] / weasy
    own_ratio = statistics.median(r["total"] / r["pdf"] for r in runs)
    pdf = runs[-1]["pdf_bytes"]
    pages = _pages(pdf)
    data = runs[-1]["data"]
    compliance = data["compliance"]
    with system_scope(), acting_as(SYSTEM):
        _clear(tenant)

    def seconds(values) -> str:
        return ", ".join(f"{v:.2f}" for v in values)

    rows = [
        (
            "devices (open findings)",
            f"{compliance['devices']:,} ({compliance['open_total']:,})",
            "500 (5,000)",
            "yes" if (compliance["devices"], compliance["open_total"]) == (DEVICES, 5_000) else "**no**",
        ),
        (
            f"monthly report, snapshot to stored PDF (median of {RUNS})",
            f"{median['total']:.2f} s",
            f"≤ {TOTAL_TARGET:g} s",
            results.met(median["total"], TOTAL_TARGET, False),
        ),
        ("WeasyPrint alone on the same HTML (median)", f"{weasy:.2f} s", "", ""),
        (
            "report / WeasyPrint alone",
            f"{ratio:.2f}",
            f"≤ {RATIO_TARGET:g}",
            results.met(ratio, RATIO_TARGET, False),
        ),
        (
            "split: snapshot (queries, stored row) / HTML / PDF / storing",
            f"{median['snapshot']:.2f} / {median['html']:.2f} / {median['pdf']:.2f} / {median['store']:.2f} s",
            "",
            "",
        ),
        (
            "each report run / its own WeasyPrint step (median): the overhead without cross-run noise",
            f"{own_ratio:.2f}",
            "",
            "",
        ),
        (
            "CPU time of this process: report / WeasyPrint alone (median)",
            f"{median['cpu']:.2f} s / {weasy_cpu:.2f} s = {median['cpu'] / weasy_cpu:.2f}",
            "",
            "",
        ),
        ("pages, PDF size", f"{pages}, {len(pdf) / 1024:.0f} KiB", "", ""),
        ("first report in a fresh process (cold)", f"{cold['total']:.2f} s", "", ""),
    ]
    notes = f"""
Command: `make bench BENCH_ARGS=reports` (or `.venv/bin/python -m bench reports`). Tenant `{TENANT}`
built in {build_seconds:.0f} s: {DEVICES} Debian devices ({STALE_DEVICES} silent for 8-60 days, {NEVER_SEEN} never
seen), {compliance["open_total"]:,} open findings over {ADVISORIES} advisories on real Debian package names
({compliance["open_kev"]} KEV, {compliance["overdue"]:,} past their SLA), {data["sla"]["fixed"]:,} fixed last month,
{data["accepted"]["findings"]} accepted under {len(data["accepted"]["exceptions"])} risk exceptions,
{data["installed"]["jobs"]:,} install jobs verified last month ({len(data["installed"]["updates"])} distinct
updates), a tenant policy and a stricter server group, {HISTORY_DAYS} days of daily compliance
snapshots per device and per tenant. The report lists the top {len(data["top_findings"])} findings.

Timed: `reports.services.create_report` (snapshot built and stored) then `render_safely` (template,
WeasyPrint with `LocalFetcher`, PDF and SHA-256 stored), in the tenant's scope, as
`manage.py render_report --kind monthly` does; HTML and PDF are timed inside that call.
WeasyPrint alone: `HTML(string=html, base_url=static, url_fetcher=LocalFetcher()).write_pdf(...)`
with the same options, interleaved with the report runs. Reports: {seconds(r["total"] for r in runs)} s;
WeasyPrint alone: {seconds(wall for wall, _ in alone)} s. The machine is shared (2 cores) and wall
times vary with its load; the CPU times (this process only, PostgreSQL's share of the snapshot
excluded) vary less.
"""
    results.write_section("reports", "Client reports (issue: client reports)", rows, notes)
    print(
        f"    report {median['total']:.2f} s, WeasyPrint alone {weasy:.2f} s, ratio {ratio:.2f}, "
        f"{pages} pages, split {median}",
        flush=True,
    )
