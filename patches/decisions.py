"""Decisions a person makes from the approval queue or the API, checked against their access.

`patches.approvals.decide` works on one scope target at a time; a bulk decision from the
queue names (tenant, patch) items across tenants, so it is split per tenant here, and every
tenant is checked first: 404 for a tenant the user cannot see, 403 where their role may not
decide. The whole bulk decision commits or fails as one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404

from patches.approvals import decide
from patches.models import Approval, Patch, Scope
from portal.db_scope import db_scope
from tenants.access import require

__all__ = ["DECIDE", "BulkResult", "decide_for_tenants", "expiry_from_date", "parse_items", "require_global"]

DECIDE = "approval.decide"


@dataclass
class BulkResult:
    approvals: list[Approval]

    @property
    def sent_to_client(self) -> int:
        return sum(1 for a in self.approvals if a.awaiting_client)


def parse_items(values, access) -> list[tuple[object, Patch]]:
    """ "<tenant id>:<patch id>" values into (tenant, patch) pairs the user may decide on."""
    from tenants.models import Tenant

    pairs = []
    for value in values:
        tenant_id, _, patch_id = str(value).partition(":")
        if not (tenant_id.isdigit() and patch_id.isdigit()):
            raise ValidationError({"items": f"Not a queue item: {value!r}."})
        pairs.append((int(tenant_id), int(patch_id)))
    if not pairs:
        raise ValidationError({"items": "Select at least one patch."})
    for tenant_id in {t for t, _ in pairs}:
        require(access, tenant_id, DECIDE)  # 404 outside the user's tenants, 403 for a too-low role
    tenants = Tenant.objects.in_bulk({t for t, _ in pairs})
    if len(tenants) != len({t for t, _ in pairs}):
        raise Http404("No such tenant")  # staff who see every tenant "may see" ids that do not exist
    patches = Patch.objects.in_bulk({p for _, p in pairs})
    unknown = sorted({p for _, p in pairs} - set(patches))
    if unknown:
        raise ValidationError({"items": f"No such patch: {', '.join(map(str, unknown))}."})
    return [(tenants[t], patches[p]) for t, p in dict.fromkeys(pairs)]


def require_global(access) -> None:
    """Only MSP admins decide for every tenant at once."""
    if not access.is_admin:
        raise PermissionDenied("Only MSP admins decide for all tenants.")


def expiry_from_date(day: dt.date | None, tenant=None) -> dt.datetime | None:
    """An approval that "expires on" a day stops applying when that day begins for the tenant."""
    if day is None:
        return None
    zone = ZoneInfo(str(tenant.time_zone)) if tenant is not None else dt.UTC
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone)


def decide_for_tenants(
    access,
    user,
    items: list[tuple[object, Patch]],
    *,
    action: str,
    now: dt.datetime,
    scope: str = Scope.TENANT,
    comment: str = "",
    defer_until: dt.date | None = None,
    expires_on: dt.date | None = None,
) -> BulkResult:
    """Decide queue items at the tenant scope (one `decide` per tenant) or globally (admins).

    Runs in the user's own database scope: a tenant page narrows the scope to that tenant,
    and a global decision is written outside every tenant.
    """
    if scope not in (Scope.TENANT, Scope.GLOBAL):
        raise ValidationError({"scope": "Choose the tenant or all tenants."})
    decided: list[Approval] = []
    with db_scope(access.scope), transaction.atomic():
        if scope == Scope.GLOBAL:
            require_global(access)
            patches = list(dict.fromkeys(patch for _, patch in items))
            decided += decide(
                patches,
                action=action,
                user=user,
                now=now,
                scope=Scope.GLOBAL,
                comment=comment,
                defer_until=defer_until,
                expires_at=expiry_from_date(expires_on),
            )
        else:
            by_tenant: dict[object, list[Patch]] = defaultdict(list)
            for tenant, patch in items:
                by_tenant[tenant].append(patch)
            for tenant, patches in sorted(by_tenant.items(), key=lambda pair: pair[0].name):
                require(access, tenant.pk, DECIDE)
                decided += decide(
                    patches,
                    action=action,
                    user=user,
                    now=now,
                    scope=Scope.TENANT,
                    tenant=tenant,
                    comment=comment,
                    defer_until=defer_until,
                    expires_at=expiry_from_date(expires_on, tenant),
                )
    return BulkResult(decided)
