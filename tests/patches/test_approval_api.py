"""The REST API of the patch catalogue, approvals, decisions, the client's sign-off and the queue."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from patches.models import Approval, ApprovalState, PatchPolicy, Scope
from tenants.models import AuditEntry
from tests.factories import DeviceFactory
from tests.fixtures.personas import sign_in
from tests.patches.approval_helpers import make_patch, missing

pytestmark = pytest.mark.django_db

DECIDE = "/api/v1/approvals/decide/"


def today() -> dt.date:
    return timezone.now().date()


@pytest.fixture
def fleet(world):
    alpha = DeviceFactory(tenant=world.tenant_a, hostname="alpha-pc")
    bravo = DeviceFactory(tenant=world.tenant_b, hostname="bravo-pc")
    patches = {
        "openssl": make_patch("openssl", severity="critical", cves=["CVE-2026-1111"], released_on=today()),
        "curl": make_patch("curl", severity="high", released_on=today()),
        "sudo": make_patch("sudo", severity="high", kev=True, released_on=today() - dt.timedelta(days=90)),
        "bind9": make_patch("bind9", severity="critical", released_on=today()),
    }
    missing(alpha, patches["openssl"], score=82.5)
    missing(alpha, patches["curl"], score=41.0)
    missing(alpha, patches["sudo"], score=30.0, kev=True)
    missing(bravo, patches["bind9"], score=90.0)
    return patches


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


# ---- Decisions ----------------------------------------------------------------------------------


def test_a_technician_approves_patches_for_a_tenant(client, world, fleet):
    sign_in(client, world.tech_a)
    chosen = [fleet["openssl"].pk, fleet["curl"].pk]
    response = post(client, DECIDE, {"patches": chosen, "action": "approve", "tenant": "alpha", "comment": "Tested"})
    assert response.status_code == 200
    body = response.json()
    assert {(a["patch"]["id"], a["state"], a["tenant"], a["decided_by"]) for a in body} == {
        (pk, "approved", "alpha", world.tech_a.email) for pk in chosen
    }
    assert Approval.objects.filter(patch_id__in=chosen, tenant=world.tenant_a, state="approved").count() == 2
    entries = AuditEntry.objects.filter(object_type="patches.approval", action="create")
    assert entries.count() == 2 and {e.actor_id for e in entries} == {world.tech_a.pk}
    assert {e.source for e in entries} == {AuditEntry.Source.API}


def test_a_tenant_that_requires_sign_off_gets_the_approval_sent_to_its_owner(client, world, fleet):
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"requires_client_approval": True})
    sign_in(client, world.tech_all)
    (approval,) = post(
        client, DECIDE, {"patches": [fleet["openssl"].pk], "action": "approve", "tenant": "alpha"}
    ).json()
    assert (approval["state"], approval["awaiting_client"], approval["needs_client"]) == ("pending", True, True)


@pytest.mark.parametrize(
    "body,field",
    [
        ({"action": "approve", "tenant": "alpha"}, "patches"),
        ({"patches": [], "action": "approve", "tenant": "alpha"}, "patches"),
        ({"patches": ["x"], "action": "approve", "tenant": "alpha"}, "patches"),
        ({"patches": [999999], "action": "approve", "tenant": "alpha"}, "patches"),
        ({"patches": "PATCH", "action": "maybe", "tenant": "alpha"}, "action"),
        ({"patches": "PATCH", "tenant": "alpha"}, "action"),
        ({"patches": "PATCH", "action": "approve"}, "tenant"),
        ({"patches": "PATCH", "action": "approve", "tenant": "alpha", "scope": "planet"}, "scope"),
        ({"patches": "PATCH", "action": "approve", "tenant": "alpha", "scope": "site"}, "site"),
        ({"patches": "PATCH", "action": "approve", "tenant": "alpha", "scope": "site", "site": 999999}, "site"),
        ({"patches": "PATCH", "action": "approve", "tenant": "alpha", "scope": "device", "device": "nope"}, "device"),
        ({"patches": "PATCH", "action": "reject", "tenant": "alpha"}, "comment"),
        ({"patches": "PATCH", "action": "reject", "tenant": "alpha", "comment": "   "}, "comment"),
        ({"patches": "PATCH", "action": "defer", "tenant": "alpha"}, "defer_until"),
        ({"patches": "PATCH", "action": "defer", "tenant": "alpha", "defer_until": "2020-01-01"}, "defer_until"),
        ({"patches": "PATCH", "action": "defer", "tenant": "alpha", "defer_until": "soon"}, "defer_until"),
        (
            {"patches": "PATCH", "action": "approve", "tenant": "alpha", "expires_at": "2020-01-01T00:00:00Z"},
            "expires_at",
        ),
    ],
)
def test_a_bad_decision_is_a_400_naming_the_field_and_changes_nothing(client, world, fleet, body, field):
    sign_in(client, world.tech_all)
    if body.get("patches") == "PATCH":
        body = {**body, "patches": [fleet["openssl"].pk]}
    response = post(client, DECIDE, body)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Approval.objects.exists()
    assert not AuditEntry.objects.filter(object_type="patches.approval").exists()


def test_a_decision_body_that_is_not_an_object_is_a_400(client, world, fleet):
    sign_in(client, world.tech_all)
    response = post(client, DECIDE, [fleet["openssl"].pk])
    assert response.status_code == 400 and "non_field_errors" in response.json()


def test_decisions_at_a_site_and_a_deferral_with_a_date(client, world, fleet):
    sign_in(client, world.tech_all)
    until = today() + dt.timedelta(days=10)
    body = {
        "patches": [fleet["openssl"].pk],
        "action": "defer",
        "tenant": "alpha",
        "scope": "site",
        "site": world.site_a.pk,
        "defer_until": until.isoformat(),
    }
    (approval,) = post(client, DECIDE, body).json()
    assert (approval["scope"], approval["site"], approval["state"]) == ("site", world.site_a.pk, "deferred")
    assert approval["defer_until"] == until.isoformat()
    # A site of another tenant is not a target in this one.
    response = post(client, DECIDE, {**body, "site": world.site_b.pk})
    assert response.status_code == 400 and "site" in response.json()


def test_a_technician_of_one_tenant_cannot_decide_for_another(client, world, fleet):
    sign_in(client, world.tech_a)
    response = post(client, DECIDE, {"patches": [fleet["bind9"].pk], "action": "approve", "tenant": "bravo"})
    assert response.status_code == 404
    # Access is decided before the body: a bad body for an unknown tenant is still a 404.
    assert post(client, DECIDE, {"patches": [], "tenant": "bravo"}).status_code == 404
    assert not Approval.objects.exists()


@pytest.mark.parametrize("persona,status", [("owner_a", 403), ("viewer_a", 403), ("owner_b", 404)])
def test_clients_cannot_decide(client, world, fleet, persona, status):
    sign_in(client, world.user(persona))
    response = post(client, DECIDE, {"patches": [fleet["openssl"].pk], "action": "approve", "tenant": "alpha"})
    assert response.status_code == status
    assert not Approval.objects.exists()


def test_only_msp_admins_decide_for_all_tenants(client, world, fleet):
    body = {"patches": [fleet["openssl"].pk], "action": "approve", "scope": "global"}
    sign_in(client, world.tech_all)
    assert post(client, DECIDE, body).status_code == 403
    sign_in(client, world.msp_admin)
    (approval,) = post(client, DECIDE, body).json()
    assert (approval["scope"], approval["tenant"]) == ("global", None)


# ---- The client's sign-off ---------------------------------------------------------------------


@pytest.fixture
def sent(world, fleet):
    def ask(patch, tenant, **fields):
        return Approval.objects.create(
            patch=patch,
            scope=Scope.TENANT,
            tenant=tenant,
            state=ApprovalState.PENDING,
            decided_by=world.tech_all,
            decided_at=timezone.now(),
            **fields,
        )

    now = timezone.now()
    return {
        "alpha": ask(fleet["openssl"], world.tenant_a, needs_client=True, client_requested_at=now),
        "alpha_not_sent": ask(fleet["curl"], world.tenant_a),
        "bravo": ask(fleet["bind9"], world.tenant_b, needs_client=True, client_requested_at=now),
    }


def client_decision(approval) -> str:
    return f"/api/v1/approvals/{approval.pk}/client-decision/"


def test_the_owner_approves_an_item_sent_to_them(client, world, sent):
    sign_in(client, world.owner_a)
    response = post(client, client_decision(sent["alpha"]), {"approve": True})
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["client_decided_by"], body["awaiting_client"]) == (
        "approved",
        world.owner_a.email,
        False,
    )
    approval = Approval.objects.get(pk=sent["alpha"].pk)
    assert (approval.state, approval.client_decided_by) == (ApprovalState.APPROVED, world.owner_a)
    # Decided once: a second answer is refused.
    again = post(client, client_decision(sent["alpha"]), {"approve": False, "comment": "No"})
    assert again.status_code == 400 and "This item is not waiting for your decision." in str(again.json())


def test_the_owner_declines_with_a_comment(client, world, sent):
    sign_in(client, world.owner_a)
    response = post(client, client_decision(sent["alpha"]), {"approve": False})
    assert response.status_code == 400 and "comment" in response.json()
    assert Approval.objects.get(pk=sent["alpha"].pk).awaiting_client
    response = post(client, client_decision(sent["alpha"]), {"approve": False, "comment": "Month-end close"})
    assert response.json()["state"] == "rejected" and response.json()["client_comment"] == "Month-end close"


@pytest.mark.parametrize("body", [{}, {"approve": "perhaps"}, {"approve": None}])
def test_a_bad_client_decision_is_a_400_naming_the_field(client, world, sent, body):
    sign_in(client, world.owner_a)
    response = post(client, client_decision(sent["alpha"]), body)
    assert response.status_code == 400 and "approve" in response.json()
    assert Approval.objects.get(pk=sent["alpha"].pk).awaiting_client


def test_the_owner_decides_only_items_of_their_tenant_sent_to_them(client, world, sent):
    sign_in(client, world.owner_a)
    assert post(client, client_decision(sent["bravo"]), {"approve": True}).status_code == 404
    assert post(client, client_decision(sent["alpha_not_sent"]), {"approve": True}).status_code == 404
    for approval in sent.values():
        assert Approval.objects.get(pk=approval.pk).client_decided_at is None


def test_a_global_approval_is_not_answered_as_a_client(client, world, sent):
    glob = Approval.objects.create(patch=sent["alpha"].patch, scope=Scope.GLOBAL, state=ApprovalState.APPROVED)
    sign_in(client, world.owner_a)
    # Global rows belong to no tenant: a client never sees them, let alone answers them.
    assert post(client, client_decision(glob), {"approve": True}).status_code == 404
    assert Approval.objects.get(pk=glob.pk).client_decided_at is None


@pytest.mark.parametrize("persona", ["viewer_a", "tech_all", "tech_a", "msp_admin"])
def test_only_the_owner_signs_off(client, world, sent, persona):
    sign_in(client, world.user(persona))
    assert post(client, client_decision(sent["alpha"]), {"approve": True}).status_code == 403
    assert Approval.objects.get(pk=sent["alpha"].pk).awaiting_client


# ---- Reading approvals, the queue and the catalogue ------------------------------------------------


def test_approvals_list_only_the_technicians_tenants_and_filter(client, world, sent):
    sign_in(client, world.tech_a)
    results = client.get("/api/v1/approvals/").json()["results"]
    assert {a["tenant"] for a in results} == {"alpha"}
    waiting = client.get("/api/v1/approvals/", {"awaiting_client": "true"}).json()["results"]
    assert [a["id"] for a in waiting] == [sent["alpha"].pk]
    assert client.get(f"/api/v1/approvals/{sent['bravo'].pk}/").status_code == 404
    assert client.get(f"/api/v1/approvals/{sent['alpha'].pk}/").json()["patch"]["name"] == "openssl"


def test_the_queue_api_lists_items_with_their_risk_and_filters(client, world, fleet):
    sign_in(client, world.tech_all)
    items = client.get("/api/v1/approval-queue/").json()["results"]
    assert [(i["tenant"], i["patch"]["name"], i["risk"], i["status"]) for i in items] == [
        ("alpha", "sudo", 30.0, "undecided"),
        ("bravo", "bind9", 90.0, "undecided"),
        ("alpha", "openssl", 82.5, "undecided"),
        ("alpha", "curl", 41.0, "undecided"),
    ]
    assert items[0]["age_days"] == 90 and items[0]["kev"] is True

    def names(**params):
        return [i["patch"]["name"] for i in client.get("/api/v1/approval-queue/", params).json()["results"]]

    assert names(tenant="alpha", severity="critical") == ["openssl"]
    assert names(kev="true") == ["sudo"]
    assert names(min_age=30) == ["sudo"]
    assert names(product="cur") == ["curl"]
    post(client, DECIDE, {"patches": [fleet["curl"].pk], "action": "approve", "tenant": "alpha"})
    assert "curl" not in names()
    assert names(status="approved") == ["curl"]
    assert "curl" in names(status="all")


@pytest.mark.parametrize(
    "params,field", [({"severity": "dire"}, "severity"), ({"min_age": "old"}, "min_age"), ({"status": "x"}, "status")]
)
def test_bad_queue_filters_are_a_400_naming_the_field(client, world, fleet, params, field):
    sign_in(client, world.tech_all)
    response = client.get("/api/v1/approval-queue/", params)
    assert response.status_code == 400 and field in response.json()


def test_the_queue_api_hides_other_tenants(client, world, fleet):
    sign_in(client, world.tech_a)
    assert client.get("/api/v1/approval-queue/", {"tenant": "bravo"}).status_code == 404
    assert {i["tenant"] for i in client.get("/api/v1/approval-queue/").json()["results"]} == {"alpha"}


def test_the_patch_catalogue_api(client, world, fleet):
    old = make_patch("openssl", version="1.0-1")
    old.superseded_by = fleet["openssl"]
    old.save()
    sign_in(client, world.tech_a)
    listed = client.get("/api/v1/patches/", {"severity": "critical"}).json()["results"]
    assert {p["name"] for p in listed} == {"openssl", "bind9"}
    assert [p["name"] for p in client.get("/api/v1/patches/", {"kev": "true"}).json()["results"]] == ["sudo"]
    detail = client.get(f"/api/v1/patches/{fleet['openssl'].pk}/").json()
    assert detail["cves"] == ["CVE-2026-1111"] and detail["replaces"] == [old.pk] and len(detail["advisories"]) == 1
    assert client.get("/api/v1/patches/999999/").status_code == 404
    sign_in(client, world.owner_a)
    assert client.get("/api/v1/patches/").status_code == 403
