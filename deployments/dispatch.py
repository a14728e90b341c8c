"""Turning a stage into jobs, and releasing jobs when their window and batch come.

`schedule_stage` writes every job of a stage with one INSERT ... SELECT: the devices of
the stage that miss at least one approved patch of the deployment, numbered in id order
and cut into batches of `batch_size`; batch n may start `n * batch_interval_minutes`
after the opening of the stage's next maintenance window (now, for a run-now deployment)
and must be claimed before the window ends (`not_after`).

A job's payload, as the agent receives it:

    {"deployment": 12, "dry_run": false, "patches": [301, 302],
     "packages": [{"patch": 301, "name": "libssl3", "source": "openssl", "manager": "apt",
                   "version": "3.0.15-1~deb12u1", "previous_version": "3.0.13-1~deb12u1"}],
     "windows_updates": [{"patch": 302, "kb": "KB5044284", "update_id": "9c1e5b1a-…"}],
     "winget": [{"patch": 303, "id": "Mozilla.Firefox", "version": "131.0", "previous_version": "130.0"}],
     "reboot": "if_required", "reboot_postpone_minutes": 240,
     "pre_script": null, "post_script": 7,
     "health_services": ["nginx"], "health_script": null, "catch_up": "next_window"}

The reboot rule, the postponement, the scripts, the health check (services and script) and
the catch-up rule come from the device's effective patch policy (patches.policy) at the time
the stage is scheduled; a deployment created with catch-up `on_return` makes every job's
`catch_up` `on_return`.

`release_due` runs every minute: pending jobs whose batch time has come (inside their
window) become queued, at most `max_concurrent` in flight (queued, claimed, running,
waiting for a reboot) per deployment; their devices are marked due so that the next
check-in finds them. Offline devices: with catch-up `next_window`, a job whose window
ended before its agent claimed it goes back to pending for the next opening; with
`on_return` (the job's payload, from its device's policy or its deployment) a released job
loses its end and stays queued until the device comes back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from deployments import windows
from deployments.models import Deployment, DeploymentStage, DeploymentTarget, Job, JobKind, JobState
from deployments.planning import approved_items, ring_devices
from tenants import audit

__all__ = ["IN_FLIGHT", "cancel", "catch_up", "pause", "release_due", "resume", "schedule_stage", "start"]

# Jobs that hold one of a deployment's `max_concurrent` slots (RELEASE spells them out).
IN_FLIGHT = [JobState.QUEUED, JobState.CLAIMED, JobState.RUNNING, JobState.REBOOT_PENDING]

INSERT_JOBS = """
WITH allowed AS (
    SELECT * FROM unnest(%(pair_devices)s::bigint[], %(pair_patches)s::bigint[]) AS a(device_id, patch_id)
), policy AS (
    SELECT * FROM unnest(%(devices)s::bigint[], %(reboot)s::text[], %(postpone)s::int[],
                         %(pre)s::bigint[], %(post)s::bigint[], %(services)s::text[], %(health)s::bigint[],
                         %(catch_up)s::text[])
         AS p(device_id, reboot, postpone, pre_script, post_script, services, health_script, catch_up)
), items AS (
    SELECT f.device_id, pt.id AS patch_id, pt.kind,
           CASE pt.kind
               WHEN 'package' THEN jsonb_build_object(
                   'patch', pt.id, 'name', coalesce(nullif(f.package_name, ''), pt.name), 'source', pt.name,
                   'manager', CASE WHEN pt.ecosystem LIKE 'Debian%%' OR pt.ecosystem LIKE 'Ubuntu%%' THEN 'apt'
                                   WHEN pt.ecosystem LIKE 'Alpine%%' THEN 'apk' ELSE 'dnf' END,
                   'version', pt.version, 'previous_version', f.installed_version)
               -- The agent installs by the Windows Update GUID it reported as offered.
               WHEN 'windows' THEN jsonb_build_object('patch', pt.id, 'kb', pt.name, 'update_id', (
                   SELECT u.identifier FROM devices_deviceupdate du
                   JOIN patches_patchupdate pu ON pu.update_id = du.update_id
                   JOIN devices_update u ON u.id = du.update_id
                   WHERE du.device_id = f.device_id AND NOT du.installed AND pu.patch_id IN (p0.id, pt.id)
                   ORDER BY pu.patch_id = pt.id DESC, u.identifier LIMIT 1))
               ELSE jsonb_build_object('patch', pt.id, 'id', pt.name, 'version', pt.version,
                                       'previous_version', f.installed_version)
           END AS item
    FROM patches_finding f
    JOIN patches_patch p0 ON p0.id = f.patch_id
    JOIN patches_patch pt ON pt.id = coalesce(p0.superseded_by_id, p0.id)
    JOIN allowed a ON a.device_id = f.device_id AND a.patch_id = pt.id
    WHERE f.state = 'open' AND f.tenant_id = %(tenant)s AND f.device_id = ANY(%(devices)s)
    UNION
    SELECT du.device_id, pt.id, pt.kind,
           CASE pt.kind
               WHEN 'windows' THEN jsonb_build_object('patch', pt.id, 'kb', pt.name, 'update_id', (
                   SELECT u.identifier FROM devices_deviceupdate du2
                   JOIN patches_patchupdate pu2 ON pu2.update_id = du2.update_id
                   JOIN devices_update u ON u.id = du2.update_id
                   WHERE du2.device_id = du.device_id AND NOT du2.installed AND pu2.patch_id IN (p0.id, pt.id)
                   ORDER BY pu2.patch_id = pt.id DESC, u.identifier LIMIT 1))
               ELSE jsonb_build_object('patch', pt.id, 'id', pt.name, 'version', pt.version,
                                       'previous_version', du.current_version)
           END
    FROM devices_deviceupdate du
    JOIN patches_patchupdate pu ON pu.update_id = du.update_id
    JOIN patches_patch p0 ON p0.id = pu.patch_id
    JOIN patches_patch pt ON pt.id = coalesce(p0.superseded_by_id, p0.id)
    JOIN allowed a ON a.device_id = du.device_id AND a.patch_id = pt.id
    WHERE NOT du.installed AND du.tenant_id = %(tenant)s AND du.device_id = ANY(%(devices)s)
), per_device AS (
    SELECT device_id,
           array_agg(DISTINCT patch_id ORDER BY patch_id) AS patch_ids,
           coalesce(jsonb_agg(DISTINCT item) FILTER (WHERE kind = 'package'), '[]') AS packages,
           coalesce(jsonb_agg(DISTINCT item) FILTER (WHERE kind = 'windows'), '[]') AS windows_updates,
           coalesce(jsonb_agg(DISTINCT item) FILTER (WHERE kind = 'application'), '[]') AS winget
    FROM items GROUP BY device_id
), numbered AS (
    SELECT d.*, p.reboot, p.postpone, p.pre_script, p.post_script, p.services, p.health_script, p.catch_up,
           (row_number() OVER (ORDER BY d.device_id) - 1) / %(batch_size)s AS batch
    FROM per_device d JOIN policy p ON p.device_id = d.device_id
), inserted AS (
    INSERT INTO deployments_job (
        tenant_id, deployment_id, stage_id, device_id, kind, state, batch, payload, not_before, not_after,
        attempt, max_attempts, output, result_key, reboot_required, created_at, updated_at)
    SELECT %(tenant)s, %(deployment)s, %(stage)s, n.device_id, 'install', 'pending', n.batch,
           jsonb_build_object(
               'deployment', %(deployment)s, 'dry_run', %(dry_run)s, 'patches', to_jsonb(n.patch_ids),
               'packages', n.packages, 'windows_updates', n.windows_updates, 'winget', n.winget,
               'reboot', n.reboot, 'reboot_postpone_minutes', n.postpone,
               'pre_script', n.pre_script, 'post_script', n.post_script,
               'health_services', n.services::jsonb, 'health_script', n.health_script,
               'catch_up', CASE WHEN %(on_return)s::boolean THEN 'on_return' ELSE n.catch_up END),
           %(starts_at)s::timestamptz + n.batch * %(interval)s * interval '1 minute', %(ends_at)s::timestamptz,
           0, %(max_attempts)s, '', '', false, %(now)s, %(now)s
    FROM numbered n
    ON CONFLICT (deployment_id, device_id, kind) WHERE kind = 'install' DO NOTHING
    RETURNING id, not_before
), events AS (
    INSERT INTO deployments_jobevent (tenant_id, job_id, at, state, message)
    SELECT %(tenant)s, id, %(now)s, 'pending', 'Scheduled from ' || to_char(not_before AT TIME ZONE 'UTC',
                                                                       'YYYY-MM-DD HH24:MI') || ' UTC'
    FROM inserted
)
SELECT count(*) FROM inserted
"""


def _stage_devices(stage: DeploymentStage) -> list[int]:
    """The ring's devices (only the deployment's targets, when it has some), or its chosen devices."""
    from devices.models import Device

    targets = DeploymentTarget.objects.filter(deployment_id=stage.deployment_id).values("device_id")
    if stage.ring_id is not None:
        members = ring_devices(stage.ring)
        limit = set(targets.values_list("device_id", flat=True))
        return [d for d in members if d in limit] if limit else members
    return sorted(Device.objects.filter(pk__in=targets).active().values_list("id", flat=True))


def _policies(device_ids: list[int]) -> dict[str, list]:
    """Per device: reboot rule, postponement, scripts, health check and catch-up from its
    effective policy (a few queries). Service lists travel as JSON text (arrays cannot be ragged)."""
    from patches.policy import chains_for_devices, effective

    chains = chains_for_devices(device_ids)
    by_chain: dict[tuple, object] = {}
    columns: dict[str, list] = {
        key: [] for key in ("devices", "reboot", "postpone", "pre", "post", "services", "health", "catch_up")
    }
    for device_id in device_ids:
        chain = chains.get(device_id)
        if chain is None:
            continue
        eff = by_chain.get(chain.key)
        if eff is None:
            eff = by_chain[chain.key] = effective(chain)
        columns["devices"].append(device_id)
        columns["reboot"].append(eff["reboot"])
        columns["postpone"].append(eff["reboot_postpone_minutes"])
        columns["pre"].append(eff["pre_script"])
        columns["post"].append(eff["post_script"])
        columns["services"].append(json.dumps(eff["health_services"]))
        columns["health"].append(eff["health_check_script"])
        columns["catch_up"].append(eff["catch_up"])
    return columns


def opening_for(stage: DeploymentStage, deployment: Deployment, now: dt.datetime):
    """When the stage may run: now for an emergency, else the stage ring's next install window."""
    if deployment.run_now:
        return windows.Opening(now, None)
    return windows.next_opening(deployment.tenant, after=now, ring=stage.ring_id)


