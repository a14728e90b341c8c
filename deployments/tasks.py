"""Deployments in the background: the minute tick, the dispatch of a new deployment, and
the hourly automatic deployments by policy (`auto_deploy`, see deployments.auto_deploy).

`tick` runs every minute from beat (see `beat_schedule`). Each step runs in its own
transaction in the system scope, under a PostgreSQL advisory lock taken with
`pg_try_advisory_xact_lock`: a second tick running at the same time skips a step the first
one holds instead of doing it twice, and the lock ends with the step's transaction. Every
step is idempotent, so a step skipped (or a tick lost) is caught up by the next tick.
"""

from __future__ import annotations

import logging
import zlib

from celery import shared_task
from django.db import connection
from django.utils import timezone

from portal.db_scope import system_scope

__all__ = ["auto_deploy", "beat_schedule", "dispatch_deployment", "run_step", "tick"]

log = logging.getLogger(__name__)


def beat_schedule() -> dict:
    """The beat entries of this app, for portal/settings.py's CELERY_BEAT_SCHEDULE."""
    return {
        "deployments-tick": {"task": "deployments.tasks.tick", "schedule": 60.0},
        "deployments-auto-deploy": {"task": "deployments.tasks.auto_deploy", "schedule": 60 * 60},
    }


def _try_lock(name: str) -> bool:
    key = zlib.crc32(f"deployments.tick.{name}".encode())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
        return bool(cursor.fetchone()[0])


def _steps():
    from deployments import dispatch, jobs, promotion, watch

    return [
        ("release_due", dispatch.release_due),
        ("sweep_leases", jobs.sweep_leases),
        ("advance_all", promotion.advance_all),
        ("watch", watch.watch),
    ]


def run_step(name: str, step, now):
    """One step in its own transaction under its lock; None when another tick holds it."""
    with system_scope():
        if not _try_lock(name):
            log.info("deployments.tick: %s is running elsewhere, skipped", name)
            return None
        return step(now)


@shared_task(atomic_scope=False, ignore_result=True, soft_time_limit=55, time_limit=90)
def tick(now: str | None = None) -> dict:
    """Release due jobs, sweep leases, advance stages, watch health: each step on its own."""
    moment = timezone.now() if now is None else timezone.datetime.fromisoformat(now)
    done = {}
    for name, step in _steps():
        try:
            done[name] = run_step(name, step, moment)
        except Exception:  # one failing step must not stop the others; the next tick retries
            log.exception("deployments.tick: %s failed", name)
            done[name] = "error"
    return {name: _plain(value) for name, value in done.items()}


def _plain(value):
    if value is None or isinstance(value, (int, str, dict)):
        return value
    return getattr(value, "__dict__", str(value))


@shared_task(ignore_result=True, soft_time_limit=120, time_limit=150)
def dispatch_deployment(deployment_id: int, tenant_id: int | None = None) -> int:
    """Schedule a new deployment's first stage (enqueued on commit by planning.create_deployment)."""
    from deployments import dispatch
    from deployments.models import Deployment

    deployment = Deployment.objects.filter(pk=deployment_id).first()
    if deployment is None:
        return 0
    return dispatch.start(deployment, now=timezone.now())


@shared_task(atomic_scope=False, ignore_result=True, soft_time_limit=600, time_limit=700)
def auto_deploy(now: str | None = None):
    """Deploy approved patches to the devices whose policy says auto_deploy (hourly, from beat)."""
    from deployments.auto_deploy import create_from_policy

    moment = timezone.now() if now is None else timezone.datetime.fromisoformat(now)
    return run_step("auto_deploy", create_from_policy, moment)
