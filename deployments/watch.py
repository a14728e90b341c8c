"""The post-update watch: a device must report healthy soon after its update.

For every install (or reboot) job of a deployment that succeeded (the agent's report, or
verified by the inventory; `finished_at` is after the reboot when one was needed), the
device's first HealthReport received at or after `finished_at` decides, if it arrives within
settings.HEALTH_WATCH_MINUTES (default 30): healthy passes; unhealthy fails; none in time
fails. A failure raises a HEALTH_FAILED alert, halts the deployment, and, when the
deployment allows rollback and the device's effective policy says `rollback_on_failure`
(the default), queues a rollback job: the packages back to the versions the install job
found, its KBs uninstalled, its winget apps back to their previous versions. Otherwise the
job's log says why nothing was rolled back.

The verdict is written to the job's log (a JobEvent starting with MARKER), which is also
how the watch knows a job has been judged; a job is watched for at most LOOKBACK after it
finished. Dry runs changed nothing and are not watched.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery

from deployments.models import AlertKind, DeploymentStage, HealthReport, Job, JobEvent, JobKind, JobState
from tenants import audit

__all__ = ["LOOKBACK", "MARKER", "rollback_payload", "watch", "watch_minutes"]

MARKER = "Post-update health: "
LOOKBACK = dt.timedelta(days=3)
WATCHED_KINDS = [JobKind.INSTALL, JobKind.REBOOT]


def watch_minutes() -> int:
    return int(getattr(settings, "HEALTH_WATCH_MINUTES", 30))


def _candidates(now: dt.datetime):
    reports = HealthReport.objects.filter(device_id=OuterRef("device_id"), received_at__gte=OuterRef("finished_at"))
    first = reports.order_by("received_at", "id")
    judged = JobEvent.objects.filter(job_id=OuterRef("pk"), message__startswith=MARKER)
    return (
        Job.objects.filter(
            kind__in=WATCHED_KINDS,
            state__in=[JobState.SUCCEEDED, JobState.VERIFIED],
            deployment__isnull=False,
            finished_at__gte=now - LOOKBACK,
            finished_at__lte=now,
        )
        .exclude(payload__dry_run=True)
        .filter(~Exists(judged))
        .annotate(
            first_healthy=Subquery(first.values("healthy")[:1]), first_at=Subquery(first.values("received_at")[:1])
        )
        .only("id", "tenant_id", "device_id", "deployment_id", "stage_id", "kind", "state", "finished_at")
    )


def watch(now: dt.datetime) -> dict[str, int]:
    """Judge every watched job whose report came or whose time ran out (one query to find them)."""
    window = dt.timedelta(minutes=watch_minutes())
    passed, failed = [], []
    for job in _candidates(now):
        deadline = job.finished_at + window
        if job.first_at is not None and job.first_at <= deadline:
            (passed if job.first_healthy else failed).append(job)
        elif now >= deadline:
            job.first_at = None  # a report after the deadline does not count
            failed.append(job)
    with transaction.atomic():
        JobEvent.objects.bulk_create(
            [
                JobEvent(
                    tenant_id=j.tenant_id,
                    job_id=j.pk,
                    at=now,
                    state=j.state,
                    message=f"{MARKER}healthy ({j.first_at:%Y-%m-%d %H:%M} UTC).",
                )
                for j in passed
            ],
            batch_size=2000,
        )
    rollbacks = 0
    policy_allows = _rollback_by_policy({job.device_id for job in failed})
    for job in failed:
        with transaction.atomic():
            rollbacks += _failed(job.pk, job.first_at, now, window, policy_allows.get(job.device_id, True))
    return {"passed": len(passed), "failed": len(failed), "rollbacks": rollbacks}


def _failed(
    job_id: int, unhealthy_at: dt.datetime | None, now: dt.datetime, window: dt.timedelta, policy_allows: bool
) -> int:
    from deployments.alerts import raise_alert
    from deployments.promotion import halt

    job = Job.objects.select_related("deployment", "device").get(pk=job_id)
    deployment = job.deployment
    if unhealthy_at is not None:
        why = f"it reported unhealthy at {unhealthy_at:%Y-%m-%d %H:%M} UTC"
    else:
        why = f"it sent no health report within {int(window.total_seconds() // 60)} minutes"
    reason = f"{job.device} failed its post-update health check after {deployment.name}: {why}."
    JobEvent.objects.create(tenant_id=job.tenant_id, job=job, at=now, state=job.state, message=f"{MARKER}{why}.")
    raise_alert(
        AlertKind.HEALTH_FAILED,
        tenant=job.tenant_id,
        title=f"Health check failed: {job.device} ({deployment.name})",
        body=reason,
        link=f"/deployments/{deployment.pk}/",
        dedupe_key=f"health-failed:{job.pk}",
        severity="critical",
    )
    current = deployment.stages.exclude(
        state__in=[DeploymentStage.State.PASSED, DeploymentStage.State.HALTED, DeploymentStage.State.CANCELLED]
    ).first()
    halt(deployment, current, reason=reason, now=now)
    if job.kind != JobKind.INSTALL:
        return 0
    if not (deployment.allow_rollback and policy_allows):
        why = "the deployment" if not deployment.allow_rollback else "the device's policy"
        JobEvent.objects.create(
            tenant_id=job.tenant_id,
            job=job,
            at=now,
            state=job.state,
            message=f"No automatic rollback: {why} does not allow it.",
        )
        return 0
    return _queue_rollback(job, now)


def _rollback_by_policy(device_ids) -> dict[int, bool]:
    """Device id -> its effective `rollback_on_failure` (one resolution for all failed devices).

    A device with no chain (retired since) keeps the default.
    """
    from patches.policy import chains_for_devices, effective

    if not device_ids:
        return {}
    chains = chains_for_devices(sorted(device_ids))
    by_chain: dict[tuple, bool] = {}
    allows = {}
    for device_id, chain in chains.items():
        if chain.key not in by_chain:
            by_chain[chain.key] = bool(effective(chain)["rollback_on_failure"])
        allows[device_id] = by_chain[chain.key]
    return allows


def rollback_payload(payload: dict) -> dict:
    """What undoes an install job's payload (empty lists when nothing can be undone)."""
    packages = [
        {"name": p["name"], "manager": p.get("manager", ""), "version": p["previous_version"], "from": p.get("version")}
        for p in payload.get("packages") or []
        if p.get("name") and p.get("previous_version")
    ]
    kbs = [{"kb": u["kb"], "patch": u.get("patch")} for u in payload.get("windows_updates") or [] if u.get("kb")]
    winget = [
        {"id": w["id"], "version": w["previous_version"], "from": w.get("version")}
        for w in payload.get("winget") or []
        if w.get("id") and w.get("previous_version")
    ]
    return {
        "deployment": payload.get("deployment"),
        "dry_run": bool(payload.get("dry_run")),
        "packages": packages,
        "windows_updates": kbs,
        "winget": winget,
        "reboot": payload.get("reboot", "if_required"),
        "reboot_postpone_minutes": payload.get("reboot_postpone_minutes", 0),
        "pre_script": None,
        "post_script": None,
    }