def schedule_stage(stage: DeploymentStage, *, now: dt.datetime) -> int:
    """Create the stage's jobs (pending, batched, in its next opening); returns how many.

    Idempotent: only a waiting stage is scheduled, and a device has one install job per
    deployment. A stage whose ring has no opening within 400 days halts the deployment.
    """
    from deployments.promotion import halt

    with transaction.atomic():
        stage = (
            DeploymentStage.objects.select_for_update(of=("self",))
            .select_related("deployment__tenant", "ring")
            .get(pk=stage.pk)
        )
        deployment = stage.deployment
        if stage.state != DeploymentStage.State.WAITING or deployment.state not in (
            Deployment.State.SCHEDULED,
            Deployment.State.RUNNING,
        ):
            return 0
        opening = opening_for(stage, deployment, now)
        if opening is None:
            halt(deployment, stage, reason=f"{stage.name}: no maintenance window opens in the next 400 days.", now=now)
            return 0
        patch_ids = list(deployment.deployment_patches.values_list("patch_id", flat=True))
        allowed, _ = approved_items(deployment.tenant_id, _stage_devices(stage), patch_ids, now)
        if deployment.origin == Deployment.Origin.POLICY:
            from deployments.auto_deploy import without_covered

            allowed = without_covered(deployment, allowed, now=now)
        devices = sorted(allowed)
        columns = _policies(devices)
        pairs = [(device_id, patch_id) for device_id in devices for patch_id in sorted(allowed[device_id])]
        with connection.cursor() as cursor:
            cursor.execute(
                INSERT_JOBS,
                {
                    **columns,
                    "pair_devices": [d for d, _ in pairs],
                    "pair_patches": [p for _, p in pairs],
                    "tenant": deployment.tenant_id,
                    "deployment": deployment.pk,
                    "stage": stage.pk,
                    "dry_run": deployment.dry_run,
                    "on_return": deployment.catch_up == Deployment.CatchUp.ON_RETURN,
                    "batch_size": deployment.batch_size,
                    "interval": deployment.batch_interval_minutes,
                    "starts_at": opening.starts_at,
                    "ends_at": opening.ends_at,
                    "max_attempts": deployment.max_attempts,
                    "now": now,
                },
            )
            created = cursor.fetchone()[0]
        DeploymentStage.objects.filter(pk=stage.pk).update(
            state=DeploymentStage.State.SCHEDULED, scheduled_for=opening.starts_at, devices_total=created
        )
    return created


