"""Auto-approval over the matching benchmark's fleet: 10,000 devices and their findings.

Policies as an MSP would set them: a global rule (security updates of high severity and
above), tenants that defer, one that requires the client's sign-off, a group per tenant
with its own rule, and devices that opt out. Timed through patches.auto_approval, the
same function the beat task and the post-matching task run.
"""

from __future__ import annotations

import time

from bench import env, fleet, results

TENANTS = [f"bench-match-{i}" for i in range(fleet.TENANTS)]
GROUP_SIZE = 100
OPTED_OUT_PER_TENANT = 5


def _ensure_findings() -> None:
    """The matching benchmark leaves its findings in place; build them when run on its own."""
    from django.db import connection

    from advisories.ingest import ingest
    from advisories.models import Advisory
    from bench.matching import DSA_FOLDER, _fixes_by_source
    from patches.matching import engine
    from patches.models import Finding
    from portal.db_scope import system_scope

    with system_scope():
        # The matching benchmark's generated advisories are not part of this fleet's picture.
        Advisory.objects.filter(advisory_id__startswith="BENCH-").delete()
        if Finding.objects.filter(tenant__slug__in=TENANTS, patch__isnull=False).exists():
            return
    ingest("osv", str(DSA_FOLDER))
    with system_scope():
        fleet.build(TENANTS, _fixes_by_source())
        with connection.cursor() as cursor:  # evaluate again, so the catalogue is built
            cursor.execute("DELETE FROM patches_packagematch")
            cursor.execute("DELETE FROM patches_evaluatedpackage")
    fleet.vacuum()
    with system_scope():
        engine.match_everything()
    fleet.vacuum()


def _policies() -> dict:
    from devices.models import Device, DeviceGroup, DeviceGroupMember
    from patches.models import Approval, PatchPolicy, Scope
    from tenants.models import Tenant

    Approval.objects.all().delete()
    PatchPolicy.objects.all().delete()
    DeviceGroup.objects.filter(name="Bench servers").delete()
    # The DSAs carry no severity and the bench loads no NVD data, so the global rule takes every
    # security update: the most approvals for the write step to make.
    PatchPolicy.objects.create(scope=Scope.GLOBAL, settings={"auto_approve": [{"classifications": ["security"]}]})
    counts = {"tenant": 0, "group": 0, "device": 0}
    for index, tenant in enumerate(Tenant.objects.filter(slug__in=TENANTS).order_by("slug")):
        settings = {"deferral_days": 3} if index % 2 else {}
        if index == 0:
            settings["requires_client_approval"] = True
        if settings:
            PatchPolicy.objects.create(scope=Scope.TENANT, tenant=tenant, settings=settings)
            counts["tenant"] += 1
        devices = list(Device.objects.filter(tenant=tenant).order_by("id").values_list("id", flat=True))
        group = DeviceGroup.objects.create(tenant=tenant, name="Bench servers")
        DeviceGroupMember.objects.bulk_create(
            DeviceGroupMember(tenant=tenant, group=group, device_id=pk) for pk in devices[:GROUP_SIZE]
        )
        PatchPolicy.objects.create(
            scope=Scope.GROUP,
            tenant=tenant,
            group=group,
            settings={"auto_approve": [{"kev_only": True}, {"min_severity": "critical"}]},
        )
        counts["group"] += 1
        for pk in devices[-OPTED_OUT_PER_TENANT:]:
            PatchPolicy.objects.create(scope=Scope.DEVICE, tenant=tenant, device_id=pk, settings={"auto_approve": []})
            counts["device"] += 1
    return counts


def run() -> None:
    from django.db.models import Count
    from django.utils import timezone

    from devices.models import Device
    from patches.auto_approval import auto_approve
    from patches.models import Approval, Finding, Patch
    from portal.db_scope import system_scope
    from tenants.audit import SYSTEM, acting_as

    _ensure_findings()
    with system_scope():
        policies = _policies()
        devices = Device.objects.filter(tenant__slug__in=TENANTS, retired_at__isnull=True).count()
        findings = Finding.objects.filter(tenant__slug__in=TENANTS, state="open").count()
        patches = Patch.objects.count()
    env.settle()
    now = timezone.now()
    with system_scope(), acting_as(SYSTEM):
        started = time.perf_counter()
        first = auto_approve(now)
        first_seconds = time.perf_counter() - started
    with system_scope(), acting_as(SYSTEM):
        started = time.perf_counter()
        again = auto_approve(now)
        again_seconds = time.perf_counter() - started
    with system_scope():
        states = dict(Approval.objects.values_list("state").order_by().annotate(n=Count("id")))

    rows = [
        ("devices (open findings)", f"{devices:,} ({findings:,})", "10,000", results.met(devices, 10_000, True)),
        (
            f"auto-approval, first run ({first['created']:,} approvals from {first['pairs']:,} "
            f"(policy chain, missing patch) pairs, {first['chains']} chains)",
            f"{first_seconds:.2f} s",
            "≤ 10 s",
            results.met(first_seconds, 10, False),
        ),
        (
            "auto-approval again, nothing new",
            f"{again_seconds:.2f} s ({again['created']} created)",
            "≤ 10 s",
            results.met(again_seconds, 10, False),
        ),
    ]
    notes = f"""
Command: `python -m bench approval`, on the matching benchmark's fleet ({patches:,} patches in the catalogue). Policies:
a global rule (every security update), {policies["tenant"]} tenant policies (deferral of 3 days on half the
tenants, client sign-off on one), a {GROUP_SIZE}-device group per tenant with its own rules (KEV only; critical)
and {policies["device"]} devices that opt out. Approvals by state after the run: {states}.
Steps of the first run (s): {first["seconds"]}; of the second: {again["seconds"]}. Each run is one transaction
through `patches.auto_approval.auto_approve`, including the bulk audit entries.
"""
    results.write_section("approval", "Auto-approval (issue: patch policies and the approval workflow)", rows, notes)
