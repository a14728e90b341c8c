"""Approvals: the most specific scope decides, a rejection wins its level, the clock moves them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from devices.models import DeviceGroup, DeviceGroupMember
from patches import approvals
from patches.approvals import Verdict, contexts_for_devices, deadline_at, decide, deferral_ends_at, resolve
from patches.models import Approval, ApprovalState, PatchPolicy, Scope
from tenants import audit
from tenants.models import AuditEntry
from tests.factories import DeviceFactory
from tests.patches.approval_helpers import make_patch

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)
BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


def verdict(device, patch, now=NOW):
    ctx = contexts_for_devices([device])[device.pk]
    return resolve(patch, list(Approval.objects.filter(patch=patch)), ctx, now)


@pytest.fixture
def layout(world):
    group_a = DeviceGroup.objects.create(tenant=world.tenant_a, name="Servers")
    group_b = DeviceGroup.objects.create(tenant=world.tenant_a, name="Finance")
    device = DeviceFactory(tenant=world.tenant_a, site=world.site_a)
    for group in (group_a, group_b):
        DeviceGroupMember.objects.create(tenant=world.tenant_a, group=group, device=device)
    return device, group_a, group_b


def test_an_undecided_patch_is_not_installable(layout):
    device, *_ = layout
    decision = verdict(device, make_patch())
    assert decision.verdict == Verdict.UNDECIDED and not decision.installable


def test_the_most_specific_scope_wins(world, layout):
    device, group, _ = layout
    patch = make_patch()
    decide([patch], action="approve", user=world.msp_admin, now=NOW, scope=Scope.GLOBAL)
    assert verdict(device, patch).verdict == Verdict.APPROVED
    decide([patch], action="reject", user=world.tech_all, now=NOW, tenant=world.tenant_a, comment="Breaks the ERP")
    assert verdict(device, patch).verdict == Verdict.REJECTED
    decide(
        [patch], action="approve", user=world.tech_all, now=NOW, scope=Scope.GROUP, tenant=world.tenant_a, group=group
    )
    assert verdict(device, patch).verdict == Verdict.APPROVED
    decide(
        [patch],
        action="reject",
        user=world.tech_all,
        now=NOW,
        scope=Scope.DEVICE,
        tenant=world.tenant_a,
        device=device,
        comment="This one runs the old ERP",
    )
    assert verdict(device, patch).verdict == Verdict.REJECTED
    # Another device of the tenant, outside the group: the tenant's rejection applies.
    assert verdict(DeviceFactory(tenant=world.tenant_a), patch).verdict == Verdict.REJECTED
    # A device of another tenant: only the global approval applies.
    assert verdict(DeviceFactory(tenant=world.tenant_b), patch).verdict == Verdict.APPROVED


def test_a_rejection_wins_a_conflict_at_the_same_level(world, layout):
    device, group_a, group_b = layout
    patch = make_patch()
    kwargs = {"user": world.tech_all, "now": NOW, "scope": Scope.GROUP, "tenant": world.tenant_a}
    decide([patch], action="approve", group=group_a, **kwargs)
    decide([patch], action="reject", group=group_b, comment="Finance closes the books this week", **kwargs)
    decision = verdict(device, patch)
    assert decision.verdict == Verdict.REJECTED and decision.approval.group == group_b


def test_a_rejection_needs_a_comment_and_saves_nothing_without_one(world):
    patch = make_patch()
    with pytest.raises(ValidationError) as error:
        decide([patch], action="reject", user=world.tech_all, now=NOW, tenant=world.tenant_a, comment="  ")
    assert "comment" in error.value.message_dict
    assert not Approval.objects.exists()


def test_a_deferral_needs_a_future_date_in_the_tenants_zone(world):
    patch = make_patch()
    today_in_berlin = dt.date(2026, 11, 21)
    with pytest.raises(ValidationError):
        decide(
            [patch], action="defer", user=world.tech_all, now=NOW, tenant=world.tenant_a, defer_until=today_in_berlin
        )
    (approval,) = decide(
        [patch], action="defer", user=world.tech_all, now=NOW, tenant=world.tenant_a, defer_until=dt.date(2026, 11, 23)
    )
    assert approval.state == ApprovalState.DEFERRED


@pytest.mark.parametrize(
    ("zone_name", "defer_until", "just_before", "at"),
    [
        # Berlin moves to summer time on 2026-03-29: that day begins at 23:00 UTC the evening before
        # (CET), the next at 22:00 UTC (CEST).
        ("Europe/Berlin", dt.date(2026, 3, 29), "2026-03-28T22:59:59+00:00", "2026-03-28T23:00:00+00:00"),
        ("Europe/Berlin", dt.date(2026, 3, 30), "2026-03-29T21:59:59+00:00", "2026-03-29T22:00:00+00:00"),
        # New York: summer time from 2026-03-08, standard time again from 2026-11-01.
        ("America/New_York", dt.date(2026, 3, 8), "2026-03-08T04:59:59+00:00", "2026-03-08T05:00:00+00:00"),
        ("America/New_York", dt.date(2026, 3, 9), "2026-03-09T03:59:59+00:00", "2026-03-09T04:00:00+00:00"),
        ("America/New_York", dt.date(2026, 11, 1), "2026-11-01T03:59:59+00:00", "2026-11-01T04:00:00+00:00"),
        ("America/New_York", dt.date(2026, 11, 2), "2026-11-02T04:59:59+00:00", "2026-11-02T05:00:00+00:00"),
    ],
)
def test_a_deferral_ends_at_local_midnight_across_dst_changes(world, zone_name, defer_until, just_before, at):
    tenant = world.tenant_a if zone_name == "Europe/Berlin" else world.tenant_b
    device = DeviceFactory(tenant=tenant)
    patch = make_patch()
    decide(
        [patch],
        action="defer",
        user=world.tech_all,
        now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        tenant=tenant,
        defer_until=defer_until,
    )
    assert deferral_ends_at(defer_until, ZoneInfo(zone_name)) == dt.datetime.fromisoformat(at)
    before = verdict(device, patch, dt.datetime.fromisoformat(just_before))
    assert (before.verdict, before.until) == (Verdict.DEFERRED, defer_until)
    assert verdict(device, patch, dt.datetime.fromisoformat(at)).verdict == Verdict.APPROVED


def test_a_global_deferral_ends_at_each_tenants_own_midnight(world):
    berlin, new_york = DeviceFactory(tenant=world.tenant_a), DeviceFactory(tenant=world.tenant_b)
    patch = make_patch()
    Approval.objects.create(
        patch=patch, scope=Scope.GLOBAL, state=ApprovalState.DEFERRED, defer_until=dt.date(2026, 11, 25)
    )
    midnight_berlin = dt.datetime(2026, 11, 24, 23, tzinfo=dt.UTC)
    assert verdict(berlin, patch, midnight_berlin).verdict == Verdict.APPROVED
    assert verdict(new_york, patch, midnight_berlin).verdict == Verdict.DEFERRED
    assert verdict(new_york, patch, dt.datetime(2026, 11, 25, 5, tzinfo=dt.UTC)).verdict == Verdict.APPROVED


@pytest.mark.parametrize(
    ("zone", "approved_at", "days", "deadline"),
    [
        # Approved on Friday 2026-03-27 in Berlin, 2 days: installed by the end of Sunday 03-29, when the
        # clocks went forward, so the deadline is 22:00 UTC (not 23:00).
        (BERLIN, "2026-03-27T10:00:00+00:00", 2, "2026-03-29T22:00:00+00:00"),
        (BERLIN, "2026-10-23T10:00:00+00:00", 2, "2026-10-25T23:00:00+00:00"),
        # New York, across the autumn change on 2026-11-01: end of 11-01 is 05:00 UTC on 11-02.
        (NEW_YORK, "2026-10-30T15:00:00+00:00", 2, "2026-11-02T05:00:00+00:00"),
        (NEW_YORK, "2026-03-06T15:00:00+00:00", 2, "2026-03-09T04:00:00+00:00"),
        # Late evening in New York is already the next day in UTC; the local date counts.
        (NEW_YORK, "2026-11-21T03:30:00+00:00", 0, "2026-11-21T05:00:00+00:00"),
    ],
)
def test_deadlines_end_with_the_local_day_across_dst_changes(zone, approved_at, days, deadline):
    assert deadline_at(dt.datetime.fromisoformat(approved_at), days, zone) == dt.datetime.fromisoformat(deadline)


def test_an_expired_approval_no_longer_counts_and_is_closed_by_the_clock(world):
    device = DeviceFactory(tenant=world.tenant_a)
    patch = make_patch()
    (approval,) = decide(
        [patch],
        action="approve",
        user=world.tech_all,
        now=NOW,
        tenant=world.tenant_a,
        expires_at=NOW + dt.timedelta(days=30),
    )
    later = NOW + dt.timedelta(days=30)
    assert verdict(device, patch, later - dt.timedelta(seconds=1)).verdict == Verdict.APPROVED
    assert verdict(device, patch, later).verdict == Verdict.UNDECIDED
    assert approvals.expire_approvals(later) == 1
    approval.refresh_from_db()
    assert (approval.state, approval.closed_at) == (ApprovalState.EXPIRED, later)
    assert AuditEntry.objects.filter(action="approval.expired", object_id=str(approval.pk)).exists()


def test_a_superseded_patch_closes_its_approvals_and_is_never_installed(world):
    device = DeviceFactory(tenant=world.tenant_a)
    old, new = make_patch("openssl", version="3.0.15-1"), make_patch("openssl", version="3.0.16-1")
    (approval,) = decide([old], action="approve", user=world.tech_all, now=NOW, tenant=world.tenant_a)
    old.superseded_by = new
    old.save()
    assert verdict(device, old).verdict == Verdict.SUPERSEDED
    assert approvals.close_superseded(NOW) == 1
    approval.refresh_from_db()
    assert approval.state == ApprovalState.SUPERSEDED
    entry = AuditEntry.objects.get(action="approval.superseded", object_id=str(approval.pk))
    assert "openssl" in entry.message


def test_deferrals_are_released_by_the_clock_in_the_tenants_zone(world):
    patch = make_patch()
    (approval,) = decide(
        [patch], action="defer", user=world.tech_all, now=NOW, tenant=world.tenant_b, defer_until=dt.date(2026, 11, 25)
    )
    assert approvals.release_deferrals(dt.datetime(2026, 11, 25, 4, 59, tzinfo=dt.UTC)) == 0  # 23:59 in New York
    assert approvals.release_deferrals(dt.datetime(2026, 11, 25, 5, 0, tzinfo=dt.UTC)) == 1
    approval.refresh_from_db()
    assert approval.state == ApprovalState.APPROVED


def test_excluded_patches_are_never_installed_whatever_was_approved(world):
    device = DeviceFactory(tenant=world.tenant_a)
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"exclusions": ["KB50771*"]})
    patch = make_patch("KB5077181", kind="windows", title="2026-02 Cumulative Update (KB5077181)")
    decide([patch], action="approve", user=world.msp_admin, now=NOW, scope=Scope.GLOBAL)
    assert verdict(device, patch).verdict == Verdict.EXCLUDED


def test_every_decision_is_in_the_audit_log_with_who_and_why(world):
    patch = make_patch()
    with audit.acting_as(audit.Actor(world.tech_all.pk, world.tech_all.email, "ui")):
        decide([patch], action="reject", user=world.tech_all, now=NOW, tenant=world.tenant_a, comment="Known bad")
        decide([patch], action="approve", user=world.tech_all, now=NOW, tenant=world.tenant_a, comment="Fixed now")
    entries = list(AuditEntry.objects.filter(object_type="patches.approval").order_by("id"))
    assert [e.action for e in entries] == ["create", "update"]
    assert all(e.actor_id == world.tech_all.pk and e.tenant_id == world.tenant_a.pk for e in entries)
    assert entries[0].changes["state"] == [None, "rejected"] and entries[0].changes["comment"] == [None, "Known bad"]
    assert entries[1].changes["state"] == ["rejected", "approved"]
    assert entries[1].changes["comment"] == ["Known bad", "Fixed now"]


def test_a_scope_target_of_another_tenant_is_refused(world):
    other_group = DeviceGroup.objects.create(tenant=world.tenant_b, name="Elsewhere")
    with pytest.raises(ValidationError):
        decide(
            [make_patch()],
            action="approve",
            user=world.tech_all,
            now=NOW,
            scope=Scope.GROUP,
            tenant=world.tenant_a,
            group=other_group,
        )


# ---- Client sign-off ------------------------------------------------------------------------


@pytest.fixture
def sign_off(world):
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"requires_client_approval": True})
    device = DeviceFactory(tenant=world.tenant_a)
    patch = make_patch()
    (approval,) = decide([patch], action="approve", user=world.tech_all, now=NOW, tenant=world.tenant_a)
    return device, patch, approval


def test_a_technicians_approval_waits_for_the_client_when_the_policy_says_so(world, sign_off):
    device, patch, approval = sign_off
    assert approval.awaiting_client and approval.client_requested_at == NOW
    assert verdict(device, patch).verdict == Verdict.AWAITING_CLIENT


def test_the_client_owner_approves_and_the_patch_becomes_installable(world, sign_off):
    device, patch, approval = sign_off
    approvals.client_decide(approval, approve=True, user=world.owner_a, now=NOW)
    approval.refresh_from_db()
    assert (approval.state, approval.client_decided_by) == (ApprovalState.APPROVED, world.owner_a)
    assert verdict(device, patch).verdict == Verdict.APPROVED


def test_the_client_owner_declines_with_a_reason(world, sign_off):
    device, patch, approval = sign_off
    with pytest.raises(ValidationError):
        approvals.client_decide(approval, approve=False, user=world.owner_a, now=NOW)
    approvals.client_decide(approval, approve=False, user=world.owner_a, now=NOW, comment="Month-end close")
    approval.refresh_from_db()
    assert (approval.state, approval.comment) == (ApprovalState.REJECTED, "Month-end close")
    assert verdict(device, patch).verdict == Verdict.REJECTED
    with pytest.raises(ValidationError):  # decided already
        approvals.client_decide(approval, approve=True, user=world.owner_a, now=NOW)


def test_a_global_approval_still_needs_the_clients_sign_off_where_the_policy_requires_it(world):
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"requires_client_approval": True})
    patch = make_patch()
    decide([patch], action="approve", user=world.msp_admin, now=NOW, scope=Scope.GLOBAL)
    assert verdict(DeviceFactory(tenant=world.tenant_a), patch).verdict == Verdict.PENDING
    assert verdict(DeviceFactory(tenant=world.tenant_b), patch).verdict == Verdict.APPROVED


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_sign_off_request_reaches_the_client_owners_by_mail(world, smtp_server, celery_worker):
    import time

    from django.db import transaction

    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"requires_client_approval": True})
    patch = make_patch("openssl", title="openssl 3.0.16-1~deb12u1", cves=["CVE-2026-1111"], kev=True)
    with transaction.atomic():
        decide([patch], action="approve", user=world.tech_all, now=NOW, tenant=world.tenant_a)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not smtp_server.messages:
        time.sleep(0.1)
    (message,) = smtp_server.messages
    assert message["To"] == "owner@alpha.test"
    body = message.get_body(("plain",)).get_content()
    assert "openssl 3.0.16-1~deb12u1" in body and "CVE-2026-1111" in body and "/t/alpha/sign-off/" in body
