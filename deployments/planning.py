"""Planning a deployment: who is in which ring, which patches each device may receive.

A device belongs to the earliest ring (by position) that holds it, through an explicit
member, a group member or one of the ring's tags; a `catch_all` ring takes every active
device no earlier ring holds. Retired devices are in no ring.

A deployment names patches; a device receives a patch only if it misses it (an open
finding the patch fixes, or an offered update it installs; a superseded patch counts as
its replacement) and the patch is approved for that device as patches.approvals resolves
it. Everything else (excluded, rejected, deferred, pending, awaiting the client,
undecided, superseded) is left out and counted in the plan's `blocked` report. Approvals
are resolved again when each stage is scheduled, so a rejection made while the pilot
soaks keeps the patch away from the broad rings.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q

from deployments.models import Deployment, DeploymentPatch, DeploymentStage, DeploymentTarget, Ring, RingMember
from tenants import audit

__all__ = ["Plan", "approved_items", "create_deployment", "missing_pairs", "ring_assignment", "ring_devices"]

CHOSEN_DEVICES_STAGE = "Chosen devices"


def ring_assignment(tenant) -> dict[int, Ring]:
    """Active device id -> the ring it belongs to (the earliest that holds it)."""
    from devices.models import Device, DeviceGroup

    rings = list(Ring.objects.filter(tenant_id=tenant.pk).order_by("position"))
    if not rings:
        return {}
    devices = Device.objects.filter(tenant_id=tenant.pk).active()
    members = RingMember.objects.filter(ring__in=rings).values_list("ring_id", "device_id", "group_id")
    explicit: dict[int, set[int]] = defaultdict(set)
    groups_of: dict[int, set[int]] = defaultdict(set)
    for ring_id, device_id, group_id in members:
        if device_id is not None:
            explicit[ring_id].add(device_id)
        else:
            groups_of[ring_id].add(group_id)
    groups = DeviceGroup.objects.in_bulk({g for ids in groups_of.values() for g in ids})

    assigned: dict[int, Ring] = {}
    for ring in rings:
        if ring.catch_all:
            query = devices
        else:
            q = Q(pk__in=explicit[ring.pk]) if explicit[ring.pk] else Q(pk__in=[])
            if ring.tags:
                q |= Q(tags__overlap=ring.tags)
            for group_id in groups_of[ring.pk]:
                group = groups[group_id]
                q |= group.rule_q() if group.kind == DeviceGroup.Kind.RULE else Q(group_memberships__group=group)
            query = devices.filter(q)
        for device_id in query.values_list("id", flat=True).distinct():
            assigned.setdefault(device_id, ring)
        if ring.catch_all:
            break  # nothing is left for later rings
    return assigned


def ring_devices(ring) -> list[int]:
    """The active devices the ring holds now, in id order."""
    return sorted(device_id for device_id, r in ring_assignment(ring.tenant).items() if r.pk == ring.pk)


# ---- What each device misses and may receive ------------------------------------------------

MISSING_SQL = """
    SELECT f.device_id, coalesce(pt.superseded_by_id, pt.id)
    FROM patches_finding f JOIN patches_patch pt ON pt.id = f.patch_id
    WHERE f.state = 'open' AND f.tenant_id = %(tenant)s AND f.device_id = ANY(%(devices)s)
      AND coalesce(pt.superseded_by_id, pt.id) = ANY(%(patches)s)
    UNION
    SELECT du.device_id, coalesce(pt.superseded_by_id, pt.id)
    FROM devices_deviceupdate du
    JOIN patches_patchupdate pu ON pu.update_id = du.update_id
    JOIN patches_patch pt ON pt.id = pu.patch_id
    WHERE NOT du.installed AND du.tenant_id = %(tenant)s AND du.device_id = ANY(%(devices)s)
      AND coalesce(pt.superseded_by_id, pt.id) = ANY(%(patches)s)
"""


def missing_pairs(tenant_id: int, device_ids, patch_ids) -> dict[int, set[int]]:
    """Device id -> the deployment's patches it misses (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(MISSING_SQL, {"tenant": tenant_id, "devices": list(device_ids), "patches": list(patch_ids)})
        pairs: dict[int, set[int]] = defaultdict(set)
        for device_id, patch_id in cursor.fetchall():
            pairs[device_id].add(patch_id)
    return pairs


