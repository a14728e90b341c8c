"""Building blocks for the planning, dispatch, promotion and watch tests."""

from __future__ import annotations

import datetime as dt

from deployments.jobs import claim, record_result
from deployments.models import Job, JobState, Ring, RingMember
from patches.approvals import decide
from tests.factories import DeviceFactory
from tests.patches.approval_helpers import make_patch, missing

# A Monday in November: Berlin is on CET (UTC+1).
NOW = dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC)


def rings(tenant, *, pilot_devices=(), soak_hours=24, gate_percent=90, gate_devices=1, halt_percent=20):
    """A pilot ring of explicit devices and a broad catch-all ring after it."""
    pilot = Ring.objects.create(
        tenant=tenant,
        name="Pilot",
        position=0,
        soak_hours=soak_hours,
        gate_min_success_percent=gate_percent,
        gate_min_devices=gate_devices,
        halt_failure_percent=halt_percent,
    )
    for device in pilot_devices:
        RingMember.objects.create(tenant=tenant, ring=pilot, device=device)
    broad = Ring.objects.create(tenant=tenant, name="Broad", position=1, catch_all=True, soak_hours=0)
    return pilot, broad


def fleet(tenant, count, patch, *, prefix="dev"):
    """Devices that miss `patch`."""
    devices = [DeviceFactory(tenant=tenant, hostname=f"{prefix}-{i:03d}") for i in range(count)]
    for device in devices:
        missing(device, patch)
    return devices


def approved_patch(world, tenant=None, **fields):
    patch = make_patch(**fields)
    decide(
        [patch], action="approve", user=world.tech_all, now=NOW - dt.timedelta(days=1), tenant=tenant or world.tenant_a
    )
    return patch


def finish(job: Job, outcome: str, now: dt.datetime, *, verify: bool = True) -> Job:
    """The agent's side, through deployments.jobs: claim the job and post its result."""
    (claimed,) = [j for j in claim(job.device, now=now) if j.pk == job.pk]
    done = record_result(claimed, lease_id=claimed.lease_id, result_key=f"r-{job.pk}", outcome=outcome, now=now)
    if outcome == "succeeded" and verify:  # what verify_from_inventory does when the inventory shows it
        Job.objects.filter(pk=job.pk).update(state=JobState.VERIFIED, verified_at=now)
    done.refresh_from_db()
    return done