def start(deployment: Deployment, *, now: dt.datetime) -> int:
    """Schedule the first stage that has not run, if none is under way (the creation task)."""
    stages = list(deployment.stages.order_by("position"))
    busy = {DeploymentStage.State.SCHEDULED, DeploymentStage.State.RUNNING, DeploymentStage.State.SOAKING}
    if any(s.state in busy for s in stages):
        return 0
    for stage in stages:
        if stage.state == DeploymentStage.State.WAITING:
            return schedule_stage(stage, now=now)
        if stage.state != DeploymentStage.State.PASSED:
            return 0
    return 0


# ---- Releasing --------------------------------------------------------------------------------

RELEASE = """
WITH room AS (
    SELECT d.id, d.catch_up,
           d.max_concurrent - (SELECT count(*) FROM deployments_job f
                               WHERE f.deployment_id = d.id AND f.kind = 'install'
                                 AND f.state IN ('queued', 'claimed', 'running', 'reboot_pending')) AS room
    FROM deployments_deployment d
    WHERE d.state IN ('scheduled', 'running')
), ranked AS (
    SELECT j.id, j.deployment_id,
           row_number() OVER (PARTITION BY j.deployment_id ORDER BY j.batch, j.not_before, j.id) AS rn
    FROM deployments_job j
    JOIN room r ON r.id = j.deployment_id AND r.room > 0
    JOIN deployments_deploymentstage s ON s.id = j.stage_id AND s.state IN ('scheduled', 'running', 'soaking')
    WHERE j.state = 'pending' AND j.kind = 'install'
      AND (j.not_before IS NULL OR j.not_before <= %(now)s)
      AND (j.not_after IS NULL OR j.not_after > %(now)s)
), released AS (
    UPDATE deployments_job j
    SET state = 'queued', updated_at = %(now)s,
        not_after = CASE WHEN r.catch_up = 'on_return' OR j.payload->>'catch_up' = 'on_return'
                         THEN NULL ELSE j.not_after END
    FROM ranked k JOIN room r ON r.id = k.deployment_id
    WHERE j.id = k.id AND k.rn <= r.room AND j.state = 'pending'
    RETURNING j.id, j.tenant_id, j.device_id, j.stage_id, j.deployment_id
), events AS (
    INSERT INTO deployments_jobevent (tenant_id, job_id, at, state, message)
    SELECT tenant_id, id, %(now)s, 'queued', 'Released: its window and batch have come.' FROM released
)
SELECT id, device_id, stage_id, deployment_id FROM released
"""


