"""Approvals: what applies to a device, decisions by people, and the clock's part in them.

Resolution, for one device and one patch: a superseded patch is never installed (its
replacement is); a patch the device's policy excludes is never installed; otherwise the
most specific scope that holds an open approval decides (device, group, site, tenant,
global), and at that scope a rejection wins any conflict, then anything still pending,
then a deferral that has not ended. An approval a policy made applies only to the devices
that policy governs, and a device whose policy requires the client's sign-off needs it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from patches.models import Approval, ApprovalOrigin, ApprovalState, Patch, Scope
from patches.models.approvals import CLOSED_STATES
from patches.models.scoping import SPECIFICITY
from patches.policy import Chain, chains_for_devices, effective, is_excluded
from tenants import audit

__all__ = [
    "Decision",
    "DeviceContext",
    "Verdict",
    "client_decide",
    "close_superseded",
    "contexts_for_devices",
    "deadline_at",
    "decide",
    "deferral_ends_at",
    "expire_approvals",
    "local_midnight",
    "local_today",
    "release_deferrals",
    "resolve",
]


class Verdict:
    APPROVED = "approved"
    REJECTED = "rejected"
    PENDING = "pending"
    AWAITING_CLIENT = "awaiting_client"
    DEFERRED = "deferred"
    EXCLUDED = "excluded"
    SUPERSEDED = "superseded"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class DeviceContext:
    device_id: int
    tenant_id: int
    site_id: int | None
    group_ids: frozenset[int]
    time_zone: dt.tzinfo
    auto_approve_policy_id: int | None
    requires_client: bool
    exclusions: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    verdict: str
    approval: Approval | None = None
    until: dt.date | None = None

    @property
    def installable(self) -> bool:
        return self.verdict == Verdict.APPROVED


def local_today(now: dt.datetime, time_zone) -> dt.date:
    return now.astimezone(time_zone).date()


def local_midnight(day: dt.date, time_zone) -> dt.datetime:
    """The moment `day` begins in the zone (an hour's DST shift changes the UTC instant)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=time_zone).astimezone(dt.UTC)


def deferral_ends_at(defer_until: dt.date, time_zone) -> dt.datetime:
    return local_midnight(defer_until, time_zone)


def deadline_at(approved_at: dt.datetime, deadline_days: int, time_zone) -> dt.datetime:
    """Installed by the end of the N-th local calendar day after the approval."""
    day = local_today(approved_at, time_zone) + dt.timedelta(days=deadline_days + 1)
    return local_midnight(day, time_zone)


def _applies(approval: Approval, ctx: DeviceContext) -> bool:
    if approval.origin == ApprovalOrigin.POLICY and approval.policy_id != ctx.auto_approve_policy_id:
        return False  # approved by a policy that does not govern this device
    return {
        Scope.GLOBAL: True,
        Scope.TENANT: approval.tenant_id == ctx.tenant_id,
        Scope.SITE: approval.site_id is not None and approval.site_id == ctx.site_id,
        Scope.GROUP: approval.group_id in ctx.group_ids,
        Scope.DEVICE: approval.device_id == ctx.device_id,
    }[approval.scope]


def resolve(patch: Patch, approvals, ctx: DeviceContext, now: dt.datetime) -> Decision:
    """The decision for one patch on one device, from the patch's approvals."""
    if patch.superseded_by_id is not None:
        return Decision(Verdict.SUPERSEDED)
    if is_excluded(list(ctx.exclusions), patch):
        return Decision(Verdict.EXCLUDED)
    live = [
        a
        for a in approvals
        if a.state not in CLOSED_STATES and (a.expires_at is None or a.expires_at > now) and _applies(a, ctx)
    ]
    today = local_today(now, ctx.time_zone)
    for level in SPECIFICITY:
        here = [a for a in live if a.scope == level]
        if not here:
            continue
        rejected = [a for a in here if a.state == ApprovalState.REJECTED]
        if rejected:
            return Decision(Verdict.REJECTED, rejected[0])
        pending = [a for a in here if a.state == ApprovalState.PENDING]
        if pending:
            waiting = [a for a in pending if a.awaiting_client]
            return Decision(Verdict.AWAITING_CLIENT, waiting[0]) if waiting else Decision(Verdict.PENDING, pending[0])
        later = [a for a in here if a.state == ApprovalState.DEFERRED and a.defer_until > today]
        if later:
            first = min(later, key=lambda a: a.defer_until)
            return Decision(Verdict.DEFERRED, first, first.defer_until)
        approval = here[0]
        if ctx.requires_client and approval.client_decided_at is None:
            return Decision(Verdict.AWAITING_CLIENT if approval.awaiting_client else Verdict.PENDING, approval)
        return Decision(Verdict.APPROVED, approval)
    return Decision(Verdict.UNDECIDED)


def device_groups(tenant_ids) -> dict[int, set[int]]:
    """Device id -> every group it is in (explicit members and rules), for some tenants."""
    from devices.models import DeviceGroup

    members: dict[int, set[int]] = defaultdict(set)
    for group in DeviceGroup.objects.filter(tenant_id__in=tenant_ids):
        for device_id in group.devices().values_list("id", flat=True):
            members[device_id].add(group.pk)
    return members


def contexts_for_devices(devices=None, tenant_ids=None) -> dict[int, DeviceContext]:
    from devices.models import Device
    from tenants.models import Tenant

    chains = chains_for_devices(devices, tenant_ids)
    tenants = {chain.tenant_id for chain in chains.values()}
    zones = {pk: ZoneInfo(str(tz)) for pk, tz in Tenant.objects.filter(pk__in=tenants).values_list("pk", "time_zone")}
    sites = dict(Device.objects.filter(pk__in=list(chains)).values_list("pk", "site_id"))
    groups = device_groups(tenants)
    effective_by_chain = {}
    contexts = {}
    for device_id, chain in chains.items():
        eff = effective_by_chain.setdefault(chain.key, effective(chain))
        contexts[device_id] = DeviceContext(
            device_id=device_id,
            tenant_id=chain.tenant_id,
            site_id=sites.get(device_id),
            group_ids=frozenset(groups.get(device_id, ())),
            time_zone=zones[chain.tenant_id],
            auto_approve_policy_id=eff.source_policy_id("auto_approve"),
            requires_client=bool(eff["requires_client_approval"]),
            exclusions=tuple(eff["exclusions"]),
        )
    return contexts


# ---- Decisions by people ------------------------------------------------------------------


ACTIONS = ("approve", "reject", "defer", "reopen")


def _target(scope: str, tenant=None, site=None, group=None, device=None) -> dict:
    fields = {"scope": scope, "tenant": None, "site": None, "group": None, "device": None}
    if scope != Scope.GLOBAL:
        if tenant is None:
            raise ValidationError("A tenant is required below the global scope.")
        fields["tenant"] = tenant
    if scope == Scope.SITE:
        fields["site"] = site
    elif scope == Scope.GROUP:
        fields["group"] = group
    elif scope == Scope.DEVICE:
        fields["device"] = device
    named = {Scope.SITE: site, Scope.GROUP: group, Scope.DEVICE: device}.get(scope, tenant)
    if scope != Scope.GLOBAL and named is None:
        raise ValidationError(f"A {Scope(scope).label.lower()} is required for this scope.")
    for obj in (site, group, device):
        if obj is not None and scope != Scope.GLOBAL and obj.tenant_id != tenant.pk:
            raise ValidationError("The scope's target belongs to another tenant.")
    return fields


def _requires_client(target: dict) -> bool:
    """Whether the policy that governs the target asks for the client's sign-off."""
    from patches.models import PatchPolicy

    tenant = target["tenant"]
    if tenant is None:
        return False  # an MSP-wide decision; tenants that require sign-off still get asked (resolve)
    if target["device"] is not None:
        return bool(
            effective(chains_for_devices([target["device"].pk])[target["device"].pk])["requires_client_approval"]
        )

    def policy(**lookup):
        return PatchPolicy.objects.filter(**lookup).first()

    chain = Chain(
        tenant.pk,
        (
            policy(scope=Scope.GLOBAL),
            policy(scope=Scope.TENANT, tenant=tenant),
            policy(scope=Scope.SITE, site=target["site"]) if target["site"] else None,
            policy(scope=Scope.GROUP, group=target["group"]) if target["group"] else None,
            None,
        ),
    )
    return bool(effective(chain)["requires_client_approval"])


@transaction.atomic
def decide(
    patches,
    *,
    action: str,
    user,
    now: dt.datetime,
    scope: str = Scope.TENANT,
    tenant=None,
    site=None,
    group=None,
    device=None,
    comment: str = "",
    defer_until: dt.date | None = None,
    expires_at: dt.datetime | None = None,
) -> list[Approval]:
    """Approve, reject, defer or reopen patches at one scope; each decision is audited.

    Approving for a tenant whose policy requires the client's sign-off sends the approval
    to the client owners instead (they are e-mailed once the transaction commits).
    """
    if action not in ACTIONS:
        raise ValidationError(f"Unknown action {action!r}.")
    comment = (comment or "").strip()
    if action == "reject" and not comment:
        raise ValidationError({"comment": "A rejection needs a comment saying why."})
    target = _target(scope, tenant, site, group, device)
    zone = ZoneInfo(str(tenant.time_zone)) if tenant is not None else dt.UTC
    if action == "defer" and (defer_until is None or defer_until <= local_today(now, zone)):
        raise ValidationError({"defer_until": "A deferral needs a date after today."})
    if expires_at is not None and expires_at <= now:
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    needs_client = action == "approve" and _requires_client(target)
    decided = []
    for patch in patches:
        approval = _open_approval(patch, target) or Approval(patch=patch, **target)
        approval.origin, approval.policy, approval.rule = ApprovalOrigin.MANUAL, None, ""
        approval.comment, approval.decided_by, approval.decided_at = comment, user, now
        approval.expires_at = expires_at
        approval.defer_until = defer_until if action == "defer" else None
        approval.needs_client, approval.client_requested_at = needs_client, now if needs_client else None
        approval.client_decided_by = approval.client_decided_at = None
        approval.client_comment = ""
        approval.state = {
            "approve": ApprovalState.PENDING if needs_client else ApprovalState.APPROVED,
            "reject": ApprovalState.REJECTED,
            "defer": ApprovalState.DEFERRED,
            "reopen": ApprovalState.PENDING,
        }[action]
        approval.save()
        decided.append(approval)
    if needs_client:
        _notify_client(tenant.pk, [a.pk for a in decided])
    return decided


def _open_approval(patch, target: dict) -> Approval | None:
    lookup = {key: value for key, value in target.items()}
    return Approval.objects.select_for_update().filter(patch=patch, **lookup).exclude(state__in=CLOSED_STATES).first()


def _notify_client(tenant_id: int, approval_ids: list[int]) -> None:
    from patches.tasks import notify_client_sign_off

    transaction.on_commit(lambda: notify_client_sign_off.delay(approval_ids, tenant_id=tenant_id))


@transaction.atomic
def client_decide(approval: Approval, *, approve: bool, user, now: dt.datetime, comment: str = "") -> Approval:
    """The client owner's sign-off (or refusal) of an approval sent to them."""
    approval = Approval.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=approval.pk)
    if not approval.awaiting_client:
        raise ValidationError("This item is not waiting for your decision.")
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationError({"comment": "Please say why you decline."})
    approval.client_decided_by, approval.client_decided_at, approval.client_comment = user, now, comment
    if approve:
        today = local_today(now, ZoneInfo(str(approval.tenant.time_zone)))
        later = approval.defer_until is not None and approval.defer_until > today
        approval.state = ApprovalState.DEFERRED if later else ApprovalState.APPROVED
    else:
        approval.state, approval.comment = ApprovalState.REJECTED, comment
    approval.save()
    return approval


