"""Reading accepted risks: whether each is active, expired or revoked in its tenant's calendar,
how many findings it holds accepted now, and who may own one."""

from __future__ import annotations

from django.db.models import Case, Count, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from patches.models import Finding, FindingState, RiskException
from tenants.models import User
from tenants.roles import MspRole

__all__ = ["ACTIVE", "EXPIRED", "REVOKED", "eligible_owners", "local_today", "status", "with_covered_counts"]

ACTIVE, EXPIRED, REVOKED = "active", "expired", "revoked"


def local_today(tenant, now=None):
    return timezone.localdate(now or timezone.now(), tenant.time_zone)


def status(exception: RiskException, today) -> str:
    """`today`: the date in the exception's tenant; it still holds on its expiry date."""
    if exception.revoked_at is not None:
        return REVOKED
    return ACTIVE if exception.expires_on >= today else EXPIRED


def _accepted_count(**target):
    counted = Finding.objects.filter(tenant_id=OuterRef("tenant_id"), state=FindingState.ACCEPTED, **target)
    return Subquery(counted.order_by().values("tenant_id").annotate(n=Count("id")).values("n")[:1])


def with_covered_counts(exceptions):
    """Annotate `covered_now`: findings of its target that are `accepted` at the moment (the
    target's findings can be held accepted by another exception too; the list says so)."""
    by_covers = Case(
        When(covers=RiskException.Covers.FINDING, then=_accepted_count(pk=OuterRef("finding_id"))),
        When(covers=RiskException.Covers.DEVICE, then=_accepted_count(device_id=OuterRef("device_id"))),
        When(covers=RiskException.Covers.ADVISORY, then=_accepted_count(advisory_id=OuterRef("advisory_id"))),
        output_field=IntegerField(),
    )
    return exceptions.annotate(covered_now=Coalesce(by_covers, Value(0)))


def eligible_owners(tenant):
    """Who may own a tenant's accepted risk: its members and the MSP's staff."""
    staff = Q(msp_role__in=[MspRole.ADMIN, MspRole.TECHNICIAN])
    return User.objects.filter(staff | Q(memberships__tenant=tenant), is_active=True).distinct().order_by("email")
