"""The approval queue (across tenants and on a tenant's tab), the client's sign-off queue and the
patch catalogue pages, driven through the test client as a browser would."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from patches.models import Approval, ApprovalState, PatchPolicy, Scope
from tenants.models import AuditEntry
from tests.factories import DeviceFactory
from tests.fixtures.personas import sign_in
from tests.patches.approval_helpers import make_patch, missing

pytestmark = pytest.mark.django_db

QUEUE = "/approvals/"


def today() -> dt.date:
    return timezone.now().date()


@pytest.fixture
def fleet(world):
    """What tenants A and B miss: five patches in A (one KEV, one old, one already approved), one in B."""
    alpha = DeviceFactory(tenant=world.tenant_a, hostname="alpha-pc")
    alpha_2 = DeviceFactory(tenant=world.tenant_a, hostname="alpha-server")
    bravo = DeviceFactory(tenant=world.tenant_b, hostname="bravo-pc")
    patches = {
        "openssl": make_patch("openssl", severity="critical", released_on=today()),
        "curl": make_patch("curl", severity="high", released_on=today()),
        "sudo": make_patch("sudo", severity="high", kev=True, released_on=today()),
        "tzdata": make_patch("tzdata", severity="low", released_on=today() - dt.timedelta(days=400)),
        "vim": make_patch("vim", severity="medium", released_on=today()),
        "bind9": make_patch("bind9", severity="critical", released_on=today()),
    }
    missing(alpha, patches["openssl"], score=82.5)
    missing(alpha_2, patches["openssl"], score=64.0)
    missing(alpha, patches["curl"], score=41.0)
    missing(alpha, patches["sudo"], score=30.0, kev=True)
    missing(alpha, patches["tzdata"], score=5.0)
    missing(alpha, patches["vim"], score=12.0)
    missing(bravo, patches["bind9"], score=90.0)
    Approval.objects.create(
        patch=patches["vim"], scope=Scope.TENANT, tenant=world.tenant_a, state=ApprovalState.APPROVED
    )
    return patches


def item(world, patch, tenant=None) -> str:
    return f"{(tenant or world.tenant_a).pk}:{patch.pk}"


def shown(response) -> list[tuple[str, str]]:
    return [(row["item"].tenant.slug, row["item"].patch.name) for row in response.context["rows"]]


# ---- The queue ------------------------------------------------------------------------------------


def test_the_queue_lists_what_needs_a_decision_riskiest_first_with_its_risk(client, world, fleet):
    sign_in(client, world.tech_all)
    response = client.get(QUEUE)
    assert response.status_code == 200
    # KEV first, then by risk; the approved vim is not waiting for anyone.
    assert shown(response) == [
        ("alpha", "sudo"),
        ("bravo", "bind9"),
        ("alpha", "openssl"),
        ("alpha", "curl"),
        ("alpha", "tzdata"),
    ]
    openssl = next(row for row in response.context["rows"] if row["item"].patch.name == "openssl")
    assert (openssl["item"].risk, openssl["item"].devices, openssl["item"].status) == (82.5, 2, "undecided")
    html = response.content.decode()
    assert "<strong>82.5</strong>" in html and "Undecided" in html
    assert f'value="{item(world, fleet["openssl"])}"' in html  # a tick box per item


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"tenant": "bravo"}, [("bravo", "bind9")]),
        ({"severity": "critical"}, [("bravo", "bind9"), ("alpha", "openssl")]),
        ({"kev": "true"}, [("alpha", "sudo")]),
        ({"min_age": "30"}, [("alpha", "tzdata")]),
        ({"product": "CUR"}, [("alpha", "curl")]),
        ({"status": "approved"}, [("alpha", "vim")]),
        ({"tenant": "alpha", "severity": "high", "kev": "true"}, [("alpha", "sudo")]),
    ],
)
def test_the_filters_narrow_the_queue(client, world, fleet, params, expected):
    sign_in(client, world.tech_all)
    response = client.get(QUEUE, params)
    assert shown(response) == expected
    # htmx asks for the table alone.
    partial = client.get(QUEUE, params, HTTP_HX_REQUEST="true")
    assert shown(partial) == expected
    assert "<html" not in partial.content.decode() and "HX-Request" in partial["Vary"]


def test_a_technician_of_one_tenant_never_sees_another_tenants_items(client, world, fleet):
    sign_in(client, world.tech_a)
    response = client.get(QUEUE, {"status": ["undecided", "pending", "approved"]})
    assert {tenant for tenant, _ in shown(response)} == {"alpha"}
    assert "Bravo" not in response.content.decode() and "bind9" not in response.content.decode()
    # Asking for tenant B by name does not help: it is not one of the choices.
    response = client.get(QUEUE, {"tenant": "bravo"})
    assert shown(response) == [] and "bind9" not in response.content.decode()


def test_a_technician_cannot_decide_for_another_tenant(client, world, fleet):
    sign_in(client, world.tech_a)
    both = [item(world, fleet["openssl"]), item(world, fleet["bind9"], world.tenant_b)]
    response = client.post(QUEUE, {"items": both, "action": "approve"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    assert not Approval.objects.filter(patch__in=[fleet["openssl"], fleet["bind9"]]).exists()


def test_bulk_approve_of_three_items_approves_them_and_audits_each(client, world, fleet):
    sign_in(client, world.tech_all)
    chosen = [fleet["openssl"], fleet["curl"], fleet["sudo"]]
    response = client.post(
        QUEUE, {"items": [item(world, p) for p in chosen], "action": "approve"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Approved 3 patches." in html and 'id="approval-queue"' in html and "<html" not in html
    approvals = Approval.objects.filter(patch__in=chosen)
    assert approvals.count() == 3
    assert {(a.scope, a.tenant_id, a.state, a.decided_by_id) for a in approvals} == {
        (Scope.TENANT, world.tenant_a.pk, ApprovalState.APPROVED, world.tech_all.pk)
    }
    entries = AuditEntry.objects.filter(object_type="patches.approval", object_id__in=[str(a.pk) for a in approvals])
    assert entries.count() == 3
    assert {(e.action, e.actor_id, e.tenant_id) for e in entries} == {("create", world.tech_all.pk, world.tenant_a.pk)}
    # What is decided leaves the default view; the approved filter shows it.
    assert [name for _, name in shown(response)] == ["bind9", "tzdata"]
    approved = client.get(QUEUE, {"status": "approved"})
    assert {name for _, name in shown(approved)} == {"openssl", "curl", "sudo", "vim"}


def test_a_plain_form_post_redirects_back_to_the_queue_with_its_filters(client, world, fleet):
    sign_in(client, world.tech_all)
    response = client.post(
        f"{QUEUE}?severity=critical", {"items": [item(world, fleet["openssl"])], "action": "approve"}
    )
    assert response.status_code == 302 and response["Location"] == f"{QUEUE}?severity=critical"
    page = client.get(response["Location"])
    assert "Approved 1 patch." in page.content.decode()


def test_reject_without_a_comment_is_refused_and_changes_nothing(client, world, fleet):
    sign_in(client, world.tech_all)
    chosen = [item(world, fleet["openssl"]), item(world, fleet["curl"])]
    response = client.post(QUEUE, {"items": chosen, "action": "reject", "comment": "  "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps only 2xx answers
    html = response.content.decode()
    assert "A rejection needs a comment saying why." in html
    assert response.context["selected"] == set(chosen)  # still ticked for the second try
    assert not Approval.objects.filter(patch__in=[fleet["openssl"], fleet["curl"]]).exists()
    assert (
        not AuditEntry.objects.filter(object_type="patches.approval", action="create")
        .exclude(object_id=str(Approval.objects.get(patch=fleet["vim"]).pk))
        .exists()
    )
    # Without htmx the same refusal is a 400 with the error on the page.
    plain = client.post(QUEUE, {"items": chosen, "action": "reject"})
    assert plain.status_code == 400 and "A rejection needs a comment saying why." in plain.content.decode()

    client.post(QUEUE, {"items": chosen, "action": "reject", "comment": "Breaks the PMS"}, HTTP_HX_REQUEST="true")
    rejected = Approval.objects.filter(patch__in=[fleet["openssl"], fleet["curl"]])
    assert {(a.state, a.comment) for a in rejected} == {(ApprovalState.REJECTED, "Breaks the PMS")}


def test_defer_needs_a_later_date(client, world, fleet):
    sign_in(client, world.tech_all)
    chosen = [item(world, fleet["openssl"])]
    for until in ("", (today() - dt.timedelta(days=1)).isoformat()):
        response = client.post(
            QUEUE, {"items": chosen, "action": "defer", "defer_until": until}, HTTP_HX_REQUEST="true"
        )
        assert "A deferral needs a date after today." in response.content.decode()
        assert not Approval.objects.filter(patch=fleet["openssl"]).exists()
    until = today() + dt.timedelta(days=14)
    response = client.post(
        QUEUE, {"items": chosen, "action": "defer", "defer_until": until.isoformat()}, HTTP_HX_REQUEST="true"
    )
    assert f"Deferred 1 patch until {until:%Y-%m-%d}." in response.content.decode()
    approval = Approval.objects.get(patch=fleet["openssl"])
    assert (approval.state, approval.defer_until) == (ApprovalState.DEFERRED, until)


def test_nothing_ticked_is_a_clear_error(client, world, fleet):
    sign_in(client, world.tech_all)
    response = client.post(QUEUE, {"action": "approve"}, HTTP_HX_REQUEST="true")
    assert "Select at least one patch." in response.content.decode()


def test_only_msp_admins_decide_for_all_tenants(client, world, fleet):
    sign_in(client, world.tech_all)
    data = {"items": [item(world, fleet["openssl"])], "action": "approve", "scope": "global"}
    response = client.post(QUEUE, data, HTTP_HX_REQUEST="true")
    assert "Only MSP admins decide for all tenants at once." in response.content.decode()
    assert not Approval.objects.filter(patch=fleet["openssl"]).exists()
    sign_in(client, world.msp_admin)
    client.post(QUEUE, data, HTTP_HX_REQUEST="true")
    assert Approval.objects.get(patch=fleet["openssl"]).scope == Scope.GLOBAL


def test_the_tenant_tab_shows_and_decides_only_that_tenants_items(client, world, fleet):
    sign_in(client, world.tech_all)
    url = reverse("tenant_approval_queue", kwargs={"tenant_slug": world.tenant_a.slug})
    response = client.get(url)
    assert {tenant for tenant, _ in shown(response)} == {"alpha"}
    other = {"items": [item(world, fleet["bind9"], world.tenant_b)], "action": "approve"}
    assert client.post(url, other, HTTP_HX_REQUEST="true").status_code == 404
    assert not Approval.objects.filter(patch=fleet["bind9"]).exists()
    own = {"items": [item(world, fleet["curl"])], "action": "approve"}
    assert "Approved 1 patch." in client.post(url, own, HTTP_HX_REQUEST="true").content.decode()


def test_approving_for_a_tenant_that_requires_sign_off_sends_it_to_the_client(client, world, fleet):
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"requires_client_approval": True})
    sign_in(client, world.tech_all)
    response = client.post(
        QUEUE, {"items": [item(world, fleet["openssl"])], "action": "approve"}, HTTP_HX_REQUEST="true"
    )
    assert "1 patch sent to the client for sign-off." in response.content.decode()
    assert Approval.objects.get(patch=fleet["openssl"]).awaiting_client
    assert ("alpha", "openssl") in shown(response)  # still waiting: it stays in the queue
    assert "Awaiting client" in response.content.decode()


def test_the_queue_page_has_no_decision_controls_for_a_read_only_view(client, world, fleet):
    sign_in(client, world.owner_a)
    assert client.get(QUEUE).status_code == 403
    url = reverse("tenant_approval_queue", kwargs={"tenant_slug": world.tenant_a.slug})
    assert client.get(url).status_code == 403


# ---- The client's sign-off ------------------------------------------------------------------------


@pytest.fixture
def sent(world, fleet):
    """openssl sent to A's owner; curl approved in A without sign-off; bind9 sent to B's owner."""

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


def sign_off_url(tenant, approval=None) -> str:
    if approval is None:
        return reverse("sign_off_queue", kwargs={"tenant_slug": tenant.slug})
    return reverse("sign_off_decide", kwargs={"tenant_slug": tenant.slug, "pk": approval.pk})


def test_the_owner_sees_what_waits_for_them_in_plain_words(client, world, sent):
    sign_in(client, world.owner_a)
    response = client.get(sign_off_url(world.tenant_a))
    assert response.status_code == 200
    assert [entry["approval"] for entry in response.context["items"]] == [sent["alpha"]]
    html = response.content.decode()
    assert "Waiting for your decision" in html and "rate it critical" in html
    assert "Needed on 2 of your computers." in html
    assert "bind9" not in html and sign_off_url(world.tenant_a, sent["alpha"]) in html


def test_a_viewer_reads_the_queue_but_has_no_buttons(client, world, sent):
    sign_in(client, world.viewer_a)
    response = client.get(sign_off_url(world.tenant_a))
    html = response.content.decode()
    assert response.status_code == 200 and "Only the company\u2019s owner approves or declines." in html
    assert sign_off_url(world.tenant_a, sent["alpha"]) not in html


def test_the_owner_approves_an_item_sent_to_them(client, world, sent):
    sign_in(client, world.owner_a)
    response = client.post(sign_off_url(world.tenant_a, sent["alpha"]), {"decision": "approve"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Approved: openssl" in html and "Nothing is waiting for a decision." in html
    approval = Approval.objects.get(pk=sent["alpha"].pk)
    assert (approval.state, approval.client_decided_by) == (ApprovalState.APPROVED, world.owner_a)
    assert response.context["history"][0].approved and response.context["history"][0].by == world.owner_a.email


def test_declining_needs_a_reason(client, world, sent):
    sign_in(client, world.owner_a)
    url = sign_off_url(world.tenant_a, sent["alpha"])
    response = client.post(url, {"decision": "decline"}, HTTP_HX_REQUEST="true")
    assert "Please say why you decline." in response.content.decode()
    assert Approval.objects.get(pk=sent["alpha"].pk).awaiting_client
    assert client.post(url, {"decision": "decline"}).status_code == 400
    response = client.post(url, {"decision": "decline", "comment": "Month-end close"})
    assert response.status_code == 302 and response["Location"] == sign_off_url(world.tenant_a)
    approval = Approval.objects.get(pk=sent["alpha"].pk)
    assert (approval.state, approval.client_comment) == (ApprovalState.REJECTED, "Month-end close")


def test_an_unknown_decision_is_refused(client, world, sent):
    sign_in(client, world.owner_a)
    response = client.post(sign_off_url(world.tenant_a, sent["alpha"]), {"decision": "maybe"}, HTTP_HX_REQUEST="true")
    assert "Select a valid choice." in response.content.decode()
    assert Approval.objects.get(pk=sent["alpha"].pk).awaiting_client


def test_the_owner_decides_only_items_of_their_tenant_sent_to_them(client, world, sent):
    sign_in(client, world.owner_a)
    # Another tenant's item, under their own tenant's URL or the other tenant's: 404.
    assert client.post(sign_off_url(world.tenant_a, sent["bravo"]), {"decision": "approve"}).status_code == 404
    assert client.post(sign_off_url(world.tenant_b, sent["bravo"]), {"decision": "approve"}).status_code == 404
    # Their own tenant's approval that was never sent for sign-off: 404 as well.
    assert client.post(sign_off_url(world.tenant_a, sent["alpha_not_sent"]), {"decision": "approve"}).status_code == 404
    for approval in sent.values():
        fresh = Approval.objects.get(pk=approval.pk)
        assert (fresh.state, fresh.client_decided_at) == (ApprovalState.PENDING, None)


def test_an_item_already_decided_is_no_longer_open_to_a_decision(client, world, sent):
    sign_in(client, world.owner_a)
    url = sign_off_url(world.tenant_a, sent["alpha"])
    client.post(url, {"decision": "approve"})
    response = client.post(url, {"decision": "decline", "comment": "Changed my mind"}, HTTP_HX_REQUEST="true")
    assert "This item is not waiting for your decision." in response.content.decode()
    assert Approval.objects.get(pk=sent["alpha"].pk).state == ApprovalState.APPROVED


@pytest.mark.parametrize("persona", ["viewer_a", "tech_all", "tech_a", "msp_admin"])
def test_only_the_owner_signs_off(client, world, sent, persona):
    sign_in(client, world.user(persona))
    assert client.post(sign_off_url(world.tenant_a, sent["alpha"]), {"decision": "approve"}).status_code == 403
    assert Approval.objects.get(pk=sent["alpha"].pk).awaiting_client


def test_the_tenant_summary_nudges_the_owner(client, world, sent):
    sign_in(client, world.owner_a)
    html = client.get(f"/t/{world.tenant_a.slug}/").content.decode()
    assert "1 update needs the owner\u2019s sign-off" in html and "Review and decide" in html


# ---- The patch catalogue -----------------------------------------------------------------------


def test_the_catalogue_lists_and_filters_patches(client, world, fleet):
    sign_in(client, world.tech_a)
    response = client.get("/patches/")
    assert response.status_code == 200
    html = response.content.decode()
    assert all(name in html for name in fleet)
    response = client.get("/patches/", {"severity": "critical"}, HTTP_HX_REQUEST="true")
    assert {p.name for p in response.context["page"].object_list} == {"openssl", "bind9"}
    assert "<html" not in response.content.decode()
    response = client.get("/patches/", {"q": "tzd"})
    assert [p.name for p in response.context["page"].object_list] == ["tzdata"]


def test_the_patch_page_shows_decisions_and_devices_of_the_users_tenants_only(client, world, fleet):
    Approval.objects.create(
        patch=fleet["openssl"],
        scope=Scope.TENANT,
        tenant=world.tenant_b,
        state=ApprovalState.REJECTED,
        comment="Bravo says no",
    )
    Approval.objects.create(patch=fleet["openssl"], scope=Scope.TENANT, tenant=world.tenant_a, state="approved")
    DeviceFactory(tenant=world.tenant_b, hostname="bravo-ssl")
    missing(DeviceFactory(tenant=world.tenant_b), fleet["openssl"])
    url = reverse("patch_detail", kwargs={"pk": fleet["openssl"].pk})

    sign_in(client, world.tech_a)
    response = client.get(url)
    assert response.status_code == 200
    assert [a.tenant for a in response.context["approvals"]] == [world.tenant_a]
    assert response.context["missing"] == [(world.tenant_a, 2)]
    html = response.content.decode()
    assert "Bravo says no" not in html and "Bravo Legal" not in html

    sign_in(client, world.tech_all)
    response = client.get(url)
    assert {a.tenant for a in response.context["approvals"]} == {world.tenant_a, world.tenant_b}
    assert response.context["missing"] == [(world.tenant_a, 2), (world.tenant_b, 1)]


def test_an_unknown_patch_is_a_404(client, world):
    sign_in(client, world.tech_all)
    assert client.get(reverse("patch_detail", kwargs={"pk": 999999})).status_code == 404
