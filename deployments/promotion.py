"""Stage completion, soak, gate, promotion and halt.

Counting a stage (its install jobs; cancelled ones count for nothing):

* final: verified, failed, timed out, cancelled; and a job the agent reported `succeeded`
  that the inventory has not confirmed within settings.JOB_VERIFY_MINUTES (default 240)
  after it finished. Until then an unverified success keeps the stage running.
* succeeded (for the gate): verified jobs only. An unverified success that ran out of
  time is final but is not a success: the gate needs proof from the inventory.
* failed (for the halt rule): failed and timed out.
* failure rate = failed / (jobs - cancelled); success rate = verified / (jobs - cancelled)
  (100 % when nothing was attempted, so that only `gate_min_devices` decides then).

At any time, a failure rate above the stage's `halt_failure_percent` halts the stage and the
deployment (with `halted_reason` and a DEPLOYMENT_HALTED alert). A running stage whose jobs
are all final soaks for `soak_hours`; then the gate passes when the success rate reaches
`gate_min_success_percent` and at least `gate_min_devices` succeeded: the next stage is
scheduled into its next opening (dispatch.schedule_stage), or, after the last stage, the
deployment completes. A gate that fails halts.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q

from deployments.models import AlertKind, Deployment, DeploymentStage, Job, JobKind, JobState
from deployments.signals import deployment_finished
from tenants import audit

__all__ = ["StageCounts", "advance", "advance_all", "halt", "stage_counts", "verify_minutes"]

log = logging.getLogger(__name__)

ACTIVE = [Deployment.State.SCHEDULED, Deployment.State.RUNNING]
UNDER_WAY = [DeploymentStage.State.SCHEDULED, DeploymentStage.State.RUNNING, DeploymentStage.State.SOAKING]
ENDED_STAGES = [DeploymentStage.State.PASSED, DeploymentStage.State.HALTED, DeploymentStage.State.CANCELLED]
FAILED = [JobState.FAILED, JobState.TIMED_OUT]
HARD_FINAL = [JobState.VERIFIED, JobState.FAILED, JobState.TIMED_OUT, JobState.CANCELLED]


def verify_minutes() -> int:
    return int(getattr(settings, "JOB_VERIFY_MINUTES", 240))


@dataclass(frozen=True)
class StageCounts:
    total: int
    cancelled: int
    verified: int
    failed: int
    final: int

    @property
    def attempted(self) -> int:
        return self.total - self.cancelled

    @property
    def failure_percent(self) -> float:
        return 100.0 * self.failed / self.attempted if self.attempted else 0.0

    @property
    def success_percent(self) -> float:
        return 100.0 * self.verified / self.attempted if self.attempted else 100.0

    @property
    def all_final(self) -> bool:
        return self.final == self.total


def stage_counts(stage: DeploymentStage, now: dt.datetime) -> StageCounts:
    verify_by = now - dt.timedelta(minutes=verify_minutes())
    row = Job.objects.filter(stage=stage, kind=JobKind.INSTALL).aggregate(
        total=Count("id"),
        cancelled=Count("id", filter=Q(state=JobState.CANCELLED)),
        verified=Count("id", filter=Q(state=JobState.VERIFIED)),
        failed=Count("id", filter=Q(state__in=FAILED)),
        final=Count("id", filter=Q(state__in=HARD_FINAL) | Q(state=JobState.SUCCEEDED, finished_at__lte=verify_by)),
    )
    return StageCounts(**row)


def halt(deployment: Deployment, stage: DeploymentStage | None, *, reason: str, now: dt.datetime) -> bool:
    """Halt the stage and the deployment (jobs not yet released stay pending); alert once."""
    from deployments.alerts import raise_alert

    changed = Deployment.objects.filter(pk=deployment.pk, state__in=[*ACTIVE, Deployment.State.PAUSED]).update(
        state=Deployment.State.HALTED, halted_reason=reason
    )
    if stage is not None:
        DeploymentStage.objects.filter(pk=stage.pk).exclude(state__in=ENDED_STAGES).update(
            state=DeploymentStage.State.HALTED, finished_at=now
        )
    if not changed:
        return False
    audit.record(
        "deployment.halted",
        deployment,
        changes={"state": [deployment.state, Deployment.State.HALTED]},
        message=reason,
    )
    raise_alert(
        AlertKind.DEPLOYMENT_HALTED,
        tenant=deployment.tenant_id,
        title=f"Deployment halted: {deployment.name}",
        body=reason,
        link=f"/deployments/{deployment.pk}/",
        dedupe_key=f"deployment-halted:{deployment.pk}",
        severity="critical",
    )
    deployment.state, deployment.halted_reason = Deployment.State.HALTED, reason
    deployment_finished.send(Deployment, deployment=deployment, state=Deployment.State.HALTED, now=now)
    return True


def advance(deployment: Deployment, *, now: dt.datetime) -> str:
    """Move the deployment's current stage on as far as its jobs and the clock allow.

    Returns what happened ("halted", "soaking", "passed", "completed", "scheduled" or "").
    Safe to run twice at once: the deployment row is locked, a second caller skips it.
    """
    from deployments.dispatch import schedule_stage, start

    with transaction.atomic():
        deployment = (
            Deployment.objects.select_for_update(skip_locked=True).filter(pk=deployment.pk, state__in=ACTIVE).first()
        )
        if deployment is None:
            return ""
        stages = list(deployment.stages.order_by("position"))
        current = next((s for s in stages if s.state not in ENDED_STAGES), None)
        if current is None:
            return _complete(deployment, now) if all(s.state == DeploymentStage.State.PASSED for s in stages) else ""
        if current.state == DeploymentStage.State.WAITING:
            # The creation task was lost, or the previous stage passed without scheduling this one.
            start(deployment, now=now)
            return "scheduled"
        counts = stage_counts(current, now)
        if counts.failure_percent > current.halt_failure_percent:
            halt(
                deployment,
                current,
                reason=(
                    f"{current.name}: {counts.failed} of {counts.attempted} devices failed "
                    f"({counts.failure_percent:.0f} %, the limit is {current.halt_failure_percent} %)."
                ),
                now=now,
            )
            return "halted"
        if current.state in (DeploymentStage.State.SCHEDULED, DeploymentStage.State.RUNNING):
            if not counts.all_final:
                return ""
            soak_until = now + dt.timedelta(hours=current.soak_hours)
            DeploymentStage.objects.filter(pk=current.pk).update(
                state=DeploymentStage.State.SOAKING, soak_until=soak_until, started_at=current.started_at or now
            )
            current.state, current.soak_until = DeploymentStage.State.SOAKING, soak_until
            if soak_until > now:
                return "soaking"
        if current.state != DeploymentStage.State.SOAKING or current.soak_until > now:
            return ""
        # The gate.
        if counts.success_percent < current.gate_min_success_percent or counts.verified < current.gate_min_devices:
            halt(
                deployment,
                current,
                reason=(
                    f"{current.name} did not pass its gate: {counts.verified} of {counts.attempted} devices succeeded "
                    f"({counts.success_percent:.0f} %); the gate needs {current.gate_min_success_percent} % "
                    f"and at least {current.gate_min_devices} devices."
                ),
                now=now,
            )
            return "halted"
        DeploymentStage.objects.filter(pk=current.pk).update(state=DeploymentStage.State.PASSED, finished_at=now)
        audit.record(
            "deployment.stage_passed",
            deployment,
            changes={"stage": current.name, "verified": counts.verified, "attempted": counts.attempted},
            message=f"{current.name} passed its gate ({counts.success_percent:.0f} %).",
        )
        later = [s for s in stages if s.position > current.position and s.state == DeploymentStage.State.WAITING]
        if not later:
            return _complete(deployment, now)
        schedule_stage(later[0], now=now)
        return "passed"


def _complete(deployment: Deployment, now: dt.datetime) -> str:
    changed = Deployment.objects.filter(pk=deployment.pk, state__in=ACTIVE).update(
        state=Deployment.State.COMPLETED, finished_at=now
    )
    audit.record("deployment.completed", deployment, changes={"state": [deployment.state, "completed"]})
    if changed:
        deployment_finished.send(Deployment, deployment=deployment, state=Deployment.State.COMPLETED, now=now)
    return "completed"


def needing_attention(now: dt.datetime):
    """Active deployments where `advance` may have something to do (one query)."""
    stages = DeploymentStage.objects.filter(deployment=OuterRef("pk"))
    jobs = Job.objects.filter(stage=OuterRef("pk"), kind=JobKind.INSTALL)
    verify_by = now - dt.timedelta(minutes=verify_minutes())
    open_jobs = jobs.exclude(state__in=HARD_FINAL).exclude(state=JobState.SUCCEEDED, finished_at__lte=verify_by)
    under_way = stages.filter(state__in=UNDER_WAY)
    return Deployment.objects.filter(state__in=ACTIVE).filter(
        # soaked long enough
        Exists(stages.filter(state=DeploymentStage.State.SOAKING, soak_until__lte=now))
        # every job of a running stage is final
        | Exists(under_way.exclude(state=DeploymentStage.State.SOAKING).filter(~Exists(open_jobs)))
        # a failure to weigh against the halt limit
        | Exists(under_way.filter(Exists(jobs.filter(state__in=FAILED))))
        # nothing under way: the next stage to schedule, or the end
        | ~Exists(under_way)
    )


def advance_all(now: dt.datetime) -> dict[str, int]:
    """Advance every deployment that needs it, each in its own transaction."""
    done: dict[str, int] = {}
    for deployment in needing_attention(now).only("pk"):
        try:
            outcome = advance(deployment, now=now)
        except Exception:  # one broken deployment must not hold up the others
            log.exception("advancing deployment %s failed", deployment.pk)
            continue
        if outcome:
            done[outcome] = done.get(outcome, 0) + 1
    return done