# ---- The clock ----------------------------------------------------------------------------


def _close(queryset, state: str, now: dt.datetime, action: str, message) -> int:
    rows = list(queryset.select_related("patch", "tenant", "site", "group", "device"))
    if not rows:
        return 0
    Approval.objects.filter(pk__in=[a.pk for a in rows]).update(state=state, closed_at=now)
    audit.record_many(action, rows, changes=lambda a: {"state": [a.state, state]}, message=message)
    return len(rows)


def close_superseded(now: dt.datetime) -> int:
    """Open approvals of patches that something newer replaces close on their own."""
    stale = Approval.objects.exclude(state__in=CLOSED_STATES).filter(patch__superseded_by__isnull=False)
    return _close(
        stale,
        ApprovalState.SUPERSEDED,
        now,
        "approval.superseded",
        lambda a: f"Superseded by {a.patch.superseded_by}",
    )


def expire_approvals(now: dt.datetime) -> int:
    due = Approval.objects.exclude(state__in=CLOSED_STATES).filter(expires_at__lte=now)
    return _close(due, ApprovalState.EXPIRED, now, "approval.expired", "The approval reached its expiry.")


def release_deferrals(now: dt.datetime) -> int:
    """Deferred approvals whose date has come (in their tenant's zone) become approved.

    A global deferral is released once its date has come everywhere; until then each
    tenant's devices already see it as approved from their own midnight (see resolve).
    """
    from tenants.models import Tenant

    zones = dict(Tenant.objects.values_list("pk", "time_zone"))
    deferred = Approval.objects.filter(state=ApprovalState.DEFERRED).filter(
        Q(tenant__isnull=True) | Q(tenant_id__in=list(zones))
    )
    due = []
    for approval in deferred.select_related("patch", "tenant", "site", "group", "device"):
        zone = ZoneInfo(str(zones[approval.tenant_id])) if approval.tenant_id else ZoneInfo("Etc/GMT+12")
        if approval.defer_until <= local_today(now, zone):
            due.append(approval)
    if not due:
        return 0
    Approval.objects.filter(pk__in=[a.pk for a in due]).update(state=ApprovalState.APPROVED)
    audit.record_many(
        "approval.deferral_ended",
        due,
        changes={"state": [ApprovalState.DEFERRED, ApprovalState.APPROVED]},
        message=lambda a: f"Deferred until {a.defer_until}",
    )
    return len(due)
