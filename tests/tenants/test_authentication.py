"""Sign-in, two-factor, throttling, password reset and deactivated tenants."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from tenants import services
from tests.factories import PASSWORD
from tests.fixtures.personas import current_totp, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def login(client, email, password=PASSWORD):
    return client.post("/login/", {"username": email, "password": password})


def test_client_user_signs_in_with_email_and_password(client, world):
    response = login(client, "OWNER@alpha.test")  # e-mail is case-insensitive
    assert response.status_code == 302
    assert client.get("/").url == f"/t/{world.tenant_a.slug}/"


def test_wrong_password_is_refused(client, world):
    response = login(client, world.owner_a.email, "wrong")
    assert response.status_code == 200
    assert b"not right" in response.content
    assert "_auth_user_id" not in client.session


def test_staff_cannot_reach_any_page_before_completing_2fa(client, world):
    login(client, world.tech_all.email)
    for path in ("/", "/tenants/", f"/t/{world.tenant_a.slug}/", "/account/profile/", "/users/"):
        response = client.get(path)
        assert response.status_code == 302 and response.url == "/account/2fa/verify/", path
    assert client.get("/api/v1/tenants/").status_code == 403


def test_a_wrong_totp_code_is_refused_and_throttles_further_tries(client, world):
    login(client, world.tech_all.email)
    device = world.tech_all.totpdevice_set.get()
    wrong = "000000" if current_totp(device) != "000000" else "111111"
    assert client.post("/account/2fa/verify/", {"token": wrong}).status_code == 400
    # django-otp's throttle: right after a failure even the right code waits.
    assert client.post("/account/2fa/verify/", {"token": current_totp(device)}).status_code == 400
    assert client.get("/tenants/").status_code == 302


def test_staff_pass_2fa_with_a_current_totp_code(client, world):
    login(client, world.tech_all.email)
    device = world.tech_all.totpdevice_set.get()
    response = client.post("/account/2fa/verify/", {"token": current_totp(device)})
    assert response.status_code == 302
    assert client.get("/tenants/").status_code == 200


def test_staff_without_a_device_must_enrol_first(client, world):
    world.tech_a.totpdevice_set.all().delete()
    login(client, world.tech_a.email)
    assert client.get("/tenants/").url == "/account/2fa/setup/"
    page = client.get("/account/2fa/setup/")
    secret = re.search(rb'data-testid="totp-secret">([A-Z2-7]+)<', page.content).group(1)
    assert b"<svg" in page.content  # the QR code, inline
    device = world.tech_a.totpdevice_set.get(confirmed=False)
    import base64

    assert base64.b32encode(device.bin_key).rstrip(b"=") == secret
    response = client.post("/account/2fa/setup/", {"token": current_totp(device)})
    assert response.status_code == 200 and b"backup codes" in response.content
    assert client.get("/tenants/").status_code == 200


def test_backup_code_works_once(client, world):
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    device = StaticDevice.objects.create(user=world.tech_all, name="Backup codes")
    StaticToken.objects.create(device=device, token="backup123")
    login(client, world.tech_all.email)
    assert client.post("/account/2fa/verify/", {"token": "backup123"}).status_code == 302
    client.post("/account/logout/")
    login(client, world.tech_all.email)
    assert client.post("/account/2fa/verify/", {"token": "backup123"}).status_code == 400


def test_2fa_is_optional_for_client_users_but_enforced_once_enabled(client, world):
    login(client, world.owner_a.email)
    assert client.get(f"/t/{world.tenant_a.slug}/").status_code == 200
    client.post("/account/logout/")
    from tests.factories import TOTPDeviceFactory

    device = TOTPDeviceFactory(user=world.owner_a)
    login(client, world.owner_a.email)
    assert client.get(f"/t/{world.tenant_a.slug}/").url == "/account/2fa/verify/"
    client.post("/account/2fa/verify/", {"token": current_totp(device)})
    assert client.get(f"/t/{world.tenant_a.slug}/").status_code == 200


def test_staff_cannot_switch_2fa_off(client, world):
    sign_in(client, world.tech_all)
    client.post("/account/2fa/disable/")
    assert world.tech_all.totpdevice_set.filter(confirmed=True).exists()


def test_deactivated_tenants_users_cannot_sign_in_and_lose_open_sessions(client, world):
    sign_in(client, world.owner_a)
    assert client.get(f"/t/{world.tenant_a.slug}/").status_code == 200
    services.set_tenant_state(world.tenant_a, "deactivate")
    # The open session ends on the next request...
    response = client.get(f"/t/{world.tenant_a.slug}/")
    assert response.status_code == 302 and response.url.startswith("/login/")
    # ...and a new sign-in is refused.
    client.logout()
    assert login(client, world.owner_a.email).status_code == 200
    assert "_auth_user_id" not in client.session
    # Other tenants' users and MSP staff are unaffected; staff still see the tenant.
    assert login(client, world.owner_b.email).status_code == 302
    sign_in(client, world.tech_all)
    assert client.get(f"/t/{world.tenant_a.slug}/").status_code == 200


def test_archived_tenant_keeps_its_audit_history_readable(client, world):
    services.set_tenant_state(world.tenant_a, "archive")
    sign_in(client, world.msp_admin)
    response = client.get(f"/t/{world.tenant_a.slug}/audit/")
    assert response.status_code == 200
    assert b"Alpha HQ" in response.content  # the site's creation is still there


def test_repeated_failures_lock_the_account_for_that_address(client, world):
    for _ in range(5):
        login(client, world.owner_a.email, "wrong")
    response = login(client, world.owner_a.email)  # even the right password now
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session


def test_password_reset_is_delivered_by_smtp_and_works(client, world, smtp_server):
    response = client.post("/account/password-reset/", {"email": world.owner_a.email})
    assert response.status_code == 302
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == world.owner_a.email
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"http://[^/]+(/account/password-reset/\S+/)", body).group(1)
    form_page = client.get(link, follow=True)
    assert b"Choose a new password" in form_page.content
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "a-new-long-pass-77", "new_password2": "a-new-long-pass-77"}
    )
    assert response.status_code == 302
    client.logout()
    assert login(client, world.owner_a.email, "a-new-long-pass-77").status_code == 302


def test_every_form_needs_a_csrf_token(world):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    sign_in(strict, world.msp_admin)
    response = strict.post(f"/t/{world.tenant_a.slug}/sites/new/", {"name": "No token"})
    assert response.status_code == 403
    # An htmx request carries the token in a header (from hx-headers on <body>).
    page = strict.get(f"/t/{world.tenant_a.slug}/sites/new/")
    token = page.cookies["csrftoken"].value
    response = strict.post(
        f"/t/{world.tenant_a.slug}/sites/new/", {"name": "With token"}, HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204 and response["HX-Redirect"].endswith("/sites/")


def test_session_cookie_is_http_only_and_csrf_is_same_site(client, world):
    response = login(client, world.owner_a.email)
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
