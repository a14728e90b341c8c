"""The ring, window, calendar and deployment pages: what they save, show and record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from deployments import dispatch, extensions
from deployments.models import (
    BlackoutPeriod,
    Deployment,
    DeploymentStage,
    Job,
    JobEvent,
    MaintenanceWindow,
    Ring,
    RingMember,
    WindowRecurrence,
)
from deployments.planning import create_deployment
from deployments.tasks import dispatch_deployment
from devices.models import DeviceGroup
from tenants.models import AuditEntry
from tests.deployments.deployment_ui_helpers import NOW, build_scene
from tests.deployments.planning_helpers import approved_patch, fleet, rings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _registered():
    extensions.register()  # idempotent; deployments/apps.py ready() calls it in the running portal


def _url(name, tenant, **kwargs):
    return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})


# ---- Rings -----------------------------------------------------------------------------------


def test_a_ring_is_created_edited_and_deleted_with_its_members(world, as_user):
    tenant = world.tenant_a
    client = as_user(world.tech_a)
    group = DeviceGroup.objects.create(tenant=tenant, name="Front desk")
    one, two = fleet(tenant, 2, approved_patch(world))
    response = client.post(
        _url("ring_create", tenant),
        {
            "name": "Pilot",
            "position": 0,
            "groups": [group.pk],
            "devices": [one.pk, two.pk],
            "tags": "canary, pilot",
            "soak_hours": 12,
            "gate_min_success_percent": 90,
            "gate_min_devices": 2,
            "halt_failure_percent": 25,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ring = Ring.objects.get(tenant=tenant, name="Pilot")
    assert (ring.tags, ring.soak_hours, ring.gate_min_devices, ring.halt_failure_percent) == (
        ["canary", "pilot"],
        12,
        2,
        25,
    )
    members = set(RingMember.objects.filter(ring=ring).values_list("group_id", "device_id"))
    assert members == {(group.pk, None), (None, one.pk), (None, two.pk)}

    page = client.get(_url("ring_list", tenant)).content.decode()
    assert "Front desk" in page and one.hostname in page and "canary, pilot" in page

    response = client.post(
        _url("ring_edit", tenant, pk=ring.pk),
        {
            "name": "Pilot",
            "position": 0,
            "devices": [two.pk],
            "soak_hours": 6,
            "gate_min_success_percent": 90,
            "gate_min_devices": 1,
            "halt_failure_percent": 25,
        },
    )
    assert response.status_code == 302
    assert set(RingMember.objects.filter(ring=ring).values_list("group_id", "device_id")) == {(None, two.pk)}
    change = AuditEntry.objects.filter(action="ring.members_changed", object_id=str(ring.pk)).latest("at")
    assert change.actor_id == world.tech_a.pk and change.changes["devices"] == [two.pk]
    assert change.message == "0 added, 2 removed"

    assert client.post(_url("ring_delete", tenant, pk=ring.pk)).status_code == 302
    assert not Ring.objects.filter(pk=ring.pk).exists()
    assert AuditEntry.objects.filter(action="delete", object_type="deployments.ring", object_id=str(ring.pk)).exists()


def test_a_ring_needs_members_or_catch_all_and_a_free_name_and_position(world, as_user):
    tenant = world.tenant_a
    client = as_user(world.tech_all)
    rings(tenant)
    base = {"soak_hours": 1, "gate_min_success_percent": 90, "gate_min_devices": 1, "halt_failure_percent": 20}
    response = client.post(_url("ring_create", tenant), {**base, "name": "Empty", "position": 5})
    assert response.status_code == 400
    assert "or make it the catch-all ring" in response.content.decode()
    response = client.post(_url("ring_create", tenant), {**base, "name": "Pilot", "position": 0, "tags": "x"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "already has a ring of that name" in body and "has that position" in body
    response = client.post(_url("ring_create", tenant), {**base, "name": "Rest", "position": 9, "catch_all": "on"})
    assert response.status_code == 302
    assert Ring.objects.get(tenant=tenant, name="Rest").catch_all


def test_another_tenants_device_cannot_join_a_ring(world, as_user):
    client = as_user(world.tech_all)
    (foreign,) = fleet(world.tenant_b, 1, approved_patch(world, world.tenant_b))
    response = client.post(
        _url("ring_create", world.tenant_a),
        {
            "name": "Pilot",
            "position": 0,
            "devices": [foreign.pk],
            "soak_hours": 1,
            "gate_min_success_percent": 90,
            "gate_min_devices": 1,
            "halt_failure_percent": 20,
        },
    )
    assert response.status_code == 400
    assert not Ring.objects.exists()


# ---- Maintenance windows ------------------------------------------------------------------------

WINDOW = {"name": "Nightly", "purpose": "install", "start_time": "02:00", "duration_minutes": 120, "active": "on"}


@pytest.mark.parametrize(
    ("fields", "error_field", "message"),
    [
        ({"recurrence": "weekly"}, "weekdays", "Choose at least one day of the week."),
        ({"recurrence": "monthly_day"}, "day_of_month", "Choose the day of the month."),
        ({"recurrence": "monthly_nth", "nth_weekday": "1"}, "nth", "Choose which week of the month."),
        ({"recurrence": "monthly_nth", "nth": "-1"}, "nth_weekday", "Choose the weekday."),
        ({"recurrence": "weekly", "weekdays": ["1"], "duration_minutes": 5}, "duration_minutes", "15"),
        ({"recurrence": "monthly_day", "day_of_month": "32"}, "day_of_month", "31"),
    ],
)
def test_the_window_form_asks_for_the_fields_of_its_recurrence(world, as_user, fields, error_field, message):
    client = as_user(world.tech_a)
    response = client.post(_url("window_create", world.tenant_a), {**WINDOW, **fields})
    assert response.status_code == 400
    form = response.context["form"]
    assert error_field in form.errors and message in " ".join(form.errors[error_field])
    assert not MaintenanceWindow.objects.exists()


def test_a_window_keeps_only_the_fields_of_its_recurrence(world, as_user):
    tenant = world.tenant_a
    client = as_user(world.tech_a)
    pilot, _ = rings(tenant)
    response = client.post(
        _url("window_create", tenant),
        {**WINDOW, "recurrence": "weekly", "weekdays": ["6", "5"], "day_of_month": "3", "rings": [pilot.pk]},
    )
    assert response.status_code == 302
    window = MaintenanceWindow.objects.get(name="Nightly")
    assert (window.weekdays, window.day_of_month, window.start_time) == ([5, 6], None, dt.time(2, 0))
    assert list(window.rings.all()) == [pilot]
    assert "Sat, Sun at 02:00 for 2 h" in client.get(_url("window_list", tenant)).content.decode()

    response = client.post(
        _url("window_edit", tenant, pk=window.pk),
        {**WINDOW, "recurrence": "monthly_nth", "nth": "-1", "nth_weekday": "4"},
    )
    assert response.status_code == 302
    window.refresh_from_db()
    assert (window.recurrence, window.weekdays, window.nth, window.nth_weekday) == ("monthly_nth", [], -1, 4)
    assert list(window.rings.all()) == []
    assert "the last Friday of each month" in client.get(_url("window_list", tenant)).content.decode()


def test_choosing_a_recurrence_shows_its_fields(world, as_user):
    client = as_user(world.tech_a)
    url = _url("window_create", world.tenant_a)
    response = client.get(url, {"recurrence": "monthly_nth"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<fieldset id="recurrence-fields"')
    assert 'name="nth"' in body and 'name="nth_weekday"' in body and 'name="weekdays"' not in body
    page = client.get(url).content.decode()
    assert 'name="weekdays"' in page and 'name="nth"' not in page and "hx-get" in page


def test_blackouts_are_added_checked_and_removed(world, as_user):
    tenant = world.tenant_a
    client = as_user(world.tech_a)
    response = client.post(
        _url("blackout_create", tenant), {"starts_on": "2027-03-05", "ends_on": "2027-03-01", "reason": "Audit"}
    )
    assert response.status_code == 400 and "cannot be before" in response.content.decode()
    response = client.post(
        _url("blackout_create", tenant), {"starts_on": "2027-03-01", "ends_on": "2027-03-05", "reason": "Audit"}
    )
    assert response.status_code == 302
    blackout = BlackoutPeriod.objects.get(tenant=tenant)
    assert "Audit" in client.get(_url("window_list", tenant)).content.decode()
    assert client.post(_url("blackout_delete", tenant, pk=blackout.pk)).status_code == 302
    assert not BlackoutPeriod.objects.exists()


def test_the_calendar_shows_local_times_and_blackouts(world, as_user):
    tenant = world.tenant_b  # America/New_York
    client = as_user(world.tech_all)
    MaintenanceWindow.objects.create(
        tenant=tenant,
        name="Every night",
        recurrence=WindowRecurrence.WEEKLY,
        weekdays=list(range(7)),
        start_time=dt.time(2, 0),
        duration_minutes=60,
    )
    MaintenanceWindow.objects.create(
        tenant=tenant,
        name="Reboots",
        purpose="reboot",
        recurrence=WindowRecurrence.WEEKLY,
        weekdays=list(range(7)),
        start_time=dt.time(23, 30),
        duration_minutes=60,
    )
    today = timezone.now().astimezone(tenant.time_zone).date()
    blocked = today + dt.timedelta(days=3)
    BlackoutPeriod.objects.create(tenant=tenant, starts_on=blocked, ends_on=blocked, reason="Year-end close")
    response = client.get(_url("window_calendar", tenant))
    assert response.status_code == 200
    body = response.content.decode()
    assert "02:00\N{EN DASH}03:00" in body  # wall-clock time in New York, not UTC
    assert "23:30\N{EN DASH}00:30" in body and "Reboots" in body
    utc_start = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(2), tenant.time_zone).astimezone(dt.UTC)
    assert f"({utc_start:%H:%M} UTC)" in body
    assert "Year-end close" in body
    days = {d["date"]: d for d in response.context["days"]}
    assert days[blocked]["blackout"] is not None
    # No opening starts on the blacked-out day; the reboot window of the evening before is cut at midnight.
    assert days[blocked]["entries"] == []
    before = [e for e in days[blocked - dt.timedelta(days=1)]["entries"] if e.purpose == "reboot"]
    assert before and before[0].cut_by_blackout


# ---- Deployments ---------------------------------------------------------------------------------

DEPLOY = {
    "batch_size": 10,
    "max_concurrent": 20,
    "batch_interval_minutes": 5,
    "max_attempts": 3,
    "catch_up": "next_window",
    "allow_rollback": "on",
}


def test_a_deployment_created_from_the_page_gets_its_stages_and_then_its_jobs(
    world, as_user, django_capture_on_commit_callbacks
):
    tenant = world.tenant_a
    patch = approved_patch(world)
    devices = fleet(tenant, 4, patch)
    pilot, broad = rings(tenant, pilot_devices=devices[:1])
    client = as_user(world.tech_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            _url("deployment_create", tenant), {**DEPLOY, "name": "November", "patches": [patch.pk], "target": "rings"}
        )
    assert response.status_code == 302
    deployment = Deployment.objects.get(name="November")
    assert response.url == _url("deployment_detail", tenant, pk=deployment.pk)
    assert (deployment.batch_size, deployment.max_concurrent, deployment.run_now) == (10, 20, False)
    stages = list(deployment.stages.order_by("position").values_list("name", "ring_id", "devices_total"))
    assert stages == [("Pilot", pilot.pk, 1), ("Broad", broad.pk, 3)]
    assert callbacks  # the first stage is dispatched once the transaction commits
    # What the worker does with it (deployments.tasks.dispatch_deployment, run here in-process).
    assert dispatch_deployment(deployment.pk, tenant_id=tenant.pk) == 1
    job = Job.objects.get(deployment=deployment)
    assert job.device == devices[0] and job.state == "pending"
    page = client.get(_url("deployment_detail", tenant, pk=deployment.pk)).content.decode()
    assert devices[0].hostname in page and "Scheduled" in page


def test_chosen_devices_make_one_stage(world, as_user):
    tenant = world.tenant_a
    patch = approved_patch(world)
    devices = fleet(tenant, 3, patch)
    client = as_user(world.tech_a)
    response = client.post(
        _url("deployment_create", tenant),
        {**DEPLOY, "name": "Two", "patches": [patch.pk], "target": "devices", "devices": [d.pk for d in devices[:2]]},
    )
    assert response.status_code == 302
    deployment = Deployment.objects.get(name="Two")
    assert list(deployment.stages.values_list("name", "devices_total")) == [("Chosen devices", 2)]
    assert sorted(deployment.targets.values_list("device_id", flat=True)) == sorted(d.pk for d in devices[:2])
    response = client.post(
        _url("deployment_create", tenant), {**DEPLOY, "name": "None", "patches": [patch.pk], "target": "devices"}
    )
    assert response.status_code == 400 and "Choose at least one device." in response.content.decode()


def test_only_approved_patches_can_be_chosen(world, as_user):
    from tests.patches.approval_helpers import make_patch

    tenant = world.tenant_a
    approved = approved_patch(world)
    unapproved = make_patch()
    rings(tenant)
    client = as_user(world.tech_a)
    form = client.get(_url("deployment_create", tenant)).context["form"]
    assert list(form.fields["patches"].queryset) == [approved]
    response = client.post(
        _url("deployment_create", tenant), {**DEPLOY, "name": "X", "patches": [unapproved.pk], "target": "rings"}
    )
    assert response.status_code == 400 and not Deployment.objects.exists()


def test_run_now_must_be_confirmed_and_is_audited(world, as_user):
    tenant = world.tenant_a
    patch = approved_patch(world)
    fleet(tenant, 2, patch)
    rings(tenant)
    client = as_user(world.tech_a)
    data = {**DEPLOY, "name": "Emergency", "patches": [patch.pk], "target": "rings", "run_now": "on"}
    response = client.post(_url("deployment_create", tenant), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "confirm_run_now" in errors and "run_now_reason" in errors
    assert not Deployment.objects.exists()

    response = client.post(
        _url("deployment_create", tenant), {**data, "confirm_run_now": "on", "run_now_reason": "KEV, exploited"}
    )
    assert response.status_code == 302
    deployment = Deployment.objects.get(name="Emergency")
    assert deployment.run_now
    entry = AuditEntry.objects.get(action="deployment.run_now", object_id=str(deployment.pk))
    assert (entry.actor_id, entry.tenant_id, entry.message) == (world.tech_a.pk, tenant.pk, "KEV, exploited")
    assert AuditEntry.objects.filter(action="deployment.created", object_id=str(deployment.pk)).exists()
    assert "run now" in client.get(_url("deployment_list", tenant)).content.decode()


def test_the_progress_fragment_polls_until_the_deployment_is_final(world, as_user):
    scene = build_scene(world)
    client = as_user(world.viewer_a)  # clients follow their own deployments
    detail = client.get(_url("deployment_detail", world.tenant_a, pk=scene.running.pk)).content.decode()
    assert 'hx-trigger="every 5s"' in detail and "Pause" not in detail  # read-only for clients
    fragment = client.get(_url("deployment_progress", world.tenant_a, pk=scene.running.pk))
    assert fragment.status_code == 200 and scene.devices[0].hostname in fragment.content.decode()

    dispatch.cancel(scene.running, now=NOW)
    fragment = client.get(_url("deployment_progress", world.tenant_a, pk=scene.running.pk))
    assert fragment.status_code == 286  # htmx stops polling
    assert "Cancelled" in fragment.content.decode()
    detail = client.get(_url("deployment_detail", world.tenant_a, pk=scene.running.pk)).content.decode()
    assert "hx-trigger" not in detail


def test_pause_resume_and_cancel_from_the_page_are_audited(world, as_user):
    scene = build_scene(world)
    tenant = world.tenant_a
    client = as_user(world.tech_a)
    deployment = scene.running
    detail = client.get(_url("deployment_detail", tenant, pk=deployment.pk)).content.decode()
    assert "Pause" in detail and "Cancel" in detail and "Resume" not in detail

    for action, state in [("pause", "paused"), ("resume", "scheduled"), ("cancel", "cancelled")]:
        response = client.post(_url(f"deployment_{action}", tenant, pk=deployment.pk), {"reason": f"{action} test"})
        assert response.status_code == 302
        deployment.refresh_from_db()
        assert deployment.state == state
        past = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action]
        entry = AuditEntry.objects.filter(action=f"deployment.{past}", object_id=str(deployment.pk)).latest("at")
        assert entry.actor_id == world.tech_a.pk and entry.tenant_id == tenant.pk
    assert set(Job.objects.filter(deployment=deployment).values_list("state", flat=True)) == {"cancelled"}
    assert DeploymentStage.objects.filter(deployment=deployment, state="cancelled").exists()

    # A cancelled deployment cannot be resumed: the page says so and nothing changes.
    response = client.post(_url("deployment_resume", tenant, pk=deployment.pk), follow=True)
    assert "Only a paused deployment can be resumed." in response.content.decode()


def test_the_job_log_shows_events_and_output(world, as_user):
    scene = build_scene(world)
    job = Job.objects.filter(deployment=scene.running).first()
    Job.objects.filter(pk=job.pk).update(output="Setting up libfoo (1.2-1) ...\n", exit_code=0)
    JobEvent.objects.create(tenant=job.tenant, job=job, state="running", message="apt-get install started")
    client = as_user(world.owner_a)
    body = client.get(_url("job_log", world.tenant_a, pk=scene.running.pk, job_pk=job.pk)).content.decode()
    assert "Setting up libfoo (1.2-1)" in body and "apt-get install started" in body and "Scheduled from" in body
    other = create_deployment(world.tenant_a, name="Other", patches=[scene.patch], user=world.tech_all, now=NOW)
    # A job is reached only through its own deployment.
    url = _url("job_log", world.tenant_a, pk=other.deployment.pk, job_pk=job.pk)
    assert client.get(url).status_code == 404


def test_the_list_across_tenants_shows_only_the_users_tenants(world, as_user):
    build_scene(world)
    build_scene(world, world.tenant_b)
    rows = as_user(world.owner_a).get(reverse("deployment_list_all")).context["page"].object_list
    assert {d.tenant_id for d in rows} == {world.tenant_a.pk}
    rows = as_user(world.tech_all).get(reverse("deployment_list_all")).context["page"].object_list
    assert {d.tenant_id for d in rows} == {world.tenant_a.pk, world.tenant_b.pk}
    paused = as_user(world.tech_all).get(reverse("deployment_list_all"), {"state": "paused"}).context["page"]
    assert {d.name for d in paused.object_list} == {"Held"}
