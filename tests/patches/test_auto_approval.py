"""Auto-approval: policies' rules against what devices miss, set-based, honouring deferrals."""

from __future__ import annotations

import datetime as dt

import pytest

from patches.approvals import Verdict, contexts_for_devices, decide, resolve
from patches.auto_approval import auto_approve
from patches.models import Approval, ApprovalOrigin, ApprovalState, PatchPolicy, Scope
from tenants.models import AuditEntry
from tests.factories import DeviceFactory
from tests.patches.approval_helpers import make_patch, missing

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)
SECURITY_HIGH = [{"classifications": ["security"], "min_severity": "high"}]


def verdict(device, patch, now=NOW):
    ctx = contexts_for_devices([device])[device.pk]
    return resolve(patch, list(Approval.objects.filter(patch=patch)), ctx, now).verdict


@pytest.fixture
def fleet(world):
    devices = [DeviceFactory(tenant=world.tenant_a) for _ in range(3)]
    high, medium = make_patch("openssl", severity="high"), make_patch("less", severity="medium")
    for device in devices:
        missing(device, high)
        missing(device, medium)
    return devices, high, medium


def test_a_tenant_rule_approves_what_it_matches_for_that_tenant(world, fleet):
    devices, high, medium = fleet
    policy = PatchPolicy.objects.create(
        scope=Scope.TENANT, tenant=world.tenant_a, settings={"auto_approve": SECURITY_HIGH}
    )

    stats = auto_approve(NOW)

    assert stats["created"] == 1
    approval = Approval.objects.get()
    assert (approval.patch, approval.scope, approval.tenant, approval.state) == (
        high,
        Scope.TENANT,
        world.tenant_a,
        ApprovalState.APPROVED,
    )
    assert (approval.origin, approval.policy, approval.rule) == (
        ApprovalOrigin.POLICY,
        policy,
        "#1: security; severity ≥ high",
    )
    assert all(verdict(d, high) == Verdict.APPROVED for d in devices)
    assert all(verdict(d, medium) == Verdict.UNDECIDED for d in devices)


def test_running_again_creates_nothing_new(world, fleet):
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"auto_approve": SECURITY_HIGH})
    auto_approve(NOW)
    assert auto_approve(NOW)["created"] == 0
    assert Approval.objects.count() == 1


def test_a_global_rule_approves_per_tenant_and_each_is_audited(world, fleet):
    _, high, _ = fleet
    other = DeviceFactory(tenant=world.tenant_b)
    missing(other, high)
    policy = PatchPolicy.objects.create(scope=Scope.GLOBAL, settings={"auto_approve": SECURITY_HIGH})

    auto_approve(NOW)

    approvals = Approval.objects.order_by("tenant__slug")
    assert [(a.scope, a.tenant.slug, a.policy_id) for a in approvals] == [
        (Scope.TENANT, "alpha", policy.pk),
        (Scope.TENANT, "bravo", policy.pk),
    ]
    entries = AuditEntry.objects.filter(action="approval.auto").order_by("tenant_id")
    assert [e.tenant_id for e in entries] == [world.tenant_a.pk, world.tenant_b.pk]
    assert all("security; severity ≥ high" in e.message and e.source == "system" for e in entries)


def test_a_device_whose_own_policy_turns_rules_off_is_not_covered_by_the_tenants(world, fleet):
    devices, high, _ = fleet
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"auto_approve": SECURITY_HIGH})
    PatchPolicy.objects.create(
        scope=Scope.DEVICE, tenant=world.tenant_a, device=devices[0], settings={"auto_approve": []}
    )
    auto_approve(NOW)
    assert verdict(devices[0], high) == Verdict.UNDECIDED
    assert verdict(devices[1], high) == Verdict.APPROVED


def test_deferral_days_count_from_the_release_in_the_tenants_zone(world, fleet):
    devices, high, _ = fleet
    high.released_on = dt.date(2026, 11, 20)
    high.save()
    PatchPolicy.objects.create(
        scope=Scope.TENANT, tenant=world.tenant_a, settings={"auto_approve": SECURITY_HIGH, "deferral_days": 3}
    )
    auto_approve(NOW)
    approval = Approval.objects.get()
    assert (approval.state, approval.defer_until) == (ApprovalState.DEFERRED, dt.date(2026, 11, 23))
    assert verdict(devices[0], high, dt.datetime(2026, 11, 22, 22, 59, tzinfo=dt.UTC)) == Verdict.DEFERRED
    assert (
        verdict(devices[0], high, dt.datetime(2026, 11, 22, 23, 0, tzinfo=dt.UTC)) == Verdict.APPROVED
    )  # Berlin 00:00


