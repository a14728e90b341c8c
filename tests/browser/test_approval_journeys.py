"""The approval queue and the client's sign-off, in a real browser against a live server."""

from __future__ import annotations

import subprocess

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from patches.models import Approval, ApprovalState, PatchPolicy, Scope
from reports.models import ReportKind
from reports.services import create_report, render_safely
from reports.snapshots.monthly import month_of
from tests.browser.conftest import screenshot, sign_in
from tests.factories import PASSWORD, DeviceFactory
from tests.fixtures.personas import current_totp
from tests.patches.approval_helpers import make_patch, missing

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_throttle_left_over():
    cache.clear()


def sign_in_staff(page, user):
    sign_in(page, user.email, PASSWORD)
    page.wait_for_url("**/account/2fa/verify/")
    page.get_by_label("Code from your authenticator app").fill(current_totp(user.totpdevice_set.get()))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/tenants/")


def test_a_technician_bulk_approves_three_patches_from_the_queue(page, world):
    device = DeviceFactory(tenant=world.tenant_a, hostname="alpha-pc")
    chosen = [make_patch(name, severity="high") for name in ("openssl", "curl", "sudo")]
    for score, patch in zip((80.0, 60.0, 40.0), chosen, strict=True):
        missing(device, patch, score=score)
    left = make_patch("tzdata", severity="low")
    missing(device, left, score=5.0)

    sign_in_staff(page, world.tech_a)
    page.goto("/approvals/")
    assert page.get_by_role("heading", name="Approval queue").is_visible()
    for patch in chosen:
        page.get_by_label(f"Select {patch} for Alpha Dental").check()
    with page.expect_response(lambda r: r.request.method == "POST" and "/approvals/" in r.url) as answer:
        page.get_by_role("button", name="Approve", exact=True).click()
    assert answer.value.status == 200
    # All three ticks were sent (ticking a row does not reload the queue under the user).
    assert answer.value.request.post_data.count("items=") == 3
    assert answer.value.request.headers.get("hx-request") == "true"  # swapped by htmx, no reload
    page.get_by_text("Approved 3 patches.").wait_for()
    # Decided items leave the default view; what still waits stays.
    for patch in chosen:
        assert page.get_by_label(f"Select {patch} for Alpha Dental").count() == 0
    assert page.get_by_label(f"Select {left} for Alpha Dental").is_visible()

    # Ticking "Approved" in the filters shows them approved.
    page.get_by_label("Approved", exact=True).check()
    approved_rows = page.locator("table.queue tbody tr").filter(has=page.locator(".badge.approved"))
    approved_rows.first.wait_for()
    assert approved_rows.count() == 3
    for patch in chosen:
        assert approved_rows.filter(has_text=str(patch)).count() == 1

    approvals = Approval.objects.filter(patch__in=chosen)
    assert approvals.count() == 3
    assert {(a.tenant_id, a.state, a.decided_by_id) for a in approvals} == {
        (world.tenant_a.pk, ApprovalState.APPROVED, world.tech_a.pk)
    }


def test_a_client_owner_signs_off_an_update_and_downloads_the_months_report(page, world, tmp_path):
    PatchPolicy.objects.create(scope=Scope.TENANT, tenant=world.tenant_a, settings={"requires_client_approval": True})
    device = DeviceFactory(tenant=world.tenant_a, hostname="alpha-pc")
    patch = make_patch("openssl", title="openssl 3.0.16-1~deb12u1", severity="critical", cves=["CVE-2026-1111"])
    missing(device, patch, score=80.0)
    # As patches.approvals.decide leaves it for a tenant whose policy asks the owner (written
    # directly so that no sign-off e-mail task waits in the broker for a worker).
    now = timezone.now()
    approval = Approval.objects.create(
        patch=patch,
        scope=Scope.TENANT,
        tenant=world.tenant_a,
        state=ApprovalState.PENDING,
        decided_by=world.tech_all,
        decided_at=now,
        needs_client=True,
        client_requested_at=now,
    )

    # This month's report in the archive, made by the product's own functions (as the worker does).
    start, end = month_of(now.astimezone(world.tenant_a.time_zone).date())
    report = create_report(world.tenant_a, ReportKind.MONTHLY, now=now, start=start, end=end)
    assert render_safely(report), report.error

    sign_in(page, world.owner_a.email, PASSWORD)
    page.wait_for_url(f"**/t/{world.tenant_a.slug}/")
    page.get_by_role("link", name="Review and decide").click()
    page.wait_for_url(f"**/t/{world.tenant_a.slug}/sign-off/")
    item = page.get_by_role("region", name="openssl 3.0.16-1~deb12u1")
    assert item.get_by_text("Closes a known security hole.").is_visible()
    screenshot(page, "sign-off")
    item.get_by_label("Comment").fill("Fine outside office hours")
    item.get_by_role("button", name="Approve").click()
    page.get_by_text("Approved: openssl 3.0.16-1~deb12u1.").wait_for()
    assert page.get_by_text("Nothing is waiting for a decision.").is_visible()
    past = page.locator("#sign-off table").inner_text()  # the past decisions
    assert "openssl 3.0.16-1~deb12u1" in past and "approved" in past and "owner@alpha.test" in past

    approval.refresh_from_db()
    assert (approval.state, approval.client_decided_by, approval.client_comment) == (
        ApprovalState.APPROVED,
        world.owner_a,
        "Fine outside office hours",
    )
    assert approval.client_decided_at is not None

    # The report archive, and the month's PDF through its signed link.
    page.get_by_role("link", name="Reports").click()
    page.wait_for_url(f"**/t/{world.tenant_a.slug}/reports/")
    row = page.locator(f"#report-{report.pk}")
    expect(row).to_contain_text("Monthly")
    expect(row).to_contain_text(f"{start:%Y-%m-%d} \u2013 {end:%Y-%m-%d}")
    screenshot(page, "report-archive")
    with page.expect_download() as download:
        row.get_by_role("link", name="Download PDF").click()
    saved = tmp_path / "report.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(["pdftotext", str(saved), "-"], check=True, capture_output=True, text=True).stdout
    assert "Alpha Dental" in text
