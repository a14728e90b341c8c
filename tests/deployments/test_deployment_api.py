"""The deployments REST API: rings with members, windows, deployments and their buttons, jobs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from deployments import extensions
from deployments.models import Deployment, Job, MaintenanceWindow, Ring, RingMember
from tenants.models import AuditEntry
from tests.deployments.deployment_ui_helpers import build_scene
from tests.deployments.planning_helpers import approved_patch, fleet, rings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _registered():
    extensions.register()


def _post(client, name, body, **kwargs):
    return client.post(reverse(name, kwargs=kwargs), body, content_type="application/json")


def test_a_ring_is_created_with_members_and_they_change_with_a_patch(world, as_user):
    tenant = world.tenant_a
    client = as_user(world.tech_a)
    one, two = fleet(tenant, 2, approved_patch(world))
    response = _post(
        client,
        "ring-list",
        {"tenant": tenant.slug, "name": "Pilot", "position": 0, "devices": [str(one.uid)], "tags": ["canary"]},
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["tenant"], data["devices"], data["tags"], data["groups"]) == ("alpha", [str(one.uid)], ["canary"], [])
    ring = Ring.objects.get(pk=data["id"])
    url = reverse("ring-detail", kwargs={"pk": ring.pk})
    response = client.patch(url, {"devices": [str(two.uid)]}, content_type="application/json")
    assert response.status_code == 200 and response.json()["devices"] == [str(two.uid)]
    assert list(RingMember.objects.filter(ring=ring).values_list("device_id", flat=True)) == [two.pk]
    assert AuditEntry.objects.filter(action="ring.members_changed", object_id=str(ring.pk)).count() == 2
    # Members keep when other fields change.
    assert client.patch(url, {"soak_hours": 3}, content_type="application/json").json()["devices"] == [str(two.uid)]


def test_ring_members_and_names_are_checked_in_the_rings_tenant(world, as_user):
    client = as_user(world.tech_all)
    (foreign,) = fleet(world.tenant_b, 1, approved_patch(world, world.tenant_b))
    rings(world.tenant_a)
    response = _post(
        client, "ring-list", {"tenant": "alpha", "name": "X", "position": 5, "devices": [str(foreign.uid)]}
    )
    assert response.status_code == 400 and "devices" in response.json()
    response = _post(client, "ring-list", {"tenant": "alpha", "name": "Pilot", "position": 0})
    assert response.status_code == 400
    assert set(response.json()) >= {"name", "position"}
    # The same name in another tenant is fine.
    assert _post(client, "ring-list", {"tenant": "bravo", "name": "Pilot", "position": 0}).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"recurrence": "weekly"}, "weekdays"),
        ({"recurrence": "weekly", "weekdays": [7]}, "weekdays"),
        ({"recurrence": "monthly_day"}, "day_of_month"),
        ({"recurrence": "monthly_nth", "nth": 2}, "nth_weekday"),
        ({"recurrence": "weekly", "weekdays": [1], "duration_minutes": 10}, "duration_minutes"),
    ],
)
def test_a_window_is_validated_by_its_recurrence(world, as_user, body, field):
    client = as_user(world.tech_a)
    base = {"tenant": "alpha", "name": "Night", "start_time": "02:00", "duration_minutes": 120}
    response = _post(client, "maintenancewindow-list", {**base, **body})
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not MaintenanceWindow.objects.exists()


def test_a_window_keeps_only_its_recurrences_fields(world, as_user):
    client = as_user(world.tech_a)
    pilot, _ = rings(world.tenant_a)
    body = {
        "tenant": "alpha",
        "name": "Night",
        "recurrence": "monthly_day",
        "day_of_month": 31,
        "weekdays": [1, 2],
        "start_time": "02:00",
        "duration_minutes": 120,
        "rings": [pilot.pk],
    }
    response = _post(client, "maintenancewindow-list", body)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["day_of_month"], data["weekdays"], data["rings"]) == (31, [], [pilot.pk])
    url = reverse("maintenancewindow-detail", kwargs={"pk": data["id"]})
    response = client.patch(url, {"recurrence": "weekly", "weekdays": [6, 5, 5]}, content_type="application/json")
    assert response.status_code == 200
    assert (response.json()["weekdays"], response.json()["day_of_month"]) == ([5, 6], None)


def test_a_deployment_is_created_with_stages_and_acted_on(world, as_user):
    tenant = world.tenant_a
    patch = approved_patch(world)
    fleet(tenant, 3, patch)
    _, broad = rings(tenant)
    client = as_user(world.tech_a)
    response = _post(
        client, "deployment-list", {"tenant": "alpha", "name": "Nov", "patches": [patch.pk], "rings": [broad.pk]}
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert [s["name"] for s in data["stages"]] == ["Broad"] and data["state"] == "scheduled"
    assert data["patches"] == [patch.pk] and data["progress"]["total"] == 0 and data["created_by"] == world.tech_a.email
    pk = data["id"]

    response = _post(client, "deployment-pause", {"reason": "Change freeze"}, pk=pk)
    assert response.status_code == 200 and response.json()["state"] == "paused"
    entry = AuditEntry.objects.get(action="deployment.paused", object_id=str(pk))
    assert (entry.actor_id, entry.message) == (world.tech_a.pk, "Change freeze")
    assert _post(client, "deployment-pause", {}, pk=pk).status_code == 409
    assert _post(client, "deployment-resume", {}, pk=pk).json()["state"] == "scheduled"
    assert AuditEntry.objects.filter(action="deployment.resumed", object_id=str(pk), actor=world.tech_a).exists()
    assert _post(client, "deployment-cancel", {}, pk=pk).json()["state"] == "cancelled"
    assert AuditEntry.objects.filter(action="deployment.cancelled", object_id=str(pk), actor=world.tech_a).exists()
    assert _post(client, "deployment-cancel", {}, pk=pk).status_code == 409


def test_unapproved_patches_and_foreign_rings_are_refused(world, as_user):
    from tests.patches.approval_helpers import make_patch

    client = as_user(world.tech_all)
    patch = approved_patch(world)
    _, broad_b = rings(world.tenant_b)
    rings(world.tenant_a)
    response = _post(client, "deployment-list", {"tenant": "alpha", "name": "X", "patches": [make_patch().pk]})
    assert response.status_code == 400 and "patches" in response.json()
    response = _post(
        client, "deployment-list", {"tenant": "alpha", "name": "X", "patches": [patch.pk], "rings": [broad_b.pk]}
    )
    assert response.status_code == 400 and "rings" in response.json()
    assert not Deployment.objects.exists()


def test_run_now_over_the_api_needs_confirmation_and_a_reason_and_is_audited(world, as_user):
    tenant = world.tenant_a
    patch = approved_patch(world)
    fleet(tenant, 1, patch)
    rings(tenant)
    client = as_user(world.msp_admin)
    body = {"tenant": "alpha", "name": "Now", "patches": [patch.pk], "run_now": True}
    response = _post(client, "deployment-list", body)
    assert response.status_code == 400 and {"confirm_run_now", "run_now_reason"} <= set(response.json())
    response = _post(client, "deployment-list", {**body, "confirm_run_now": True, "run_now_reason": "Wormable"})
    assert response.status_code == 201 and response.json()["run_now"] is True
    entry = AuditEntry.objects.get(action="deployment.run_now")
    assert (entry.object_id, entry.actor_id, entry.message) == (
        str(response.json()["id"]),
        world.msp_admin.pk,
        "Wormable",
    )
    # A client cannot launch anything, run-now or not.
    response = _post(
        as_user(world.owner_a), "deployment-list", {**body, "confirm_run_now": True, "run_now_reason": "x"}
    )
    assert response.status_code == 403


def test_jobs_are_filtered_and_carry_their_log(world, as_user):
    scene = build_scene(world)
    build_scene(world, world.tenant_b)
    client = as_user(world.owner_a)
    rows = client.get(reverse("job-list")).json()["results"]
    assert rows and {r["tenant"] for r in rows} == {"alpha"}
    job = Job.objects.filter(deployment=scene.running).first()
    rows = client.get(reverse("job-list"), {"deployment": scene.running.pk, "state": "pending"}).json()["results"]
    assert [r["id"] for r in rows] == [job.pk]
    assert client.get(reverse("job-list"), {"state": "failed"}).json()["results"] == []
    rows = client.get(reverse("job-list"), {"device": str(job.device.uid)}).json()["results"]
    assert [r["id"] for r in rows] == [job.pk]
    detail = client.get(reverse("job-detail", kwargs={"pk": job.pk})).json()
    assert detail["events"][0]["state"] == "pending" and detail["hostname"] == job.device.hostname
    assert "output" not in rows[0]
    other = Job.objects.filter(tenant=world.tenant_b).first()
    assert client.get(reverse("job-detail", kwargs={"pk": other.pk})).status_code == 404


def test_the_deployment_list_reports_progress(world, as_user):
    scene = build_scene(world)
    client = as_user(world.viewer_a)
    rows = {r["name"]: r for r in client.get(reverse("deployment-list")).json()["results"]}
    assert rows["Rollout"]["progress"] == {
        "total": 1,
        "pending": 1,
        "active": 0,
        "succeeded": 0,
        "failed": 0,
        "cancelled": 0,
        "percent": 0,
    }
    assert rows["Held"]["state"] == "paused"
    assert client.get(reverse("deployment-list"), {"state": "paused"}).json()["count"] == 1
    assert scene.running.pk in {r["id"] for r in rows.values()}


def test_the_endpoints_are_in_the_openapi_schema(world, as_user):
    client = as_user(world.msp_admin)
    response = client.get(reverse("api_schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/rings/",
        "/api/v1/rings/{id}/",
        "/api/v1/windows/",
        "/api/v1/blackouts/",
        "/api/v1/deployments/",
        "/api/v1/deployments/{id}/pause/",
        "/api/v1/deployments/{id}/resume/",
        "/api/v1/deployments/{id}/cancel/",
        "/api/v1/jobs/",
        "/api/v1/jobs/{id}/",
    ]:
        assert path in paths, path
