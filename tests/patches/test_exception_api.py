"""Accepted risks over the REST API."""

from __future__ import annotations

import pytest

from patches.exception_listing import local_today
from patches.models import Finding, FindingState, RiskException
from tests.fixtures.personas import sign_in
from tests.patches.policy_helpers import later, setup  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

URL = "/api/v1/exceptions/"


def post(client, body, url=URL):
    return client.post(url, body, content_type="application/json")


def body(world, **overrides):
    data = {
        "tenant": "alpha",
        "finding": Finding.objects.get(package_name="curl").pk,
        "owner": world.owner_a.email,
        "reason": "Vendor fix due next month",
        "expires_on": later(world.tenant_a).isoformat(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_creating_one_accepts_its_findings(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_a)
    response = post(client, body(world))
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["covers"] == "finding" and created["status"] == "active"
    assert (created["tenant"], created["owner"], created["created_by"]) == (
        "alpha",
        "owner@alpha.test",
        "tech-a@msp.test",
    )
    assert created["covered_now"] == 1
    assert Finding.objects.get(package_name="curl").state == FindingState.ACCEPTED


def test_a_device_or_an_advisory_can_be_covered(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_all)
    response = post(client, body(world, finding=None, device=str(setup.device.uid)))
    assert response.status_code == 201 and response.json()["covers"] == "device"
    advisory = setup.finding.advisory.advisory_id
    response = post(client, body(world, finding=None, advisory=advisory))
    assert response.status_code == 201 and response.json()["advisory"] == advisory


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"owner": None}, "owner"),
        ({"reason": None}, "reason"),
        ({"reason": "  "}, "reason"),
        ({"expires_on": None}, "expires_on"),
        ({"expires_on": "today"}, "expires_on"),
        ({"expires_on": "next week"}, "expires_on"),
        ({"finding": None}, "covers"),
        ({"device": "device"}, "covers"),
        ({"owner": "owner@bravo.test"}, "owner"),
        ({"owner": "nobody@example.test"}, "owner"),
        ({"finding": None, "device": "not-a-uuid"}, "device"),
        ({"finding": None, "device": "bravo"}, "device"),
        ({"finding": 0}, "finding"),
    ],
)
def test_a_bad_request_is_a_400_naming_the_field_and_accepts_nothing(client, world, setup, overrides, field):  # noqa: F811
    if overrides.get("expires_on") == "today":
        overrides = {"expires_on": local_today(world.tenant_a).isoformat()}
    if overrides.get("device") == "device":
        overrides = {"device": str(setup.device.uid)}
    if overrides.get("device") == "bravo":
        overrides = {"finding": None, "device": str(setup.device_b.uid)}
    sign_in(client, world.tech_all)
    response = post(client, body(world, **overrides))
    assert response.status_code == 400
    assert list(response.json()) == [field], response.json()
    assert RiskException.objects.count() == 1
    assert Finding.objects.get(package_name="curl").state == FindingState.OPEN


def test_revoking_reopens_the_findings(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_a)
    response = post(client, {}, f"{URL}{setup.exception.pk}/revoke/")
    assert response.status_code == 200
    assert response.json()["status"] == "revoked" and response.json()["revoked_by"] == "tech-a@msp.test"
    assert Finding.objects.get(pk=setup.finding.pk).state == FindingState.OPEN
    again = post(client, {}, f"{URL}{setup.exception.pk}/revoke/")
    assert again.status_code == 400 and "revoked_at" in again.json()


def test_a_client_owner_reads_their_tenants_risks_but_cannot_accept_or_revoke(client, world, setup):  # noqa: F811
    sign_in(client, world.owner_a)
    results = client.get(URL).json()["results"]
    assert [row["id"] for row in results] == [setup.exception.pk]
    assert client.get(f"{URL}{setup.exception.pk}/").json()["reason"] == "Replaced next quarter"
    assert post(client, body(world)).status_code == 403
    assert post(client, {}, f"{URL}{setup.exception.pk}/revoke/").status_code == 403
    assert RiskException.objects.get().revoked_at is None


def test_an_outsider_gets_404_and_an_empty_list(client, world, setup):  # noqa: F811
    sign_in(client, world.owner_b)
    assert client.get(URL).json()["results"] == []
    assert client.get(f"{URL}{setup.exception.pk}/").status_code == 404
    assert post(client, {}, f"{URL}{setup.exception.pk}/revoke/").status_code == 404
    assert post(client, body(world)).status_code == 404


def test_the_list_filters_by_state(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_all)
    post(client, {}, f"{URL}{setup.exception.pk}/revoke/")
    post(client, body(world))
    assert len(client.get(URL, {"revoked": "true"}).json()["results"]) == 1
    assert len(client.get(URL, {"revoked": "false"}).json()["results"]) == 1
    assert len(client.get(URL, {"tenant": "bravo"}).json()["results"]) == 0
