"""Every ring, window, blackout, deployment and job page and REST endpoint, for every persona."""

from __future__ import annotations

import pytest

from deployments.models import Job
from tests.access import PERSONAS, Route, check_route
from tests.deployments.deployment_ui_helpers import build_scene

pytestmark = pytest.mark.django_db

NONE = lambda w: {}  # noqa: E731
S = {}  # the scene of the running test, for the URL and body builders


@pytest.fixture
def scene(world):
    S["scene"] = build_scene(world)
    yield S["scene"]
    S.clear()


def _t(w, **more):
    return {"tenant_slug": w.tenant_a.slug, **more}


def ring(w):
    return _t(w, pk=S["scene"].pilot.pk)


def window(w):
    return _t(w, pk=S["scene"].window.pk)


def blackout(w):
    return _t(w, pk=S["scene"].blackout.pk)


def running(w):
    return _t(w, pk=S["scene"].running.pk)


def paused(w):
    return _t(w, pk=S["scene"].paused.pk)


def job(w):
    return _t(w, pk=S["scene"].running.pk, job_pk=Job.objects.filter(deployment=S["scene"].running).first().pk)


def ring_form(w):
    return {
        "name": "Canary",
        "position": 7,
        "groups": [S["scene"].group.pk],
        "tags": "canary",
        "devices": [S["scene"].devices[1].pk],
        "soak_hours": 12,
        "gate_min_success_percent": 90,
        "gate_min_devices": 1,
        "halt_failure_percent": 20,
    }


def window_form(w):
    return {
        "name": "Patch night",
        "purpose": "install",
        "recurrence": "monthly_nth",
        "nth": "2",
        "nth_weekday": "2",
        "start_time": "02:00",
        "duration_minutes": 240,
        "active": "on",
    }


def blackout_form(w):
    return {"starts_on": "2027-01-01", "ends_on": "2027-01-02", "reason": "New year"}


def deployment_form(w):
    return {
        "name": "Urgent",
        "patches": [S["scene"].patch.pk],
        "target": "rings",
        "batch_size": 10,
        "max_concurrent": 20,
        "batch_interval_minutes": 5,
        "max_attempts": 3,
        "catch_up": "next_window",
        "allow_rollback": "on",
    }


# REST API
def api_pk(attr):
    return lambda w: {"pk": getattr(S["scene"], attr).pk}


def api_job(w):
    return {"pk": Job.objects.filter(deployment=S["scene"].running).first().pk}


def api_ring(w):
    return {
        "tenant": w.tenant_a.slug,
        "name": "Canary",
        "position": 7,
        "groups": [S["scene"].group.pk],
        "devices": [str(S["scene"].devices[1].uid)],
        "tags": ["canary"],
    }


def api_window(w):
    return {
        "tenant": w.tenant_a.slug,
        "name": "Patch night",
        "recurrence": "patch_tuesday",
        "offset_days": 1,
        "start_time": "02:00",
        "duration_minutes": 240,
    }


def api_blackout(w):
    return {"tenant": w.tenant_a.slug, "starts_on": "2027-01-01", "ends_on": "2027-01-02", "reason": "New year"}


def api_deployment(w):
    return {"tenant": w.tenant_a.slug, "name": "Urgent", "patches": [S["scene"].patch.pk]}


def api_run_now(w):
    return {**api_deployment(w), "run_now": True, "confirm_run_now": True, "run_now_reason": "Exploited in the wild"}