def approved_items(tenant_id: int, device_ids, patch_ids, now: dt.datetime) -> tuple[dict[int, set[int]], Counter]:
    """(device id -> patches it misses and may receive, Counter of (patch id, verdict) held back).

    Resolution is patches.approvals.resolve, once per distinct device context where no
    device-level approval makes a device special (ten thousand devices share a few contexts).
    """
    from patches.approvals import contexts_for_devices, resolve
    from patches.models import Approval, Patch, Scope
    from patches.models.approvals import CLOSED_STATES

    missing = missing_pairs(tenant_id, device_ids, patch_ids)
    if not missing:
        return {}, Counter()
    wanted = {p for ids in missing.values() for p in ids}
    patches = Patch.objects.in_bulk(wanted)
    approvals: dict[int, list] = defaultdict(list)
    for approval in Approval.objects.filter(patch_id__in=wanted).exclude(state__in=CLOSED_STATES):
        approvals[approval.patch_id].append(approval)
    per_device = {(a.patch_id, a.device_id) for ids in approvals.values() for a in ids if a.scope == Scope.DEVICE}
    contexts = contexts_for_devices(list(missing))
    allowed: dict[int, set[int]] = defaultdict(set)
    blocked: Counter = Counter()
    cache: dict[tuple, str] = {}
    for device_id, patch_set in missing.items():
        ctx = contexts.get(device_id)
        for patch_id in patch_set:
            if ctx is None:  # retired since
                continue
            key = (patch_id, device_id if (patch_id, device_id) in per_device else None, _context_key(ctx))
            verdict = cache.get(key)
            if verdict is None:
                verdict = cache[key] = resolve(patches[patch_id], approvals[patch_id], ctx, now).verdict
            if verdict == "approved":
                allowed[device_id].add(patch_id)
            else:
                blocked[(patch_id, verdict)] += 1
    return dict(allowed), blocked


def _context_key(ctx) -> tuple:
    return (
        ctx.tenant_id,
        ctx.site_id,
        ctx.group_ids,
        str(ctx.time_zone),
        ctx.auto_approve_policy_id,
        ctx.requires_client,
        ctx.exclusions,
    )


# ---- Creating a deployment ------------------------------------------------------------------


@dataclass
class Plan:
    deployment: Deployment | None
    devices: int = 0  # devices that will receive at least one patch (as of now)
    stages: list[tuple[str, int]] = field(default_factory=list)  # (stage name, devices in it)
    # (patch id, verdict) -> devices that miss the patch but may not receive it
    blocked: Counter = field(default_factory=Counter)

    def blocked_by_patch(self) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = defaultdict(dict)
        for (patch_id, verdict), count in self.blocked.items():
            out[patch_id][verdict] = count
        return dict(out)


