"""Daily compliance snapshots per device and tenant, with SLA accounting."""

from __future__ import annotations

import datetime as dt

import pytest

from advisories.models import Advisory
from patches.compliance import take_snapshots
from patches.models import ComplianceSnapshot, Finding
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 21, 23, 0, tzinfo=dt.UTC)


def finding(device, ref, severity, *, state="open", first_seen_days=1, fixed_days_after=None, kev_due=None):
    first_seen = NOW - dt.timedelta(days=first_seen_days)
    advisory, _ = Advisory.objects.get_or_create(advisory_id=ref, defaults={"kind": "osv", "content_hash": ref})
    return Finding.objects.create(
        tenant=device.tenant,
        device=device,
        advisory=advisory,
        reference=ref,
        package_name=ref,
        severity=severity,
        state=state,
        kev=kev_due is not None,
        kev_due=kev_due,
        first_seen_at=first_seen,
        fixed_at=first_seen + dt.timedelta(days=fixed_days_after) if fixed_days_after is not None else None,
    )


def test_snapshot_counts_severity_kev_sla_and_compliance(world):
    web = DeviceFactory(tenant=world.tenant_a, hostname="web")
    clean = DeviceFactory(tenant=world.tenant_a, hostname="clean")
    DeviceFactory(tenant=world.tenant_a, hostname="gone", retired_at=NOW)
    finding(web, "A", "critical", first_seen_days=10)  # open past its 7-day SLA
    finding(web, "B", "high", first_seen_days=3)  # open, within SLA
    finding(web, "C", "medium", first_seen_days=2, kev_due=dt.date(2026, 11, 20))  # KEV past due
    finding(clean, "D", "low", state="fixed", first_seen_days=5, fixed_days_after=5)  # fixed today, within 90
    finding(clean, "E", "critical", state="fixed", first_seen_days=9, fixed_days_after=9)  # fixed today, late
    finding(clean, "F", "high", state="suppressed")  # VEX: not counted as open

    take_snapshots(NOW.date(), NOW)

    web_day = ComplianceSnapshot.objects.get(device=web, day=NOW.date())
    assert (web_day.open_critical, web_day.open_high, web_day.open_medium, web_day.open_kev) == (1, 1, 1, 1)
    assert (web_day.overdue, web_day.devices_compliant) == (2, 0)
    clean_day = ComplianceSnapshot.objects.get(device=clean, day=NOW.date())
    assert (clean_day.open_total, clean_day.fixed_within_sla, clean_day.fixed_late) == (0, 1, 1)
    assert clean_day.devices_compliant == 1
    tenant_day = ComplianceSnapshot.objects.get(tenant=world.tenant_a, device=None, day=NOW.date())
    assert (tenant_day.devices, tenant_day.devices_compliant, tenant_day.overdue) == (2, 1, 2)
    assert not ComplianceSnapshot.objects.filter(device__hostname="gone").exists()


def test_a_second_snapshot_the_same_day_replaces_the_first(world):
    web = DeviceFactory(tenant=world.tenant_a, hostname="web")
    take_snapshots(NOW.date(), NOW)
    finding(web, "A", "critical")
    take_snapshots(NOW.date(), NOW)
    assert ComplianceSnapshot.objects.filter(device=web).count() == 1
    assert ComplianceSnapshot.objects.get(device=web).open_critical == 1
    assert ComplianceSnapshot.objects.filter(tenant=world.tenant_a, device=None).count() == 1


def test_snapshots_keep_history_across_days(world):
    web = DeviceFactory(tenant=world.tenant_a, hostname="web")
    finding(web, "A", "critical")
    for days_ago in (2, 1, 0):
        when = NOW - dt.timedelta(days=days_ago)
        take_snapshots(when.date(), when)
    days = list(ComplianceSnapshot.objects.filter(tenant=world.tenant_a, device=None).values_list("day", flat=True))
    assert days == [NOW.date() - dt.timedelta(days=d) for d in (0, 1, 2)]
