"""What the deployment pages and the REST API share: launching, the buttons, progress.

Launching goes through deployments.planning.create_deployment (audited there as
"deployment.created"); a run-now launch is the emergency override that ignores maintenance
windows, so it also gets its own "deployment.run_now" entry with the reason given.
Pause, resume and cancel are deployments.dispatch's (each audited there).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count

from deployments import dispatch
from deployments.models import Deployment, Job, JobKind, JobState
from deployments.planning import Plan, create_deployment
from tenants import audit

__all__ = ["ACTIONS", "FINAL", "Progress", "act", "allowed_actions", "is_final", "launch", "progress", "stage_progress"]

# A deployment in these states changes no more: its page stops polling.
FINAL = (Deployment.State.COMPLETED, Deployment.State.CANCELLED)

ACTIONS = {
    "pause": (Deployment.State.SCHEDULED, Deployment.State.RUNNING),
    "resume": (Deployment.State.PAUSED,),
    "cancel": (
        Deployment.State.SCHEDULED,
        Deployment.State.RUNNING,
        Deployment.State.PAUSED,
        Deployment.State.HALTED,
    ),
}


def is_final(deployment: Deployment) -> bool:
    return deployment.state in FINAL


def allowed_actions(deployment: Deployment) -> list[str]:
    return [name for name, states in ACTIONS.items() if deployment.state in states]


def launch(tenant, *, user, now: dt.datetime, run_now_reason: str = "", **options) -> Plan:
    """Create the deployment; a run-now one is audited as the emergency override it is."""
    plan = create_deployment(tenant, user=user, now=now, **options)
    if options.get("run_now"):
        audit.record(
            "deployment.run_now",
            plan.deployment,
            changes={"run_now": True, "dry_run": bool(options.get("dry_run"))},
            message=run_now_reason or "Emergency override: maintenance windows ignored.",
        )
    return plan


def act(deployment: Deployment, action: str, *, now: dt.datetime, reason: str = "") -> Deployment:
    """Pause, resume or cancel (ValidationError when the state does not allow it)."""
    if action == "pause":
        return dispatch.pause(deployment, now=now, reason=reason)
    if action == "resume":
        return dispatch.resume(deployment, now=now)
    if action == "cancel":
        return dispatch.cancel(deployment, now=now, reason=reason)
    raise ValueError(f"unknown action {action!r}")


_DONE = {JobState.SUCCEEDED, JobState.VERIFIED}
_FAILED = {JobState.FAILED, JobState.TIMED_OUT}
_ACTIVE = {JobState.QUEUED, JobState.CLAIMED, JobState.RUNNING, JobState.REBOOT_PENDING}


@dataclass(frozen=True)
class Progress:
    total: int = 0
    pending: int = 0
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0

    @classmethod
    def of(cls, counts: dict[str, int]) -> Progress:
        return cls(
            total=sum(counts.values()),
            pending=counts.get(JobState.PENDING, 0),
            active=sum(counts.get(s, 0) for s in _ACTIVE),
            succeeded=sum(counts.get(s, 0) for s in _DONE),
            failed=sum(counts.get(s, 0) for s in _FAILED),
            cancelled=counts.get(JobState.CANCELLED, 0),
        )

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.cancelled

    @property
    def percent(self) -> int:
        return round(100 * self.finished / self.total) if self.total else 0

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "pending": self.pending,
            "active": self.active,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "percent": self.percent,
        }


def _counts(jobs, key: str) -> dict:
    out: dict = {}
    for row in jobs.filter(kind=JobKind.INSTALL).values(key, "state").annotate(n=Count("id")).order_by():
        out.setdefault(row[key], {})[row["state"]] = row["n"]
    return out


def progress(deployments) -> dict[int, Progress]:
    """Deployment id -> its install jobs' progress, for a page of deployments (one query)."""
    ids = [d.pk for d in deployments]
    counts = _counts(Job.objects.filter(deployment_id__in=ids), "deployment_id")
    return {pk: Progress.of(counts.get(pk, {})) for pk in ids}


def stage_progress(deployment: Deployment) -> dict[int, Progress]:
    """Stage id -> its install jobs' progress (one query)."""
    counts = _counts(Job.objects.filter(deployment_id=deployment.pk), "stage_id")
    return {pk: Progress.of(by_state) for pk, by_state in counts.items()}