def release_due(now: dt.datetime) -> int:
    """Queue the pending jobs whose time has come, within each deployment's concurrency limit."""
    from deployments.jobs import mark_devices_due

    with transaction.atomic():
        catch_up(now)
        with connection.cursor() as cursor:
            cursor.execute(RELEASE, {"now": now})
            rows = cursor.fetchall()
        if not rows:
            return 0
        stage_ids = sorted({row[2] for row in rows})
        deployment_ids = sorted({row[3] for row in rows})
        DeploymentStage.objects.filter(pk__in=stage_ids, state=DeploymentStage.State.SCHEDULED).update(
            state=DeploymentStage.State.RUNNING, started_at=now
        )
        Deployment.objects.filter(pk__in=deployment_ids, state=Deployment.State.SCHEDULED).update(
            state=Deployment.State.RUNNING, started_at=now
        )
        device_ids = sorted({row[1] for row in rows})
        transaction.on_commit(lambda: mark_devices_due(device_ids))
    return len(rows)


def catch_up(now: dt.datetime) -> int:
    """Jobs whose window ended before an agent claimed them wait for the next opening.

    Queued `on_return` jobs have no end (see RELEASE) and are not touched; pending jobs of
    any deployment that did not fit in their window (batches, concurrency) move on too.
    """
    from tenants.models import Tenant

    missed = Job.objects.filter(
        kind=JobKind.INSTALL,
        state__in=[JobState.PENDING, JobState.QUEUED],
        not_after__lte=now,
        deployment__state__in=[Deployment.State.SCHEDULED, Deployment.State.RUNNING],
    ).values_list("id", "tenant_id", "stage__ring_id")
    groups: dict[tuple, list[int]] = defaultdict(list)
    for pk, tenant_id, ring_id in missed:
        groups[(tenant_id, ring_id)].append(pk)
    tenants = Tenant.objects.in_bulk({tenant_id for tenant_id, _ in groups})
    moved = 0
    for (tenant_id, ring_id), ids in groups.items():
        opening = windows.next_opening(tenants[tenant_id], after=now, ring=ring_id)
        if opening is None:
            from deployments.jobs import cancel_jobs

            cancel_jobs(Job.objects.filter(pk__in=ids), reason="No maintenance window in the next 400 days.", now=now)
            continue
        moved += Job.objects.filter(pk__in=ids, state__in=[JobState.PENDING, JobState.QUEUED]).update(
            state=JobState.PENDING, not_before=opening.starts_at, not_after=opening.ends_at, updated_at=now
        )
        _events(
            ids,
            tenant_id,
            JobState.PENDING,
            now,
            f"Its window ended before the device took it: moved to {opening.starts_at:%Y-%m-%d %H:%M} UTC.",
        )
    return moved


