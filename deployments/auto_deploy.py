"""Deployments made by policy: approved patches reach `auto_deploy` devices without a person.

Every hour (deployments.tasks.auto_deploy), for each active tenant: the devices whose
effective policy says `auto_deploy` (and, when the tenant has rings, that a ring holds),
the patches they miss that patches.approvals resolves to approved for them now (a deferral
that has not ended, a rejection, an exclusion, a missing client sign-off keep a patch away),
less the (device, patch) pairs already covered, become one deployment named "Automatic
<local date and time>", origin `policy`, through the tenant's rings in order (only the rings
that hold those devices, and in them only those devices: they are its targets), or one
stage of those devices when the tenant has no rings. Audited as the system.

A pair is covered when an install job of another deployment carries it and is not finished,
or finished (whatever the outcome, cancelled included) less than RETRY_AFTER ago; or when an
unfinished deployment (scheduled, running, paused or halted) has it in a stage not yet
scheduled. So a run creates nothing that an earlier run or a technician already planned,
a second run creates nothing new, and a failed automatic install is tried again after
RETRY_AFTER, not every hour. To stop automatic deployments, turn `auto_deploy` off or reject
the patch; cancelling an automatic deployment only holds its pairs back for RETRY_AFTER.

A deployment covers every pair of its devices and patches, so when each of its stages is
scheduled an automatic deployment leaves out the pairs covered since it was created: other
deployments' jobs, and the waiting stages of unfinished deployments created before it (only
earlier ones: two deployments never leave a pair to each other). See `without_covered`,
called from deployments.dispatch.schedule_stage.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.db import connection, transaction

from deployments.models import Deployment, DeploymentPatch, DeploymentStage, DeploymentTarget, Ring
from deployments.planning import Plan, approved_items, create_deployment, ring_assignment

__all__ = ["RETRY_AFTER", "covered_pairs", "create_from_policy", "without_covered"]

log = logging.getLogger(__name__)

RETRY_AFTER = dt.timedelta(days=7)
UNFINISHED = [
    Deployment.State.SCHEDULED,
    Deployment.State.RUNNING,
    Deployment.State.PAUSED,
    Deployment.State.HALTED,
]

JOB_PAIRS = """
    SELECT DISTINCT j.device_id, p.patch_id::bigint
    FROM deployments_job j
    CROSS JOIN LATERAL jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(j.payload -> 'patches') = 'array' THEN j.payload -> 'patches' ELSE '[]' END
    ) AS p(patch_id)
    WHERE j.tenant_id = %(tenant)s AND j.kind = 'install' AND j.device_id = ANY(%(devices)s)
      AND j.deployment_id IS DISTINCT FROM %(deployment)s
      AND (j.state IN ('pending', 'queued', 'claimed', 'running', 'reboot_pending')
           OR coalesce(j.finished_at, j.updated_at) >= %(since)s)
"""


def covered_pairs(tenant, device_ids, *, now: dt.datetime, deployment: int | None = None) -> set[tuple[int, int]]:
    """(device id, patch id) pairs of these devices that other deployments cover (see above).

    `deployment`: leave its jobs out, and count only the waiting stages of deployments
    created before it.
    """
    device_ids = sorted(device_ids)
    if not device_ids:
        return set()
    params = {"tenant": tenant.pk, "devices": device_ids, "deployment": deployment, "since": now - RETRY_AFTER}
    with connection.cursor() as cursor:
        cursor.execute(JOB_PAIRS, params)
        covered = {(device_id, patch_id) for device_id, patch_id in cursor.fetchall()}
    return covered | _planned_pairs(tenant, set(device_ids), before=deployment)


def _planned_pairs(tenant, device_ids: set[int], *, before: int | None) -> set[tuple[int, int]]:
    """Pairs in the waiting stages of the tenant's unfinished deployments (created before `before`)."""
    waiting = DeploymentStage.objects.filter(
        tenant_id=tenant.pk, state=DeploymentStage.State.WAITING, deployment__state__in=UNFINISHED
    )
    if before is not None:
        waiting = waiting.filter(deployment_id__lt=before)
    waiting = waiting.values_list("deployment_id", "ring_id")
    rings_of: dict[int, set[int | None]] = defaultdict(set)
    for deployment_id, ring_id in waiting:
        rings_of[deployment_id].add(ring_id)
    if not rings_of:
        return set()
    patches: dict[int, list[int]] = defaultdict(list)
    rows = DeploymentPatch.objects.filter(deployment_id__in=rings_of).values_list("deployment_id", "patch_id")
    for deployment_id, patch_id in rows:
        patches[deployment_id].append(patch_id)
    targets: dict[int, set[int]] = defaultdict(set)
    for deployment_id, device_id in DeploymentTarget.objects.filter(deployment_id__in=rings_of).values_list(
        "deployment_id", "device_id"
    ):
        targets[deployment_id].add(device_id)
    assignment = {device_id: ring.pk for device_id, ring in ring_assignment(tenant).items() if device_id in device_ids}
    pairs = set()
    for deployment_id, ring_ids in rings_of.items():
        reach = set()
        if None in ring_ids:  # chosen devices
            reach |= targets[deployment_id] & device_ids
        ring_members = {d for d, ring_id in assignment.items() if ring_id in ring_ids}
        reach |= (ring_members & targets[deployment_id]) if targets[deployment_id] else ring_members
        pairs |= {(device_id, patch_id) for device_id in reach for patch_id in patches[deployment_id]}
    return pairs


