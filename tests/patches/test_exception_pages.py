"""Accepted-risk pages: MSP staff accept and revoke, everyone in the tenant reads them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from patches.exception_listing import local_today
from patches.models import Finding, FindingState, RiskException
from tests.fixtures.personas import sign_in
from tests.patches.policy_helpers import later, setup  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def list_url(world):
    return reverse("exception_list", kwargs={"tenant_slug": world.tenant_a.slug})


def create_url(world):
    return reverse("exception_create", kwargs={"tenant_slug": world.tenant_a.slug})


def data(world, **overrides):
    other = Finding.objects.get(package_name="curl")
    body = {
        "covers": "finding",
        "finding": other.pk,
        "owner": world.owner_a.pk,
        "reason": "Vendor fix due next month",
        "expires_on": later(world.tenant_a).isoformat(),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def test_accepting_a_risk_marks_its_findings_accepted(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_a)
    response = client.post(create_url(world), data(world))
    assert response.status_code == 302 and response["Location"] == list_url(world)
    exception = RiskException.objects.latest("id")
    assert (exception.covers, exception.owner, exception.created_by) == ("finding", world.owner_a, world.tech_a)
    assert Finding.objects.get(pk=setup.other_finding.pk).state == FindingState.ACCEPTED

    page = client.get(list_url(world)).content.decode()
    assert "Vendor fix due next month" in page and f'id="exception-{exception.pk}"' in page


def test_a_whole_device_can_be_accepted(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_all)
    body = data(world, covers="device", finding=None, device=str(setup.device.uid))
    assert client.post(create_url(world), body).status_code == 302
    assert set(Finding.objects.filter(device=setup.device).values_list("state", flat=True)) == {"accepted"}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"owner": None}, "owner", "This field is required."),
        ({"reason": "   "}, "reason", "This field is required."),
        ({"expires_on": None}, "expires_on", "This field is required."),
        ({"expires_on": "today"}, "expires_on", "The expiry must be after today."),
        ({"finding": None}, "finding", "Choose what this exception covers."),
        ({"owner": "owner_b"}, "owner", "Select a valid choice."),
    ],
)
def test_owner_reason_and_a_future_expiry_are_required(client, world, setup, overrides, field, message):  # noqa: F811
    if overrides.get("expires_on") == "today":
        overrides = {"expires_on": local_today(world.tenant_a).isoformat()}
    if overrides.get("owner") == "owner_b":
        overrides = {"owner": world.owner_b.pk}
    sign_in(client, world.tech_all)
    response = client.post(create_url(world), data(world, **overrides))
    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    assert RiskException.objects.count() == 1
    assert Finding.objects.get(package_name="curl").state == FindingState.OPEN


def test_the_form_can_start_from_a_finding(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_all)
    response = client.get(create_url(world), {"finding": setup.other_finding.pk})
    form = response.context["form"]
    assert form.initial["covers"] == "finding" and form.initial["finding"] == setup.other_finding
    expected = local_today(world.tenant_a) + dt.timedelta(days=90)
    assert form.fields["expires_on"].initial == expected


def test_revoking_reopens_the_findings(client, world, setup):  # noqa: F811
    assert Finding.objects.get(pk=setup.finding.pk).state == FindingState.ACCEPTED
    sign_in(client, world.tech_a)
    url = reverse("exception_revoke", kwargs={"tenant_slug": "alpha", "pk": setup.exception.pk})
    assert client.post(url).status_code == 302
    setup.exception.refresh_from_db()
    assert setup.exception.revoked_by == world.tech_a and setup.exception.revoked_at is not None
    assert Finding.objects.get(pk=setup.finding.pk).state == FindingState.OPEN

    # Revoking twice is refused with a message, not an error page.
    response = client.post(url, follow=True)
    assert "already revoked" in response.content.decode()
    page = client.get(list_url(world)).content.decode()
    assert f'id="exception-{setup.exception.pk}"' in page.split('class="exceptions-revoked"', 1)[1]


def test_a_client_owner_sees_the_accepted_risks_but_cannot_accept_one(client, world, setup):  # noqa: F811
    sign_in(client, world.owner_a)
    page = client.get(list_url(world)).content.decode()
    assert "Replaced next quarter" in page
    assert "Accept a risk</a>" not in page and "Revoke</button>" not in page
    assert client.get(create_url(world)).status_code == 403
    assert client.post(create_url(world), data(world)).status_code == 403
    revoke = reverse("exception_revoke", kwargs={"tenant_slug": "alpha", "pk": setup.exception.pk})
    assert client.post(revoke).status_code == 403
    assert RiskException.objects.get().revoked_at is None


def test_an_outsider_gets_404(client, world, setup):  # noqa: F811
    sign_in(client, world.owner_b)
    assert client.get(list_url(world)).status_code == 404
    # Nor can a tenant B page reach tenant A's exception by id.
    url = reverse("exception_revoke", kwargs={"tenant_slug": "bravo", "pk": setup.exception.pk})
    sign_in(client, world.tech_all)
    assert client.post(url).status_code == 404
    assert RiskException.objects.get().revoked_at is None
