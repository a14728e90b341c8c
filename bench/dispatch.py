"""Dispatching a deployment to 10,000 devices of one tenant.

The matching fleet (bench/fleet.py) spreads its 10,000 devices over ten tenants and a
deployment belongs to one tenant, so this benchmark builds its own tenant: 10,000 Debian
devices, each missing three approved patches (findings), one catch-all ring and a weekly
maintenance window. Timed through the functions the portal and the beat task run:
`planning.create_deployment` (the approval resolution for every device included),
`dispatch.schedule_stage` (every job created and batched) and the first `dispatch.release_due`.
"""

from __future__ import annotations

import datetime as dt
import time

from bench import env, results

TENANT = "bench-dispatch"
DEVICES = 10_000
PATCHES = 3
BATCH_SIZE = 250
MAX_CONCURRENT = 2_000


def _build():
    """The tenant, its devices, patches, findings, approvals, ring and window (kept between runs)."""
    from advisories.models import Advisory
    from deployments.models import Deployment, MaintenanceWindow, Ring
    from devices.models import Device
    from patches.approvals import decide
    from patches.models import Approval, Finding, Patch, PatchAdvisory, Scope
    from tenants.models import Tenant

    tenant, _ = Tenant.objects.get_or_create(slug=TENANT, defaults={"name": TENANT, "time_zone": "Europe/Berlin"})
    Deployment.objects.filter(tenant=tenant).delete()  # jobs and stages of earlier runs go with them
    if Device.objects.filter(tenant=tenant).count() != DEVICES:
        Device.objects.filter(tenant=tenant).delete()
        Device.objects.bulk_create(
            (
                Device(
                    tenant=tenant,
                    hostname=f"dispatch-{i:05d}",
                    os_family="linux",
                    os_id="debian",
                    os_version="12",
                    ecosystem="Debian:12",
                    token_hash=f"bench-dispatch-{i:049d}",
                    is_simulated=True,
                )
                for i in range(DEVICES)
            ),
            batch_size=2000,
        )
    patches = []
    for n in range(PATCHES):
        patch, _ = Patch.objects.get_or_create(
            kind="package",
            ecosystem="Debian:12",
            name=f"benchlib{n}",
            version=f"2.{n}-1",
            defaults={"title": f"benchlib{n} 2.{n}-1", "classification": "security", "severity": "high"},
        )
        advisory, _ = Advisory.objects.get_or_create(
            advisory_id=f"BENCH-DISPATCH-{n}", defaults={"kind": "osv", "summary": "bench", "severity": "high"}
        )
        PatchAdvisory.objects.get_or_create(patch=patch, advisory=advisory)
        patches.append((patch, advisory))
    device_ids = list(Device.objects.filter(tenant=tenant).values_list("id", flat=True))
    if Finding.objects.filter(tenant=tenant, state="open").count() != DEVICES * PATCHES:
        Finding.objects.filter(tenant=tenant).delete()
        Finding.objects.bulk_create(
            (
                Finding(
                    tenant=tenant,
                    device_id=device_id,
                    kind="package",
                    advisory=advisory,
                    patch=patch,
                    reference=advisory.advisory_id,
                    package_name=patch.name,
                    source_package=patch.name,
                    installed_version=f"1.{n}-1",
                    fixed_version=patch.version,
                    severity="high",
                    score=50,
                )
                for device_id in device_ids
                for n, (patch, advisory) in enumerate(patches)
            ),
            batch_size=5000,
        )
    now = dt.datetime.now(dt.UTC)
    if not Approval.objects.filter(tenant=tenant, state="approved").exists():
        decide([p for p, _ in patches], action="approve", user=None, now=now, scope=Scope.TENANT, tenant=tenant)
    Ring.objects.get_or_create(tenant=tenant, name="Everyone", defaults={"position": 0, "catch_all": True})
    MaintenanceWindow.objects.get_or_create(
        tenant=tenant,
        name="Every night",
        defaults={"weekdays": list(range(7)), "start_time": dt.time(1, 0), "duration_minutes": 300},
    )
    return tenant, [p for p, _ in patches]


def run() -> None:

    from deployments import dispatch, windows
    from deployments.models import Job
    from deployments.planning import create_deployment
    from portal.db_scope import system_scope
    from tenants.audit import SYSTEM, acting_as

    with system_scope(), acting_as(SYSTEM):
        tenant, patches = _build()
    env.analyze()
    now = dt.datetime.now(dt.UTC)
    with system_scope(), acting_as(SYSTEM):
        started = time.perf_counter()
        plan = create_deployment(
            tenant,
            name="Bench dispatch",
            patches=patches,
            user=None,
            now=now,
            batch_size=BATCH_SIZE,
            max_concurrent=MAX_CONCURRENT,
            batch_interval_minutes=5,
        )
        plan_seconds = time.perf_counter() - started
        # In the same transaction, so that the creation task (enqueued on commit) finds the
        # stage already scheduled and does nothing.
        started = time.perf_counter()
        created = dispatch.schedule_stage(plan.deployment.stages.get(), now=now)
        dispatch_seconds = time.perf_counter() - started
    with system_scope():
        opening = windows.next_opening(tenant, after=now)
        batches = Job.objects.filter(deployment=plan.deployment).values("batch").distinct().count()
    started = time.perf_counter()
    with system_scope():
        released = dispatch.release_due(opening.starts_at)
    release_seconds = time.perf_counter() - started

    rows = [
        ("devices in the deployment", f"{plan.devices:,}", "10,000", results.met(plan.devices, 10_000, True)),
        (
            f"create_deployment ({PATCHES} patches, approvals resolved per device)",
            f"{plan_seconds:.2f} s",
            "—",
            "—",
        ),
        (
            f"schedule_stage: {created:,} jobs created in {batches} batches",
            f"{dispatch_seconds:.2f} s",
            "≤ 10 s",
            results.met(dispatch_seconds, 10, False),
        ),
        (
            "creation and dispatch together",
            f"{plan_seconds + dispatch_seconds:.2f} s",
            "≤ 10 s",
            results.met(plan_seconds + dispatch_seconds, 10, False),
        ),
        (
            f"first release_due ({released:,} jobs queued, max_concurrent {MAX_CONCURRENT:,})",
            f"{release_seconds:.2f} s",
            "—",
            "—",
        ),
    ]
    notes = f"""
Command: `python -m bench dispatch`. One tenant with {DEVICES:,} Debian devices, each missing {PATCHES} approved
patches (open findings), one catch-all ring and a nightly maintenance window; batches of {BATCH_SIZE} every 5
minutes from the window's opening. `schedule_stage` re-resolves the approvals for every device, reads each device's
effective policy (reboot rule, scripts) and writes all jobs and their first log lines with one INSERT ... SELECT.
"""
    results.write_section("dispatch", "Deployment dispatch (issue: rings, windows, deployments)", rows, notes)