ROUTES = [
    # Rings
    Route("ring_list", capability="ring.view"),
    Route("ring_create", capability="ring.manage"),
    Route("ring_create", "post", capability="ring.manage", data=ring_form),
    Route("ring_edit", kwargs=ring, capability="ring.manage"),
    Route("ring_edit", "post", kwargs=ring, capability="ring.manage", data=ring_form),
    Route("ring_delete", kwargs=ring, capability="ring.manage"),
    Route("ring_delete", "post", kwargs=ring, capability="ring.manage"),
    # Maintenance windows, blackouts, the calendar
    Route("window_list", capability="window.view"),
    Route("window_calendar", capability="window.view"),
    Route("window_create", capability="window.manage"),
    Route("window_create", "post", capability="window.manage", data=window_form),
    Route("window_edit", kwargs=window, capability="window.manage"),
    Route("window_edit", "post", kwargs=window, capability="window.manage", data=window_form),
    Route("window_delete", kwargs=window, capability="window.manage"),
    Route("window_delete", "post", kwargs=window, capability="window.manage"),
    Route("blackout_create", capability="window.manage"),
    Route("blackout_create", "post", capability="window.manage", data=blackout_form),
    Route("blackout_delete", "post", kwargs=blackout, capability="window.manage"),
    # Deployments
    Route("deployment_list_all", kwargs=NONE, anywhere="deployment.view"),
    Route("deployment_list", capability="deployment.view"),
    Route("deployment_create", capability="deployment.manage"),
    Route("deployment_create", "post", capability="deployment.manage", data=deployment_form),
    Route("deployment_detail", kwargs=running, capability="deployment.view"),
    Route("deployment_progress", kwargs=running, capability="deployment.view"),
    Route("deployment_pause", "post", kwargs=running, capability="deployment.manage"),
    Route("deployment_resume", "post", kwargs=paused, capability="deployment.manage"),
    Route("deployment_cancel", "post", kwargs=running, capability="deployment.manage"),
    Route("job_log", kwargs=job, capability="deployment.view"),
    # REST API: rings
    Route("ring-list", kwargs=NONE, api=True, anywhere="ring.view"),
    Route("ring-list", "post", kwargs=NONE, capability="ring.manage", api=True, data=api_ring),
    Route("ring-detail", kwargs=api_pk("pilot"), capability="ring.view", api=True),
    Route(
        "ring-detail",
        "patch",
        kwargs=api_pk("pilot"),
        capability="ring.manage",
        api=True,
        data=lambda w: {"soak_hours": 2},
    ),
    Route("ring-detail", "put", kwargs=api_pk("pilot"), capability="ring.manage", api=True, data=api_ring),
    Route("ring-detail", "delete", kwargs=api_pk("pilot"), capability="ring.manage", api=True),
    # REST API: windows and blackouts
    Route("maintenancewindow-list", kwargs=NONE, api=True, anywhere="window.view"),
    Route("maintenancewindow-list", "post", kwargs=NONE, capability="window.manage", api=True, data=api_window),
    Route("maintenancewindow-detail", kwargs=api_pk("window"), capability="window.view", api=True),
    Route(
        "maintenancewindow-detail",
        "patch",
        kwargs=api_pk("window"),
        capability="window.manage",
        api=True,
        data=lambda w: {"weekdays": [5, 6]},
    ),
    Route(
        "maintenancewindow-detail",
        "put",
        kwargs=api_pk("window"),
        capability="window.manage",
        api=True,
        data=api_window,
    ),
    Route("maintenancewindow-detail", "delete", kwargs=api_pk("window"), capability="window.manage", api=True),
    Route("blackout-list", kwargs=NONE, api=True, anywhere="window.view"),
    Route("blackout-list", "post", kwargs=NONE, capability="window.manage", api=True, data=api_blackout),
    Route("blackout-detail", kwargs=api_pk("blackout"), capability="window.view", api=True),
    Route(
        "blackout-detail",
        "patch",
        kwargs=api_pk("blackout"),
        capability="window.manage",
        api=True,
        data=lambda w: {"reason": "Audit"},
    ),
    Route("blackout-detail", "put", kwargs=api_pk("blackout"), capability="window.manage", api=True, data=api_blackout),
    Route("blackout-detail", "delete", kwargs=api_pk("blackout"), capability="window.manage", api=True),
    # REST API: deployments and jobs
    Route("deployment-list", kwargs=NONE, api=True, anywhere="deployment.view"),
    Route("deployment-list", "post", kwargs=NONE, capability="deployment.manage", api=True, data=api_deployment),
    Route("deployment-list", "post", kwargs=NONE, capability="deployment.run_now", api=True, data=api_run_now),
    Route("deployment-detail", kwargs=api_pk("running"), capability="deployment.view", api=True),
    Route("deployment-pause", "post", kwargs=api_pk("running"), capability="deployment.manage", api=True),
    Route("deployment-resume", "post", kwargs=api_pk("paused"), capability="deployment.manage", api=True),
    Route("deployment-cancel", "post", kwargs=api_pk("running"), capability="deployment.manage", api=True),
    Route("job-list", kwargs=NONE, api=True, anywhere="deployment.view"),
    Route("job-detail", kwargs=api_job, capability="deployment.view", api=True),
]


@pytest.mark.parametrize("persona", list(PERSONAS))
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_access(client, world, scene, route, persona):
    response = check_route(client, world, route, persona)
    if route.expected(persona) == "allow" and route.method != "get":
        # An allowed write did what it was asked, not a validation error.
        assert response.status_code < 400, (route.id, persona, response.status_code, response.content[:500])