def _queue_rollback(job: Job, now: dt.datetime) -> int:
    """One rollback per install job (rollback_of is unique). Queued at once, with no end.

    The rollback job carries no deployment: the deployment is halted, and jobs of a halted
    deployment are not handed out; `rollback_of` links it to the install it undoes.
    """
    from deployments.jobs import mark_devices_due

    payload = rollback_payload(job.payload or {})
    if not (payload["packages"] or payload["windows_updates"] or payload["winget"]):
        JobEvent.objects.create(
            tenant_id=job.tenant_id, job=job, at=now, state=job.state, message="Nothing to roll back automatically."
        )
        return 0
    if Job.objects.filter(rollback_of=job).exists():
        return 0
    rollback = Job.objects.create(
        tenant_id=job.tenant_id,
        deployment=None,
        stage=None,
        device_id=job.device_id,
        kind=JobKind.ROLLBACK,
        state=JobState.QUEUED,
        payload=payload,
        not_before=now,
        not_after=None,
        max_attempts=job.max_attempts,
        rollback_of=job,
        created_at=now,
        updated_at=now,
    )
    JobEvent.objects.create(
        tenant_id=job.tenant_id,
        job=rollback,
        at=now,
        state=JobState.QUEUED,
        message=f"Rollback of job {job.pk} after a failed health check.",
    )
    audit.record(
        "job.rollback_queued",
        rollback,
        changes={"rollback_of": job.pk, "deployment": job.deployment_id},
        message=f"Rolling back {job.device} after a failed health check.",
    )
    device_id = job.device_id
    transaction.on_commit(lambda: mark_devices_due([device_id]))
    return 1
