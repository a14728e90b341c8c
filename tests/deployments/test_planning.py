"""Planning: ring membership by precedence, and only approved patches for each device."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from deployments.dispatch import schedule_stage
from deployments.models import Deployment, DeploymentStage, Job, Ring, RingMember
from deployments.planning import create_deployment, ring_assignment
from devices.models import DeviceGroup, DeviceGroupMember
from patches.approvals import decide
from patches.models import PatchPolicy, Scope
from tenants.models import AuditEntry
from tests.deployments.planning_helpers import NOW, approved_patch, fleet, rings
from tests.factories import DeviceFactory
from tests.patches.approval_helpers import make_patch, missing

pytestmark = pytest.mark.django_db


def test_a_device_belongs_to_the_earliest_ring_and_the_catch_all_takes_the_rest(world):
    tenant = world.tenant_a
    servers = DeviceGroup.objects.create(tenant=tenant, name="Servers")
    web = DeviceGroup.objects.create(tenant=tenant, name="Web", kind=DeviceGroup.Kind.RULE, rule_tags_all=["web"])
    pilot = Ring.objects.create(tenant=tenant, name="Pilot", position=0, tags=["canary"])
    early = Ring.objects.create(tenant=tenant, name="Early", position=1)
    late = Ring.objects.create(tenant=tenant, name="Late", position=2)
    rest = Ring.objects.create(tenant=tenant, name="Everyone else", position=3, catch_all=True)
    after_catch_all = Ring.objects.create(tenant=tenant, name="Never reached", position=4, tags=["misc"])
    RingMember.objects.create(tenant=tenant, ring=early, group=servers)
    RingMember.objects.create(tenant=tenant, ring=late, group=web)

    canary_server = DeviceFactory(tenant=tenant, tags=["canary"])  # tag (pilot) and group (early)
    server = DeviceFactory(tenant=tenant)
    web_server = DeviceFactory(tenant=tenant, tags=["web"])  # group (early) and rule group (late)
    web_only = DeviceFactory(tenant=tenant, tags=["web"])
    explicit = DeviceFactory(tenant=tenant)
    RingMember.objects.create(tenant=tenant, ring=late, device=explicit)
    RingMember.objects.create(tenant=tenant, ring=pilot, device=explicit)  # explicit in pilot too
    other = DeviceFactory(tenant=tenant, tags=["misc"])
    retired = DeviceFactory(tenant=tenant, tags=["canary"], retired_at=timezone.now())
    for device in (canary_server, server, web_server):
        DeviceGroupMember.objects.create(tenant=tenant, group=servers, device=device)
    DeviceFactory(tenant=world.tenant_b, tags=["canary"])  # another client's device

    assignment = ring_assignment(tenant)

    assert {device_id: ring.name for device_id, ring in assignment.items()} == {
        canary_server.pk: "Pilot",
        explicit.pk: "Pilot",
        server.pk: "Early",
        web_server.pk: "Early",
        web_only.pk: "Late",
        other.pk: "Everyone else",
    }
    assert retired.pk not in assignment
    assert after_catch_all not in assignment.values() and rest in assignment.values()


def test_only_approved_patches_go_out_and_the_rest_are_reported(world):
    tenant = world.tenant_a
    pilot_device, excluded_device, rejected_device = (DeviceFactory(tenant=tenant) for _ in range(3))
    rings(tenant, pilot_devices=[pilot_device, excluded_device, rejected_device])
    approved = approved_patch(world, name="openssl")
    rejected = make_patch(name="nginx")
    deferred = make_patch(name="curl")
    undecided = make_patch(name="bash")
    decide([rejected], action="reject", user=world.tech_all, now=NOW, tenant=tenant, comment="Breaks the proxy")
    decide(
        [deferred], action="defer", user=world.tech_all, now=NOW, tenant=tenant, defer_until=NOW.date().replace(day=30)
    )
    for device in (pilot_device, excluded_device, rejected_device):
        for patch in (approved, rejected, deferred, undecided):
            missing(device, patch)
    PatchPolicy.objects.create(
        scope=Scope.DEVICE, tenant=tenant, device=excluded_device, settings={"exclusions": ["openssl"]}
    )
    decide(
        [approved],
        action="reject",
        user=world.tech_all,
        now=NOW,
        scope=Scope.DEVICE,
        tenant=tenant,
        device=rejected_device,
        comment="Runs the old ERP",
    )

    plan = create_deployment(
        tenant, name="November", patches=[approved, rejected, deferred, undecided], user=world.tech_all, now=NOW
    )

    assert plan.devices == 1 and plan.stages == [("Pilot", 1), ("Broad", 0)]
    blocked = plan.blocked_by_patch()
    assert blocked[approved.pk] == {"excluded": 1, "rejected": 1}
    assert blocked[rejected.pk] == {"rejected": 3}
    assert blocked[deferred.pk] == {"deferred": 3}
    assert blocked[undecided.pk] == {"undecided": 3}

    deployment = plan.deployment
    assert deployment.state == Deployment.State.SCHEDULED
    assert schedule_stage(deployment.stages.get(position=0), now=NOW) == 1
    (job,) = Job.objects.filter(deployment=deployment)
    assert job.device == pilot_device and job.payload["patches"] == [approved.pk]
    assert [p["name"] for p in job.payload["packages"]] == ["openssl"]


def test_a_patch_rejected_while_the_pilot_soaks_stays_away_from_the_next_ring(world):
    tenant = world.tenant_a
    device = DeviceFactory(tenant=tenant)
    rings(tenant)
    patch = approved_patch(world)
    missing(device, patch)
    plan = create_deployment(tenant, name="Later", patches=[patch], user=world.tech_all, now=NOW)
    decide([patch], action="reject", user=world.tech_all, now=NOW, tenant=tenant, comment="Vendor pulled it")
    assert schedule_stage(plan.deployment.stages.get(position=1), now=NOW) == 0


def test_stages_copy_their_rings_gate_in_ring_order_and_the_creation_is_audited(world):
    tenant = world.tenant_a
    pilot, broad = rings(tenant, soak_hours=48, gate_percent=97, gate_devices=3, halt_percent=10)
    patch = approved_patch(world)
    fleet(tenant, 2, patch)

    deployment = create_deployment(tenant, name="Stages", patches=[patch], user=world.tech_all, now=NOW).deployment

    first, second = deployment.stages.order_by("position")
    assert (first.ring, first.name, first.state) == (pilot, "Pilot", DeploymentStage.State.WAITING)
    assert (first.soak_hours, first.gate_min_success_percent, first.gate_min_devices, first.halt_failure_percent) == (
        48,
        97,
        3,
        10,
    )
    assert (second.ring, second.devices_total) == (broad, 2)
    pilot.soak_hours = 1
    pilot.save()
    first.refresh_from_db()
    assert first.soak_hours == 48  # the snapshot does not follow later edits
    entry = AuditEntry.objects.get(action="deployment.created", object_id=str(deployment.pk))
    assert entry.changes["patches"] == [patch.pk] and entry.changes["stages"] == ["Pilot", "Broad"]


def test_chosen_devices_make_one_stage_and_must_belong_to_the_tenant(world):
    tenant = world.tenant_a
    patch = approved_patch(world)
    mine = fleet(tenant, 2, patch)
    theirs = DeviceFactory(tenant=world.tenant_b)

    plan = create_deployment(tenant, name="Two", patches=[patch], devices=mine, user=world.tech_all, now=NOW)
    (stage,) = plan.deployment.stages.all()
    assert stage.ring is None and stage.devices_total == 2
    assert set(plan.deployment.targets.values_list("device_id", flat=True)) == {d.pk for d in mine}

    with pytest.raises(ValidationError):
        create_deployment(tenant, name="Bad", patches=[patch], devices=[theirs], user=world.tech_all, now=NOW)
    with pytest.raises(ValidationError):
        create_deployment(tenant, name="Empty", patches=[], devices=mine, user=world.tech_all, now=NOW)
