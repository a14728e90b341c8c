"""Every alert and alert-channel page, for every persona: staff read and acknowledge, admins manage."""

from __future__ import annotations

import pytest

from deployments import alerts
from deployments.alerts import raise_alert
from deployments.models import Alert, AlertChannel, AlertKind
from tests.access import PERSONAS, Route, check_route
from tests.fixtures.personas import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _registered():
    alerts.register()


@pytest.fixture
def alerting(world):
    AlertChannel.objects.create(name="On call", kind="email", target="oncall@msp.test")
    raise_alert(AlertKind.HEALTH_FAILED, tenant=world.tenant_a, title="alpha-web-1 unhealthy", dedupe_key="a")
    raise_alert(AlertKind.HEALTH_FAILED, tenant=world.tenant_b, title="bravo-web-1 unhealthy", dedupe_key="b")
    raise_alert(AlertKind.FEED_FAILED, title="Feed KEV failed to sync", dedupe_key="feed")


def alert_a(w):
    return {"pk": Alert.objects.get(dedupe_key="a").pk}


def on_call(w):
    return {"pk": AlertChannel.objects.get(name="On call").pk}


NONE = lambda w: {}  # noqa: E731
CHANNEL = lambda w: {"name": "Ops", "kind": "email", "target": "ops@msp.test", "enabled": "on"}  # noqa: E731

ROUTES = [
    Route("alert_list", kwargs=NONE, staff=True),
    Route("alert_acknowledge", "post", kwargs=alert_a, staff=True),
    Route("alert_channel_list", kwargs=NONE, admin=True),
    Route("alert_channel_create", kwargs=NONE, admin=True),
    Route("alert_channel_create", "post", kwargs=NONE, admin=True, data=CHANNEL),
    Route("alert_channel_edit", kwargs=on_call, admin=True),
    Route("alert_channel_edit", "post", kwargs=on_call, admin=True, data=CHANNEL),
    Route("alert_channel_delete", kwargs=on_call, admin=True),
    Route("alert_channel_delete", "post", kwargs=on_call, admin=True),
    Route("alert_channel_test", "post", kwargs=on_call, admin=True),
]


@pytest.mark.parametrize("persona", list(PERSONAS))
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_access(client, world, alerting, route, persona):
    check_route(client, world, route, persona)


def test_a_technician_sees_their_tenants_alerts_and_the_msp_wide_ones(client, world, alerting):
    sign_in(client, world.tech_a)
    page = client.get("/alerts/").content.decode()
    assert "alpha-web-1 unhealthy" in page and "Feed KEV failed to sync" in page
    assert "bravo-web-1 unhealthy" not in page
    sign_in(client, world.tech_all)
    page = client.get("/alerts/").content.decode()
    assert "bravo-web-1 unhealthy" in page


def test_a_technician_cannot_acknowledge_another_tenants_alert(client, world, alerting):
    sign_in(client, world.tech_a)
    other = Alert.objects.get(dedupe_key="b")
    assert client.post(f"/alerts/{other.pk}/acknowledge/").status_code == 404
    other.refresh_from_db()
    assert other.acknowledged_at is None
