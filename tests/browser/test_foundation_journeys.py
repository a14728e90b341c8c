"""Key journeys of the foundation, in a real browser against a live server."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from tests.fixtures.personas import current_totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_throttle_left_over():
    cache.clear()


def test_technician_signs_in_with_totp_and_switches_tenant(page, world):
    sign_in(page, world.tech_all.email, PASSWORD)
    page.wait_for_url("**/account/2fa/verify/")
    page.get_by_label("Code from your authenticator app").fill(current_totp(world.tech_all.totpdevice_set.get()))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/tenants/")
    assert page.get_by_role("heading", name="Client tenants").is_visible()
    assert page.get_by_role("link", name="Alpha Dental").is_visible()

    # The switcher submits itself on change (static JS, allowed by the CSP).
    page.get_by_label("Switch tenant").select_option(world.tenant_b.slug)
    page.wait_for_url(f"**/t/{world.tenant_b.slug}/")
    assert page.get_by_role("heading", name="Bravo Legal").is_visible()
    assert page.get_by_text("Bravo HQ").first.is_visible()
    page.get_by_label("Switch tenant").select_option(world.tenant_a.slug)
    page.wait_for_url(f"**/t/{world.tenant_a.slug}/")
    assert page.get_by_role("heading", name="Alpha Dental").is_visible()


def test_client_owner_gets_404_for_another_tenants_url(page, world):
    sign_in(page, world.owner_a.email, PASSWORD)
    page.wait_for_url(f"**/t/{world.tenant_a.slug}/")
    assert page.get_by_role("heading", name="Alpha Dental").is_visible()
    response = page.goto(f"/t/{world.tenant_b.slug}/")
    assert response.status == 404
    assert "Bravo" not in page.content()
    response = page.goto(f"/t/{world.tenant_b.slug}/sites/")
    assert response.status == 404


def test_pages_run_no_inline_script_and_break_no_csp_rule(page, world):
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    sign_in(page, world.owner_a.email, PASSWORD)
    page.wait_for_url(f"**/t/{world.tenant_a.slug}/")
    page.goto(f"/t/{world.tenant_a.slug}/audit/")
    assert page.evaluate("typeof htmx") == "object"  # served from django-htmx's static files
    assert violations == []