def _events(job_ids, tenant_id, state, now, message) -> None:
    from deployments.models import JobEvent

    JobEvent.objects.bulk_create(
        [JobEvent(tenant_id=tenant_id, job_id=pk, at=now, state=state, message=message) for pk in job_ids],
        batch_size=2000,
    )


# ---- Pause, resume, cancel --------------------------------------------------------------------


def _locked(deployment: Deployment) -> Deployment:
    return Deployment.objects.select_for_update().get(pk=deployment.pk)


@transaction.atomic
def pause(deployment: Deployment, *, now: dt.datetime, reason: str = "") -> Deployment:
    """Stop releasing; queued jobs go back to pending so that no agent receives them.

    Jobs an agent already holds run to their end (they cannot be stopped half-way).
    """
    deployment = _locked(deployment)
    if deployment.state not in (Deployment.State.SCHEDULED, Deployment.State.RUNNING):
        raise ValidationError(f"A {deployment.get_state_display().lower()} deployment cannot be paused.")
    previous = deployment.state
    Deployment.objects.filter(pk=deployment.pk).update(state=Deployment.State.PAUSED)
    held = list(
        Job.objects.filter(deployment=deployment, kind=JobKind.INSTALL, state=JobState.QUEUED).values_list(
            "id", flat=True
        )
    )
    Job.objects.filter(pk__in=held, state=JobState.QUEUED).update(state=JobState.PENDING, updated_at=now)
    _events(held, deployment.tenant_id, JobState.PENDING, now, "The deployment was paused.")
    audit.record(
        "deployment.paused",
        deployment,
        changes={"state": [previous, Deployment.State.PAUSED]},
        message=reason or f"{len(held)} queued jobs held back",
    )
    deployment.refresh_from_db()
    return deployment


@transaction.atomic
def resume(deployment: Deployment, *, now: dt.datetime) -> Deployment:
    """Release again from the next tick (a deployment that never started is scheduled again)."""
    deployment = _locked(deployment)
    if deployment.state != Deployment.State.PAUSED:
        raise ValidationError("Only a paused deployment can be resumed.")
    state = Deployment.State.RUNNING if deployment.started_at else Deployment.State.SCHEDULED
    Deployment.objects.filter(pk=deployment.pk).update(state=state)
    audit.record("deployment.resumed", deployment, changes={"state": [Deployment.State.PAUSED, state]})
    deployment.refresh_from_db()
    return deployment


@transaction.atomic
def cancel(deployment: Deployment, *, now: dt.datetime, reason: str = "") -> Deployment:
    """Cancel the deployment, its stages that have not ended and its jobs not yet taken."""
    from deployments.jobs import cancel_jobs

    deployment = _locked(deployment)
    if deployment.state in (Deployment.State.COMPLETED, Deployment.State.CANCELLED):
        raise ValidationError(f"A {deployment.get_state_display().lower()} deployment cannot be cancelled.")
    previous = deployment.state
    Deployment.objects.filter(pk=deployment.pk).update(state=Deployment.State.CANCELLED, finished_at=now)
    deployment.stages.exclude(state__in=[DeploymentStage.State.PASSED, DeploymentStage.State.HALTED]).update(
        state=DeploymentStage.State.CANCELLED, finished_at=now
    )
    cancelled = cancel_jobs(
        Job.objects.filter(deployment=deployment, state__in=[JobState.PENDING, JobState.QUEUED]),
        reason=reason or "The deployment was cancelled.",
        now=now,
    )
    audit.record(
        "deployment.cancelled",
        deployment,
        changes={"state": [previous, Deployment.State.CANCELLED]},
        message=reason or f"{cancelled} jobs cancelled",
    )
    deployment.refresh_from_db()
    return deployment
