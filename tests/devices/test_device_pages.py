"""Device pages: lists with filters and htmx, the device page, groups and enrollment."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from devices.models import Device, DeviceGroup, DeviceGroupMember, EnrollmentToken
from tests.factories import DeviceFactory
from tests.fixtures.personas import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def devices(world):
    now = timezone.now()
    online = DeviceFactory(
        tenant=world.tenant_a,
        hostname="web-01",
        last_seen_at=now,
        tags=["server", "dmz"],
        criticality="critical",
        site=world.site_a,
    )
    offline = DeviceFactory(
        tenant=world.tenant_a,
        hostname="laptop-07",
        last_seen_at=now - timedelta(hours=3),
        os_family="windows",
        ecosystem="Windows:10.0.22631",
        tags=["laptop"],
    )
    stale = DeviceFactory(tenant=world.tenant_a, hostname="old-nas", last_seen_at=now - timedelta(days=30))
    DeviceFactory(tenant=world.tenant_b, hostname="bravo-db", last_seen_at=now)
    return online, offline, stale


def hosts(response):
    return re.findall(r'/devices/[0-9a-f-]{36}/">([^<]+)<', response.content.decode())


def test_states_follow_the_checkin_interval(devices):
    _online, _offline, _stale = devices
    now = timezone.now()
    assert [d.state(now) for d in devices] == ["online", "offline", "stale"]
    states = dict(Device.objects.with_state(now).values_list("hostname", "state"))
    assert states["web-01"] == "online" and states["laptop-07"] == "offline" and states["old-nas"] == "stale"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["laptop-07", "old-nas", "web-01"]),
        ({"state": "online"}, ["web-01"]),
        ({"state": "stale"}, ["old-nas"]),
        ({"os_family": "windows"}, ["laptop-07"]),
        ({"tag": "dmz"}, ["web-01"]),
        ({"criticality": "critical"}, ["web-01"]),
        ({"q": "lap"}, ["laptop-07"]),
    ],
)
def test_tenant_device_list_filters(client, world, devices, query, expected):
    sign_in(client, world.viewer_a)
    response = client.get(f"/t/{world.tenant_a.slug}/devices/", query)
    assert response.status_code == 200
    assert hosts(response) == expected


def test_site_and_group_filters(client, world, devices):
    group = DeviceGroup.objects.create(tenant=world.tenant_a, name="Servers", kind="rule", rule_tags_any=["server"])
    sign_in(client, world.tech_a)
    assert hosts(client.get(f"/t/{world.tenant_a.slug}/devices/", {"group": group.pk})) == ["web-01"]
    assert hosts(client.get(f"/t/{world.tenant_a.slug}/devices/", {"site": world.site_a.pk})) == ["web-01"]


def test_htmx_gets_only_the_rows(client, world, devices):
    sign_in(client, world.viewer_a)
    response = client.get(f"/t/{world.tenant_a.slug}/devices/", {"q": "web"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in response.content and b"web-01" in response.content


def test_cross_tenant_list_for_staff_filters_by_tenant(client, world, devices):
    sign_in(client, world.tech_all)
    assert "bravo-db" in hosts(client.get("/devices/"))
    assert hosts(client.get("/devices/", {"tenant": "bravo"})) == ["bravo-db"]


def test_device_list_paginates_with_a_bounded_number_of_queries(client, world, django_assert_max_num_queries):
    for i in range(60):
        DeviceFactory(tenant=world.tenant_a, hostname=f"pc-{i:02}")
    sign_in(client, world.tech_all)
    with django_assert_max_num_queries(25):
        response = client.get("/devices/")
    assert len(hosts(response)) == 50 and b"Page 1 of 2" in response.content


def test_technician_edits_a_device(client, world, devices):
    online = devices[0]
    sign_in(client, world.tech_a)
    response = client.post(
        f"/t/{world.tenant_a.slug}/devices/{online.uid}/",
        {"criticality": "low", "tags": "server,web", "checkin_interval": 600, "notes": "rack 2"},
    )
    assert response.status_code == 302
    online.refresh_from_db()
    assert (online.criticality, online.tags, online.checkin_interval) == ("low", ["server", "web"], 600)


def test_device_page_sections(client, world, devices):
    sign_in(client, world.viewer_a)
    base = f"/t/{world.tenant_a.slug}/devices/{devices[0].uid}/"
    for section in ("software", "updates", "checkins"):
        assert client.get(base, {"section": section}).status_code == 200
    assert b"Settings" not in client.get(base).content  # a viewer sees no edit form


def test_rule_groups_follow_their_rule_and_explicit_groups_their_members(world, devices):
    _online, offline, stale = devices
    rule = DeviceGroup.objects.create(tenant=world.tenant_a, name="Windows", kind="rule", rule_os_family="windows")
    explicit = DeviceGroup.objects.create(tenant=world.tenant_a, name="Pilot")
    DeviceGroupMember.objects.create(tenant=world.tenant_a, group=explicit, device=stale)
    assert list(rule.devices()) == [offline]
    assert list(explicit.devices()) == [stale]
    assert DeviceGroup.containing(stale) == [explicit]


def test_group_members_are_set_from_the_page(client, world, devices):
    group = DeviceGroup.objects.create(tenant=world.tenant_a, name="Pilot")
    sign_in(client, world.tech_a)
    client.post(f"/t/{world.tenant_a.slug}/groups/{group.pk}/members/", {"devices": [devices[0].pk, devices[1].pk]})
    assert set(group.devices()) == {devices[0], devices[1]}
    client.post(f"/t/{world.tenant_a.slug}/groups/{group.pk}/members/", {"devices": [devices[1].pk]})
    assert set(group.devices()) == {devices[1]}


def test_group_members_cannot_come_from_another_tenant(client, world, devices):
    group = DeviceGroup.objects.create(tenant=world.tenant_a, name="Pilot")
    bravo = Device.objects.get(hostname="bravo-db")
    sign_in(client, world.msp_admin)
    client.post(f"/t/{world.tenant_a.slug}/groups/{group.pk}/members/", {"devices": [bravo.pk]})
    assert not group.devices().exists()


def test_enrollment_page_creates_a_token_and_shows_the_command_once(client, world):
    sign_in(client, world.tech_a)
    response = client.post(
        f"/t/{world.tenant_a.slug}/enrollment/",
        {"name": "Office", "max_uses": 5, "expires_in_days": 3, "tags": "office"},
    )
    raw = re.search(rb'data-testid="enrollment-token">(pet_[^<]+)<', response.content).group(1).decode()
    assert f"--token {raw}".encode() in response.content
    token = EnrollmentToken.objects.get(name="Office")
    assert token.max_uses == 5 and token.tags == ["office"] and token.token_hash != raw
    assert raw.encode() not in client.get(f"/t/{world.tenant_a.slug}/enrollment/").content


def test_enrollment_tokens_rotate_and_revoke(client, world):
    token, raw = EnrollmentToken.issue(world.tenant_a, "Office")
    sign_in(client, world.tech_a)
    response = client.post(f"/t/{world.tenant_a.slug}/enrollment/{token.pk}/", {"action": "rotate"})
    new = re.search(rb'data-testid="enrollment-token">(pet_[^<]+)<', response.content).group(1).decode()
    token.refresh_from_db()
    from tenants.models.tokens import hash_token

    assert token.token_hash == hash_token(new) != hash_token(raw)
    client.post(f"/t/{world.tenant_a.slug}/enrollment/{token.pk}/", {"action": "revoke"})
    token.refresh_from_db()
    assert token.status == "revoked"


def test_create_enrollment_token_command(world, capsys):
    from django.core.management import call_command

    DeviceGroup.objects.create(tenant=world.tenant_a, name="Pilot")
    call_command("create_enrollment_token", tenant="alpha", max_uses=3, group=["Pilot"], site=world.site_a.name)
    raw = capsys.readouterr().out.strip()
    token = EnrollmentToken.objects.get()
    from tenants.models.tokens import hash_token

    assert raw.startswith("pet_") and token.token_hash == hash_token(raw)
    assert token.max_uses == 3 and token.site == world.site_a and [g.name for g in token.groups.all()] == ["Pilot"]
