"""Matching, approvals and sign-off mail in the background.

Matching is started by inventory uploads, offered updates and feed syncs; when it found
something new, auto-approval follows for what it touched.
"""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.db import transaction

from patches.matching import engine


def _then_auto_approve(stats: dict, tenant_ids: list[int] | None = None) -> dict:
    if stats.get("inserted") or stats.get("windows_inserted") or stats.get("reopened"):
        transaction.on_commit(lambda: auto_approve_patches.delay(tenant_ids=tenant_ids))
    return stats


@shared_task(ignore_result=True)
def match_device(device_id: int, tenant_id: int | None = None) -> dict:
    stats = engine.match_devices([device_id])
    return _then_auto_approve(stats, [tenant_id] if tenant_id is not None else None)


@shared_task(ignore_result=True, soft_time_limit=1800, time_limit=2000)
def match_advisories(advisory_keys: list[str]) -> dict:
    stats = engine.match_advisories(advisory_keys)
    # New fixed versions may supersede patches that have open approvals.
    transaction.on_commit(lambda: approvals_housekeeping.delay())
    return _then_auto_approve(stats)


@shared_task(ignore_result=True, soft_time_limit=1800, time_limit=2000)
def match_intel(cve_ids: list[str]) -> None:
    engine.match_intel(cve_ids)


@shared_task(ignore_result=True, soft_time_limit=1800, time_limit=2000)
def match_windows() -> dict:
    transaction.on_commit(lambda: approvals_housekeeping.delay())
    return _then_auto_approve(engine.match_windows())


@shared_task(ignore_result=True, soft_time_limit=3000, time_limit=3600)
def match_everything() -> dict:
    transaction.on_commit(lambda: approvals_housekeeping.delay())
    return _then_auto_approve(engine.match_everything())


@shared_task(ignore_result=True, soft_time_limit=1800, time_limit=2000)
def daily_compliance_snapshot(day: str | None = None) -> int:
    """Beat runs this after midnight UTC for the day that just ended (and again during the day)."""
    import datetime as dt

    from django.utils import timezone

    from patches.compliance import take_snapshots

    now = timezone.now()
    return take_snapshots(dt.date.fromisoformat(day) if day else now.date(), now)


@shared_task(ignore_result=True, soft_time_limit=1800, time_limit=2000)
def rescore_open_findings() -> None:
    """Scores age and KEV due dates move with the clock: refresh every open finding daily."""
    from django.utils import timezone

    from patches.matching.materialize import Scope, refresh_intel

    refresh_intel(Scope(), timezone.now())


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=700)
def auto_approve_patches(tenant_ids: list[int] | None = None) -> dict:
    """Beat runs this for every tenant; matching runs it for what it touched."""
    from django.utils import timezone

    from patches.auto_approval import auto_approve
    from tenants.audit import SYSTEM, acting_as

    with acting_as(SYSTEM):
        return auto_approve(timezone.now(), tenant_ids)


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=700)
def approvals_housekeeping() -> dict:
    """The clock's part: supersede, expire and release approvals; start and end accepted risks."""
    from django.utils import timezone

    from patches import approvals
    from patches.risk_acceptance import apply_exceptions
    from tenants.audit import SYSTEM, acting_as

    now = timezone.now()
    with acting_as(SYSTEM):
        accepted, reopened = apply_exceptions(now)
        return {
            "superseded": approvals.close_superseded(now),
            "expired": approvals.expire_approvals(now),
            "released": approvals.release_deferrals(now),
            "risks_accepted": accepted,
            "risks_reopened": reopened,
        }


@shared_task(
    ignore_result=True, autoretry_for=(OSError, SMTPException), retry_backoff=30, retry_jitter=True, max_retries=6
)
def notify_client_sign_off(approval_ids: list[int], tenant_id: int | None = None) -> int:
    """E-mail the tenant's client owners the patches that wait for their sign-off."""
    from patches.emails import send_sign_off_request
    from patches.models import Approval

    waiting = [
        a for a in Approval.objects.filter(pk__in=approval_ids).select_related("patch", "tenant") if a.awaiting_client
    ]
    return send_sign_off_request(waiting[0].tenant, waiting) if waiting else 0