def without_covered(deployment: Deployment, allowed: dict[int, set[int]], *, now: dt.datetime) -> dict:
    """`allowed` (device id -> patch ids) less the pairs covered since `deployment` was created."""
    covered = covered_pairs(deployment.tenant, allowed, now=now, deployment=deployment.pk)
    left = {d: {p for p in patch_ids if (d, p) not in covered} for d, patch_ids in allowed.items()}
    return {d: patch_ids for d, patch_ids in left.items() if patch_ids}


def _candidate_patches(tenant) -> list[int]:
    """Patches with an open approval that may apply in this tenant (approved, or deferred)."""
    from django.db.models import Q

    from patches.models import Approval, ApprovalState, Scope
    from patches.models.approvals import CLOSED_STATES

    rows = (
        Approval.objects.filter(state__in=[ApprovalState.APPROVED, ApprovalState.DEFERRED])
        .exclude(state__in=CLOSED_STATES)
        .filter(Q(scope=Scope.GLOBAL) | Q(tenant_id=tenant.pk))
        .values_list("patch_id", flat=True)
        .distinct()
    )
    return sorted(rows)


def _auto_devices(tenant_ids) -> dict[int, list[int]]:
    """Tenant id -> its active devices whose effective policy says auto_deploy (a few queries)."""
    from patches.policy import chains_for_devices, effective

    wanted: dict[tuple, bool] = {}
    by_tenant: dict[int, list[int]] = defaultdict(list)
    for device_id, chain in chains_for_devices(tenant_ids=tenant_ids).items():
        if chain.key not in wanted:
            wanted[chain.key] = bool(effective(chain)["auto_deploy"])
        if wanted[chain.key]:
            by_tenant[chain.tenant_id].append(device_id)
    return {tenant_id: sorted(ids) for tenant_id, ids in by_tenant.items()}


def deploy_tenant(tenant, device_ids: list[int], *, now: dt.datetime) -> Plan | None:
    """The automatic deployment for these auto_deploy devices of the tenant, or None if nothing is due."""
    rings = list(Ring.objects.filter(tenant_id=tenant.pk).order_by("position"))
    assignment = ring_assignment(tenant) if rings else {}
    if rings:
        device_ids = [d for d in device_ids if d in assignment]  # a device in no ring waits for one
    patch_ids = _candidate_patches(tenant)
    if not device_ids or not patch_ids:
        return None
    allowed, _ = approved_items(tenant.pk, device_ids, patch_ids, now)
    covered = covered_pairs(tenant, allowed, now=now)
    due = {d: {p for p in ps if (d, p) not in covered} for d, ps in allowed.items()}
    due = {d: ps for d, ps in due.items() if ps}
    if not due:
        return None
    devices = sorted(due)
    patches = sorted({p for ps in due.values() for p in ps})
    local = now.astimezone(tenant.time_zone)
    options = {
        "name": f"Automatic {local:%Y-%m-%d %H:%M}",
        "patches": patches,
        "now": now,
        "origin": Deployment.Origin.POLICY,
    }
    if not rings:
        return create_deployment(tenant, devices=devices, **options)
    used = {assignment[d].pk for d in devices}
    return create_deployment(tenant, rings=[r for r in rings if r.pk in used], limit_to=devices, **options)


def create_from_policy(now: dt.datetime, tenant_ids=None) -> dict[str, int]:
    """One automatic deployment per tenant that has something due; idempotent (see above).

    Each tenant in its own savepoint: one tenant's failure is logged and the others go on.
    """
    from tenants.audit import SYSTEM, acting_as
    from tenants.models import Tenant

    tenants = Tenant.objects.filter(is_active=True, archived_at__isnull=True)
    if tenant_ids is not None:
        tenants = tenants.filter(pk__in=tenant_ids)
    tenants = {t.pk: t for t in tenants}
    devices = _auto_devices(list(tenants)) if tenants else {}
    created = devices_total = failed = 0
    with acting_as(SYSTEM):
        for tenant_id in sorted(devices):
            tenant = tenants[tenant_id]
            try:
                with transaction.atomic():
                    plan = deploy_tenant(tenant, devices[tenant_id], now=now)
            except Exception:  # one tenant's trouble must not stop the others; the next run retries
                log.exception("auto_deploy: tenant %s failed", tenant.slug)
                failed += 1
                continue
            if plan is not None:
                created += 1
                devices_total += plan.devices
    return {"tenants": len(devices), "deployments": created, "devices": devices_total, "failed": failed}
