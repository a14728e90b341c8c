"""The approval queue: per tenant, the patches some device misses, with their risk and status.

An item is (tenant, patch): the patch is missing on at least one of the tenant's devices
(an open finding it fixes, or an offered update not installed; a superseded patch counts
as its replacement). Its risk is the highest score among those findings, its status the
tenant-level decision: the tenant's open approval, else a global one, else undecided.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from patches.models import Approval, Patch, Scope
from patches.models.approvals import CLOSED_STATES

__all__ = ["QueueItem", "approval_queue"]

MISSING_BY_TENANT = """
    WITH missing AS (
        SELECT f.tenant_id, coalesce(pt.superseded_by_id, pt.id) AS patch_id, f.device_id, f.score, f.kev,
               f.first_seen_at
        FROM patches_finding f JOIN patches_patch pt ON pt.id = f.patch_id
        WHERE f.state = 'open' AND f.tenant_id = ANY(%(tenants)s)
        UNION ALL
        SELECT du.tenant_id, coalesce(pt.superseded_by_id, pt.id), du.device_id, 0, false, du.first_seen_at
        FROM devices_deviceupdate du
        JOIN patches_patchupdate pu ON pu.update_id = du.update_id
        JOIN patches_patch pt ON pt.id = pu.patch_id
        JOIN devices_device d ON d.id = du.device_id AND d.retired_at IS NULL
        WHERE NOT du.installed AND du.tenant_id = ANY(%(tenants)s)
    )
    SELECT tenant_id, patch_id, count(DISTINCT device_id), max(score), bool_or(kev), min(first_seen_at)
    FROM missing GROUP BY tenant_id, patch_id
"""

UNDECIDED = "undecided"
STATUSES = [UNDECIDED, "pending", "awaiting_client", "approved", "deferred", "rejected"]


@dataclass
class QueueItem:
    tenant: object
    patch: Patch
    devices: int
    risk: float
    kev: bool
    first_seen_at: dt.datetime
    approval: Approval | None  # the tenant's, else the global one

    @property
    def status(self) -> str:
        if self.approval is None:
            return UNDECIDED
        if self.approval.awaiting_client:
            return "awaiting_client"
        return self.approval.state

    def age_days(self, now: dt.datetime) -> int:
        since = self.patch.released_on or self.first_seen_at.date()
        return max(0, (now.date() - since).days)


def approval_queue(
    tenants,
    now: dt.datetime,
    *,
    statuses=(UNDECIDED, "pending", "awaiting_client"),
    severity: str = "",
    kev: bool = False,
    min_age_days: int | None = None,
    product: str = "",
) -> list[QueueItem]:
    """Queue items for these tenants, highest risk first."""
    tenants = {t.pk: t for t in tenants}
    if not tenants:
        return []
    with connection.cursor() as cursor:
        cursor.execute(MISSING_BY_TENANT, {"tenants": list(tenants)})
        rows = cursor.fetchall()
    patches = Patch.objects.in_bulk({row[1] for row in rows})
    approvals = _tenant_level_approvals(list(tenants), list(patches))
    items = []
    for tenant_id, patch_id, devices, risk, any_kev, first_seen in rows:
        patch = patches[patch_id]
        approval = approvals.get((tenant_id, patch_id)) or approvals.get((None, patch_id))
        item = QueueItem(
            tenants[tenant_id], patch, devices, float(risk or 0), any_kev or patch.kev, first_seen, approval
        )
        if _wanted(item, now, statuses, severity, kev, min_age_days, product):
            items.append(item)
    items.sort(key=lambda i: (-i.kev, -i.risk, -i.devices, i.tenant.name, str(i.patch)))
    return items


def _tenant_level_approvals(tenant_ids, patch_ids) -> dict[tuple, Approval]:
    rows = (
        Approval.objects.filter(patch_id__in=patch_ids)
        .filter(Q(scope=Scope.TENANT, tenant_id__in=tenant_ids) | Q(scope=Scope.GLOBAL))
        .exclude(state__in=CLOSED_STATES)
        .select_related("decided_by")
    )
    return {(approval.tenant_id, approval.patch_id): approval for approval in rows}


def _wanted(item: QueueItem, now, statuses, severity, kev, min_age_days, product) -> bool:
    if statuses and item.status not in statuses:
        return False
    if severity and item.patch.severity != severity:
        return False
    if kev and not item.kev:
        return False
    if min_age_days is not None and item.age_days(now) < min_age_days:
        return False
    needle = product.strip().lower()
    return not needle or any(
        needle in value.lower() for value in (item.patch.product, item.patch.name, item.patch.title)
    )
