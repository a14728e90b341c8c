"""Accepted risks: recording them, and keeping the findings they cover marked `accepted`.

A finding covered by an active exception (not revoked, its expiry date not yet passed in the
tenant's time zone) is `accepted` instead of `open`; when the exception ends it is `open`
again. Matching calls `apply_exceptions` for what it touched; the clock's task for the rest.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from patches.models import RiskException

__all__ = ["accept_risk", "apply_exceptions", "revoke"]

# Findings an active exception covers; `now` is a parameter, the tenant's zone gives the date.
COVERED = """
    EXISTS (
        SELECT 1 FROM patches_riskexception e JOIN tenants_tenant t ON t.id = e.tenant_id
        WHERE e.tenant_id = f.tenant_id AND e.revoked_at IS NULL
          AND (%(now)s AT TIME ZONE t.time_zone)::date <= e.expires_on
          AND ((e.covers = 'finding' AND e.finding_id = f.id)
               OR (e.covers = 'device' AND e.device_id = f.device_id)
               OR (e.covers = 'advisory' AND e.advisory_id = f.advisory_id))
    )
"""


def apply_exceptions(now: dt.datetime, where: str = "", params: dict | None = None) -> tuple[int, int]:
    """Mark covered open findings accepted, and uncovered accepted ones open again.

    `where` narrows the findings (alias f) with named parameters; cheap when no tenant has
    ever accepted a risk.
    """
    params = {"now": now, **(params or {})}
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM patches_riskexception)")
        if not cursor.fetchone()[0]:
            return 0, 0
        cursor.execute(
            f"UPDATE patches_finding f SET state = 'accepted' WHERE f.state = 'open' {where} AND {COVERED}", params
        )
        accepted = cursor.rowcount
        cursor.execute(
            f"UPDATE patches_finding f SET state = 'open' WHERE f.state = 'accepted' {where} AND NOT {COVERED}",
            params,
        )
        return accepted, cursor.rowcount


def _local_today(tenant, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(str(tenant.time_zone))).date()


@transaction.atomic
def accept_risk(
    *, tenant, owner, reason: str, expires_on: dt.date, user, now: dt.datetime, finding=None, device=None, advisory=None
) -> RiskException:
    """Record an accepted risk for one finding, a device or an advisory, and apply it at once."""
    targets = {"finding": finding, "device": device, "advisory": advisory}
    named = [covers for covers, target in targets.items() if target is not None]
    if len(named) != 1:
        raise ValidationError("An exception covers exactly one finding, device or advisory.")
    covers = named[0]
    if covers in ("finding", "device") and targets[covers].tenant_id != tenant.pk:
        raise ValidationError(f"That {covers} belongs to another tenant.")
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the risk is accepted."})
    if expires_on <= _local_today(tenant, now):
        raise ValidationError({"expires_on": "The expiry must be after today."})
    exception = RiskException.objects.create(
        tenant=tenant,
        covers=covers,
        owner=owner,
        reason=reason.strip(),
        expires_on=expires_on,
        created_by=user,
        created_at=now,
        **{covers: targets[covers]},
    )
    apply_exceptions(now, "AND f.tenant_id = %(tenant)s", {"tenant": tenant.pk})
    return exception


@transaction.atomic
def revoke(exception: RiskException, *, user, now: dt.datetime) -> RiskException:
    if exception.revoked_at is not None:
        raise ValidationError("This exception was already revoked.")
    exception.revoked_at, exception.revoked_by = now, user
    exception.save()
    apply_exceptions(now, "AND f.tenant_id = %(tenant)s", {"tenant": exception.tenant_id})
    return exception
