"""Auto-approval: every policy's rules against every patch some device it governs is missing.

Set-based: devices are grouped by their policy chain (thousands of devices share a handful
of chains), one SQL statement lists the distinct (chain, patch) pairs that are missing
somewhere, rules are evaluated once per pair, and the new approvals and their audit entries
are written in bulk. An approval is made at the scope of the policy whose rules matched (a
global policy's, per tenant), and it applies only to the devices that policy governs.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from patches.approvals import _notify_client, local_today
from patches.models import Approval, ApprovalOrigin, ApprovalState, Patch, Scope
from patches.models.approvals import CLOSED_STATES
from patches.policy import chains_for_devices, describe_rule, effective, is_excluded, matching_rule
from tenants import audit

__all__ = ["auto_approve"]

# Distinct (chain, patch) pairs missing somewhere: open findings, and offered updates not
# installed; a superseded patch counts as the patch that replaces it.
MISSING_PAIRS = """
    SELECT DISTINCT dc.chain, coalesce(pt.superseded_by_id, pt.id)
    FROM patches_finding f
    JOIN device_chain dc ON dc.device_id = f.device_id
    JOIN patches_patch pt ON pt.id = f.patch_id
    WHERE f.state = 'open'
    UNION
    SELECT DISTINCT dc.chain, coalesce(pt.superseded_by_id, pt.id)
    FROM devices_deviceupdate du
    JOIN device_chain dc ON dc.device_id = du.device_id
    JOIN patches_patchupdate pu ON pu.update_id = du.update_id
    JOIN patches_patch pt ON pt.id = pu.patch_id
    WHERE NOT du.installed
"""


def _target_of(policy, tenant) -> tuple:
    """(scope, tenant, site, group, device) of the approval a policy's rule makes."""
    if policy.scope == Scope.GLOBAL:
        return (Scope.TENANT, tenant, None, None, None)
    return (policy.scope, policy.tenant, policy.site, policy.group, policy.device)


def _ids(target: tuple) -> tuple:
    return (target[0], *(obj.pk if obj is not None else None for obj in target[1:]))


def _existing_targets(patch_ids) -> set[tuple]:
    rows = (
        Approval.objects.filter(patch_id__in=patch_ids)
        .exclude(state__in=CLOSED_STATES)
        .values_list("patch_id", "scope", "tenant_id", "site_id", "group_id", "device_id")
    )
    return {(patch, (scope, tenant, site, group, device)) for patch, scope, tenant, site, group, device in rows}


@transaction.atomic
def auto_approve(now: dt.datetime, tenant_ids=None) -> dict:
    """Create the approvals the policies' rules call for; returns counts and step timings."""
    from tenants.models import Tenant

    started = time.perf_counter()
    chains = chains_for_devices(tenant_ids=tenant_ids)
    keys: dict[tuple, int] = {}
    members: dict[int, list[int]] = defaultdict(list)
    governing = {}
    for device_id, chain in chains.items():
        index = keys.setdefault(chain.key, len(keys))
        if index not in governing:
            governing[index] = (chain, effective(chain))
        members[index].append(device_id)
    # Only chains that have rules need their missing patches listed.
    active = {index for index, (_, eff) in governing.items() if eff["auto_approve"]}
    timings = {"chains": round(time.perf_counter() - started, 3)}
    if not active:
        return {"created": 0, "chains": len(governing), "pairs": 0, "seconds": timings}

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS device_chain")
        cursor.execute("CREATE TEMP TABLE device_chain (device_id bigint PRIMARY KEY, chain int) ON COMMIT DROP")
        devices = [d for index in active for d in members[index]]
        chain_of = [index for index in active for _ in members[index]]
        cursor.execute("INSERT INTO device_chain SELECT * FROM unnest(%s::bigint[], %s::int[])", [devices, chain_of])
        cursor.execute("ANALYZE device_chain")
        cursor.execute(MISSING_PAIRS)
        pairs = cursor.fetchall()
        cursor.execute("DROP TABLE device_chain")
    timings["pairs"] = round(time.perf_counter() - started, 3)

    started = time.perf_counter()
    patches = Patch.objects.in_bulk({patch_id for _, patch_id in pairs})
    existing = _existing_targets(list(patches))
    tenants = Tenant.objects.in_bulk({chain.tenant_id for chain, _ in governing.values()})
    zones = {pk: ZoneInfo(str(tenant.time_zone)) for pk, tenant in tenants.items()}
    created: list[Approval] = []
    for index, patch_id in pairs:
        chain, eff = governing[index]
        patch = patches[patch_id]
        if patch.superseded_by_id is not None or is_excluded(eff["exclusions"], patch):
            continue
        matched = matching_rule(eff["auto_approve"], patch)
        if matched is None:
            continue
        policy = eff.sources["auto_approve"]
        target = _target_of(policy, tenants[chain.tenant_id])
        if (patch_id, _ids(target)) in existing:
            continue
        existing.add((patch_id, _ids(target)))
        created.append(_approval(patch, policy, matched, target, eff, zones[chain.tenant_id], now))
    timings["rules"] = round(time.perf_counter() - started, 3)

    started = time.perf_counter()
    Approval.objects.bulk_create(created, batch_size=2000)
    audit.record_many(
        "approval.auto",
        created,
        changes=lambda a: {"state": [None, a.state], "defer_until": [None, a.defer_until]},
        message=lambda a: f"Auto-approve rule of {a.policy}: {a.rule}",
    )
    for tenant_id, ids in _client_requests(created).items():
        _notify_client(tenant_id, ids)
    timings["write"] = round(time.perf_counter() - started, 3)
    return {"created": len(created), "chains": len(governing), "pairs": len(pairs), "seconds": timings}


def _approval(patch, policy, matched, target, eff, zone, now) -> Approval:
    scope, tenant, site, group, device = target
    index, rule = matched
    released = patch.released_on or patch.first_seen_at.astimezone(zone).date()
    defer_until = released + dt.timedelta(days=eff["deferral_days"])
    later = defer_until > local_today(now, zone)
    needs_client = bool(eff["requires_client_approval"])
    state = ApprovalState.PENDING if needs_client else ApprovalState.DEFERRED if later else ApprovalState.APPROVED
    return Approval(
        patch=patch,
        scope=scope,
        tenant=tenant,
        site=site,
        group=group,
        device=device,
        state=state,
        origin=ApprovalOrigin.POLICY,
        policy=policy,
        rule=f"#{index + 1}: {describe_rule(rule)}"[:200],
        defer_until=defer_until if later else None,
        decided_at=now,
        needs_client=needs_client,
        client_requested_at=now if needs_client else None,
        created_at=now,
    )


def _client_requests(created: list[Approval]) -> dict[int, list[int]]:
    requests: dict[int, list[int]] = defaultdict(list)
    for approval in created:
        if approval.needs_client:
            requests[approval.tenant_id].append(approval.pk)
    return requests
