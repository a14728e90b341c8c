"""Every device page and REST endpoint, for every persona."""

from __future__ import annotations

import pytest

from devices.models import Device, DeviceGroup, EnrollmentToken
from tests.access import PERSONAS, Route, check_route
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(world):
    device = DeviceFactory(tenant=world.tenant_a, hostname="alpha-web")
    DeviceFactory(tenant=world.tenant_b, hostname="bravo-web")
    group = DeviceGroup.objects.create(tenant=world.tenant_a, name="Servers")
    token, _ = EnrollmentToken.issue(world.tenant_a, "office")
    return device, group, token


def dev(w):
    return {"tenant_slug": w.tenant_a.slug, "uid": Device.objects.get(hostname="alpha-web").uid}


def grp(w):
    return {"tenant_slug": w.tenant_a.slug, "pk": DeviceGroup.objects.get(name="Servers").pk}


def tok(w):
    return {"tenant_slug": w.tenant_a.slug, "pk": EnrollmentToken.objects.get(name="office").pk}


def api_dev(w):
    return {"pk": Device.objects.get(hostname="alpha-web").uid}


def api_grp(w):
    return {"pk": DeviceGroup.objects.get(name="Servers").pk}


def api_tok(w):
    return {"pk": EnrollmentToken.objects.get(name="office").pk}


NONE = lambda w: {}  # noqa: E731

ROUTES = [
    Route("tenant_device_list", capability="device.view"),
    Route("device_detail", capability="device.view", kwargs=dev),
    Route(
        "device_detail",
        "post",
        capability="device.manage",
        kwargs=dev,
        data=lambda w: {"criticality": "high", "checkin_interval": 300},
    ),
    Route("group_list", capability="device.view"),
    Route("group_create", capability="device.manage"),
    Route("group_create", "post", capability="device.manage", data=lambda w: {"name": "Laptops", "kind": "explicit"}),
    Route("group_edit", capability="device.manage", kwargs=grp),
    Route("group_edit", "post", capability="device.manage", kwargs=grp, data=lambda w: {"name": "Srv", "kind": "rule"}),
    Route("group_members", "post", capability="device.manage", kwargs=grp, data=lambda w: {"devices": []}),
    Route("group_delete", capability="device.manage", kwargs=grp),
    Route("group_delete", "post", capability="device.manage", kwargs=grp),
    Route("enrollment", capability="enrollment.manage"),
    Route("enrollment", "post", capability="enrollment.manage", data=lambda w: {"name": "new"}),
    Route(
        "enrollment_token_action",
        "post",
        capability="enrollment.manage",
        kwargs=tok,
        data=lambda w: {"action": "revoke"},
    ),
    Route("device_list_all", kwargs=NONE, staff=True),
    # REST API
    Route("device-list", kwargs=NONE, api=True),
    Route("device-detail", kwargs=api_dev, capability="device.view", api=True),
    Route(
        "device-detail",
        "patch",
        kwargs=api_dev,
        capability="device.manage",
        api=True,
        data=lambda w: {"criticality": "high"},
    ),
    Route("device-detail", "delete", kwargs=api_dev, capability="device.manage", api=True),
    Route("device-software", kwargs=api_dev, capability="device.view", api=True),
    Route("device-updates", kwargs=api_dev, capability="device.view", api=True),
    Route("device-checkins", kwargs=api_dev, capability="device.view", api=True),
    Route("devicegroup-list", kwargs=NONE, api=True),
    Route(
        "devicegroup-list",
        "post",
        kwargs=NONE,
        capability="device.manage",
        api=True,
        data=lambda w: {"tenant": w.tenant_a.slug, "name": "API group"},
    ),
    Route("devicegroup-detail", kwargs=api_grp, capability="device.view", api=True),
    Route(
        "devicegroup-detail",
        "patch",
        kwargs=api_grp,
        capability="device.manage",
        api=True,
        data=lambda w: {"description": "x"},
    ),
    Route("devicegroup-detail", "delete", kwargs=api_grp, capability="device.manage", api=True),
    Route(
        "devicegroup-add-members",
        "post",
        kwargs=api_grp,
        capability="device.manage",
        api=True,
        data=lambda w: {"devices": []},
    ),
    Route(
        "devicegroup-remove-members",
        "post",
        kwargs=api_grp,
        capability="device.manage",
        api=True,
        data=lambda w: {"devices": []},
    ),
    Route("enrollmenttoken-list", kwargs=NONE, api=True, anywhere="enrollment.manage"),
    Route(
        "enrollmenttoken-list",
        "post",
        kwargs=NONE,
        capability="enrollment.manage",
        api=True,
        data=lambda w: {"tenant": w.tenant_a.slug, "name": "API token"},
    ),
    Route("enrollmenttoken-detail", kwargs=api_tok, capability="enrollment.manage", api=True),
    Route("enrollmenttoken-revoke", "post", kwargs=api_tok, capability="enrollment.manage", api=True),
    Route("enrollmenttoken-rotate", "post", kwargs=api_tok, capability="enrollment.manage", api=True),
]

# Agent API routes authenticate devices, not people; tests/devices/test_agent_api.py covers them.
NOT_TENANT_SCOPED = {"agent_enroll", "agent_checkin", "agent_inventory", "agent_updates", "agent_rotate_token"}


@pytest.mark.parametrize("persona", list(PERSONAS))
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_access(client, world, fleet, route, persona):
    check_route(client, world, route, persona)


def test_device_lists_show_only_visible_tenants(client, world, fleet):
    from tests.fixtures.personas import sign_in

    sign_in(client, world.owner_a)
    results = client.get("/api/v1/devices/").json()["results"]
    assert [d["hostname"] for d in results] == ["alpha-web"]
    sign_in(client, world.tech_a)
    assert [d["hostname"] for d in client.get("/api/v1/devices/").json()["results"]] == ["alpha-web"]
    page = client.get("/devices/")
    assert b"alpha-web" in page.content and b"bravo-web" not in page.content


def test_a_tenants_site_cannot_be_given_to_another_tenants_device(client, world, fleet):
    from tests.fixtures.personas import sign_in

    sign_in(client, world.msp_admin)
    uid = fleet[0].uid
    response = client.patch(f"/api/v1/devices/{uid}/", {"site": world.site_b.pk}, content_type="application/json")
    assert response.status_code == 400 and "site" in response.json()
