"""Every approval-queue, sign-off and patch-catalogue page and REST endpoint, for every persona."""

from __future__ import annotations

import datetime as dt

import pytest

from patches.models import Approval, ApprovalState, Scope
from tests.access import PERSONAS, Route, check_route
from tests.factories import DeviceFactory
from tests.patches.approval_helpers import make_patch, missing

pytestmark = pytest.mark.django_db

SENT = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def queue(world):
    """A patch tenant A's device misses (undecided), one sent to A's owner for sign-off, one in B."""
    device_a = DeviceFactory(tenant=world.tenant_a, hostname="alpha-pc")
    device_b = DeviceFactory(tenant=world.tenant_b, hostname="bravo-pc")
    missing(device_a, make_patch("openssl"), score=70.0)
    waiting = make_patch("curl")
    missing(device_a, waiting, score=40.0)
    Approval.objects.create(
        patch=waiting,
        scope=Scope.TENANT,
        tenant=world.tenant_a,
        state=ApprovalState.PENDING,
        needs_client=True,
        client_requested_at=SENT,
        decided_by=world.tech_all,
        decided_at=SENT,
    )
    missing(device_b, make_patch("bind9"), score=60.0)


def patch_a(w):
    return {"pk": _patch("openssl").pk}


def sent_approval(w):
    return {"pk": Approval.objects.get(patch__name="curl").pk}


def sent_approval_a(w):
    return {"tenant_slug": w.tenant_a.slug, **sent_approval(w)}


def _patch(name):
    from patches.models import Patch

    return Patch.objects.get(name=name)


NONE = lambda w: {}  # noqa: E731
BULK_APPROVE = lambda w: {"items": [f"{w.tenant_a.pk}:{_patch('openssl').pk}"], "action": "approve"}  # noqa: E731
SIGN_OFF = lambda w: {"decision": "approve"}  # noqa: E731
DECIDE = lambda w: {"patches": [_patch("openssl").pk], "action": "approve", "tenant": w.tenant_a.slug}  # noqa: E731
CLIENT_DECISION = lambda w: {"approve": True}  # noqa: E731

ROUTES = [
    # Pages
    Route("approval_queue", kwargs=NONE, staff=True),
    Route("approval_queue", "post", kwargs=NONE, staff=True, data=BULK_APPROVE),
    Route("tenant_approval_queue", capability="approval.view"),
    Route("tenant_approval_queue", "post", capability="approval.decide", data=BULK_APPROVE),
    Route("sign_off_queue", capability="signoff.view"),
    Route("sign_off_decide", "post", kwargs=sent_approval_a, capability="approval.client_decide", data=SIGN_OFF),
    Route("patch_list", kwargs=NONE, staff=True),
    Route("patch_detail", kwargs=patch_a, staff=True),
    # REST API
    Route("patch-list", kwargs=NONE, staff=True, api=True),
    Route("patch-detail", kwargs=patch_a, staff=True, api=True),
    Route("approval-list", kwargs=NONE, api=True, anywhere="approval.view"),
    Route("approval-detail", kwargs=sent_approval, capability="approval.view", api=True),
    Route("approval-decide", "post", kwargs=NONE, capability="approval.decide", api=True, data=DECIDE),
    Route(
        "approval-client-decision",
        "post",
        kwargs=sent_approval,
        capability="approval.client_decide",
        api=True,
        data=CLIENT_DECISION,
    ),
    Route("approval-queue-list", kwargs=NONE, api=True, anywhere="approval.view"),
]


@pytest.mark.parametrize("persona", list(PERSONAS))
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_access(client, world, queue, route, persona):
    response = check_route(client, world, route, persona)
    if route.expected(persona) == "allow":
        # Allowed means it worked, not merely "neither 403 nor 404": the bodies above are valid.
        assert response.status_code in (200, 302), f"{persona} got {response.status_code} for {route.id}"


@pytest.mark.parametrize(
    "persona,expected", [("tech_a", {"alpha"}), ("tech_all", {"alpha", "bravo"}), ("msp_admin", {"alpha", "bravo"})]
)
def test_the_queue_api_lists_only_the_tenants_a_technician_works_on(client, world, queue, persona, expected):
    from tests.fixtures.personas import sign_in

    sign_in(client, world.user(persona))
    items = client.get("/api/v1/approval-queue/").json()["results"]
    assert {item["tenant"] for item in items} == expected