def test_a_deferral_already_over_approves_at_once(world, fleet):
    _, high, _ = fleet
    high.released_on = dt.date(2026, 11, 1)
    high.save()
    PatchPolicy.objects.create(
        scope=Scope.TENANT, tenant=world.tenant_a, settings={"auto_approve": SECURITY_HIGH, "deferral_days": 3}
    )
    auto_approve(NOW)
    assert Approval.objects.get().state == ApprovalState.APPROVED


def test_excluded_patches_are_not_auto_approved(world, fleet):
    PatchPolicy.objects.create(
        scope=Scope.TENANT, tenant=world.tenant_a, settings={"auto_approve": SECURITY_HIGH, "exclusions": ["open*"]}
    )
    assert auto_approve(NOW)["created"] == 0


def test_a_person_s_rejection_is_never_overridden(world, fleet):
    devices, high, _ = fleet
    decide([high], action="reject", user=world.tech_all, now=NOW, tenant=world.tenant_a, comment="Breaks printing")
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"auto_approve": SECURITY_HIGH})
    assert auto_approve(NOW)["created"] == 0
    assert verdict(devices[0], high) == Verdict.REJECTED


def test_with_client_sign_off_required_rules_send_the_patch_to_the_client(world, fleet):
    PatchPolicy.objects.create(
        scope=Scope.TENANT,
        tenant=world.tenant_a,
        settings={"auto_approve": SECURITY_HIGH, "requires_client_approval": True},
    )
    auto_approve(NOW)
    approval = Approval.objects.get()
    assert approval.state == ApprovalState.PENDING and approval.awaiting_client


@pytest.mark.parametrize(
    ("rule", "approved"),
    [
        ({"kev_only": True}, {"kev-fix"}),
        ({"products": ["Windows 11*"]}, {"KB5077181"}),
        ({"name_pattern": "Google.*"}, {"Google.Chrome"}),
        ({"kinds": ["application"]}, {"Google.Chrome"}),
        ({"classifications": ["driver"]}, {"driver-kb"}),
        ({"min_severity": "critical"}, {"KB5077181"}),
    ],
)
def test_rules_match_on_kev_product_name_kind_classification_and_severity(world, rule, approved):
    device = DeviceFactory(tenant=world.tenant_a)
    patches = [
        make_patch("kev-fix", severity="medium", kev=True),
        make_patch("KB5077181", kind="windows", severity="critical", product="Windows 11 Version 24H2"),
        make_patch("Google.Chrome", kind="application", classification="update", severity="", version="133.0"),
        make_patch("driver-kb", kind="windows", classification="driver", severity=""),
    ]
    for patch in patches:
        missing(device, patch)
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"auto_approve": [rule]})
    auto_approve(NOW)
    assert {a.patch.name for a in Approval.objects.all()} == approved


def test_a_superseded_patch_counts_as_its_replacement(world):
    device = DeviceFactory(tenant=world.tenant_a)
    new = make_patch("openssl", version="3.0.16-1")
    old = make_patch("openssl", version="3.0.15-1", superseded_by=new)
    missing(device, old)  # the device's only finding names the older fix
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"auto_approve": SECURITY_HIGH})
    auto_approve(NOW)
    assert [a.patch for a in Approval.objects.all()] == [new]
    assert verdict(device, old) == Verdict.SUPERSEDED and verdict(device, new) == Verdict.APPROVED


def test_fixed_and_accepted_findings_do_not_make_a_patch_missing(world):
    device = DeviceFactory(tenant=world.tenant_a)
    fixed, accepted = make_patch(), make_patch()
    missing(device, fixed, state="fixed")
    missing(device, accepted, state="accepted")
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"auto_approve": SECURITY_HIGH})
    assert auto_approve(NOW)["created"] == 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_new_findings_are_auto_approved_through_the_worker(world, celery_worker):
    import time

    from devices.inventory import apply_inventory
    from tests.patches.test_matching import osv, pkg, publish

    PatchPolicy.objects.create(
        scope=Scope.TENANT, tenant=world.tenant_a, settings={"auto_approve": [{"classifications": ["security"]}]}
    )
    publish(osv("DSA-9001-1", "openssl", "3.0.15-1~deb12u1"))
    device = DeviceFactory(tenant=world.tenant_a, hostname="a-web")
    apply_inventory(device, "dpkg", [pkg("libssl3", "3.0.14-1~deb12u2", "openssl")])  # the worker matches it
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not Approval.objects.exists():
        time.sleep(0.2)
    approval = Approval.objects.get()
    assert (approval.patch.name, approval.patch.version, approval.state) == (
        "openssl",
        "3.0.15-1~deb12u1",
        ApprovalState.APPROVED,
    )