def create_deployment(
    tenant,
    *,
    name: str,
    patches,
    rings=None,
    devices=None,
    user=None,
    now: dt.datetime,
    batch_size: int = 50,
    max_concurrent: int = 100,
    batch_interval_minutes: int = 5,
    max_attempts: int = 3,
    catch_up: str = Deployment.CatchUp.NEXT_WINDOW,
    run_now: bool = False,
    dry_run: bool = False,
    allow_rollback: bool = True,
    origin: str = Deployment.Origin.MANUAL,
    limit_to=None,
) -> Plan:
    """Create a deployment of `patches` to `rings` (all the tenant's, by default) or to `devices`.

    `limit_to` (devices) keeps a deployment to rings to those of its devices the rings hold:
    they are stored as its targets, and each stage takes only them (automatic deployments).

    One stage per ring, in ring order, with the ring's gate copied (a later edit of the ring
    does not change a running deployment); or one stage for chosen devices. The first stage
    is scheduled by `deployments.tasks.dispatch_deployment` once the transaction commits.
    """
    from deployments.tasks import dispatch_deployment

    patch_ids = sorted({getattr(p, "pk", p) for p in patches})
    if not patch_ids:
        raise ValidationError({"patches": "Choose at least one patch."})
    if batch_size < 1 or max_concurrent < 1:
        raise ValidationError("The batch size and the concurrency limit must be at least 1.")
    with transaction.atomic():
        if devices is not None:
            device_ids = _chosen_devices(tenant, devices)
            stage_rows = [(None, CHOSEN_DEVICES_STAGE, device_ids)]
        else:
            stage_rows = _ring_stages(tenant, rings)
            if limit_to is not None:
                wanted = {getattr(d, "pk", d) for d in limit_to}
                stage_rows = [(ring, label, [d for d in ids if d in wanted]) for ring, label, ids in stage_rows]
        all_devices = sorted({d for _, _, ids in stage_rows for d in ids})
        if limit_to is not None and not all_devices:
            raise ValidationError({"devices": "None of these devices is in the chosen rings."})
        allowed, blocked = approved_items(tenant.pk, all_devices, patch_ids, now)
        plan = Plan(
            None,
            devices=len(allowed),
            stages=[(label, sum(1 for d in ids if d in allowed)) for _, label, ids in stage_rows],
            blocked=blocked,
        )
        deployment = Deployment.objects.create(
            tenant=tenant,
            name=name,
            origin=origin,
            created_by=user,
            created_at=now,
            batch_size=batch_size,
            max_concurrent=max_concurrent,
            batch_interval_minutes=batch_interval_minutes,
            max_attempts=max_attempts,
            catch_up=catch_up,
            run_now=run_now,
            dry_run=dry_run,
            allow_rollback=allow_rollback,
        )
        DeploymentPatch.objects.bulk_create(
            DeploymentPatch(tenant=tenant, deployment=deployment, patch_id=pk) for pk in patch_ids
        )
        if devices is not None or limit_to is not None:
            DeploymentTarget.objects.bulk_create(
                DeploymentTarget(tenant=tenant, deployment=deployment, device_id=pk) for pk in all_devices
            )
        DeploymentStage.objects.bulk_create(
            _stage(tenant, deployment, position, ring, label, count)
            for position, ((ring, label, _), (_, count)) in enumerate(zip(stage_rows, plan.stages, strict=True))
        )
        plan.deployment = deployment
        audit.record(
            "deployment.created",
            deployment,
            changes={
                "patches": patch_ids,
                "stages": [label for _, label, _ in stage_rows],
                "run_now": run_now,
                "dry_run": dry_run,
            },
            message=_summary(plan),
        )
        transaction.on_commit(lambda: dispatch_deployment.delay(deployment.pk, tenant_id=tenant.pk))
    return plan


def _stage(tenant, deployment, position, ring, label, count) -> DeploymentStage:
    stage = DeploymentStage(
        tenant=tenant, deployment=deployment, ring=ring, name=label, position=position, devices_total=count
    )
    if ring is not None:
        stage.soak_hours = ring.soak_hours
        stage.gate_min_success_percent = ring.gate_min_success_percent
        stage.gate_min_devices = ring.gate_min_devices
        stage.halt_failure_percent = ring.halt_failure_percent
    return stage


def _chosen_devices(tenant, devices) -> list[int]:
    from devices.models import Device

    ids = {getattr(d, "pk", d) for d in devices}
    found = set(Device.objects.filter(tenant_id=tenant.pk, pk__in=ids).active().values_list("id", flat=True))
    if ids - found:
        raise ValidationError({"devices": "Some devices do not belong to this client or are retired."})
    if not found:
        raise ValidationError({"devices": "Choose at least one device."})
    return sorted(found)


def _ring_stages(tenant, rings) -> list[tuple[Ring, str, list[int]]]:
    chosen = list(Ring.objects.filter(tenant_id=tenant.pk).order_by("position"))
    if rings is not None:
        wanted = {getattr(r, "pk", r) for r in rings}
        if wanted - {r.pk for r in chosen}:
            raise ValidationError({"rings": "Some rings do not belong to this client."})
        chosen = [r for r in chosen if r.pk in wanted]
    if not chosen:
        raise ValidationError({"rings": "This client has no rings; choose devices instead."})
    assignment = ring_assignment(tenant)
    by_ring: dict[int, list[int]] = defaultdict(list)
    for device_id, ring in assignment.items():
        by_ring[ring.pk].append(device_id)
    return [(ring, ring.name, sorted(by_ring[ring.pk])) for ring in chosen]


def _summary(plan: Plan) -> str:
    held = sum(plan.blocked.values())
    stages = ", ".join(f"{name}: {count}" for name, count in plan.stages)
    text = f"{plan.devices} devices ({stages})"
    return text + (f"; {held} device-patch pairs held back (not approved)" if held else "")
