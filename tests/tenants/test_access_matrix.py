"""Every page and API endpoint of the tenants app, for every persona."""

from __future__ import annotations

import pytest
from django.urls import get_resolver

from tests.access import PERSONAS, Route, check_route

pytestmark = pytest.mark.django_db


def site(w):
    return {"tenant_slug": w.tenant_a.slug, "pk": w.site_a.pk}


def member(w):
    return {"tenant_slug": w.tenant_a.slug, "pk": w.viewer_a.memberships.get().pk}


def tenant_a(w):
    return {"slug": w.tenant_a.slug}


def api_site(w):
    return {"pk": w.site_a.pk}


def api_member(w):
    return {"pk": w.viewer_a.memberships.get().pk}


def api_audit(w):
    from tenants.models import AuditEntry

    return {"pk": AuditEntry.objects.filter(tenant=w.tenant_a).first().pk}


NONE = lambda w: {}  # noqa: E731

ROUTES = [
    # Pages of one tenant
    Route("tenant_detail", capability="tenant.view"),
    Route("tenant_edit", capability="tenant.manage"),
    Route("tenant_edit", "post", capability="tenant.manage", data=lambda w: {"name": ""}),
    Route("tenant_state", "post", capability="tenant.manage", data=lambda w: {"state": "deactivate"}),
    Route("site_list", capability="tenant.view"),
    Route("site_create", capability="site.manage"),
    Route("site_create", "post", capability="site.manage", data=lambda w: {"name": "Branch"}),
    Route("site_edit", capability="site.manage", kwargs=site),
    Route("site_edit", "post", capability="site.manage", kwargs=site, data=lambda w: {"name": "Renamed"}),
    Route("site_delete", capability="site.manage", kwargs=site),
    Route("site_delete", "post", capability="site.manage", kwargs=site),
    Route("member_list", capability="member.view"),
    Route("member_add", capability="member.manage"),
    Route(
        "member_add",
        "post",
        capability="member.manage",
        data=lambda w: {"email": "new@alpha.test", "role": "client_viewer"},
    ),
    Route("member_edit", capability="member.manage", kwargs=member),
    Route("member_edit", "post", capability="member.manage", kwargs=member, data=lambda w: {"role": "client_owner"}),
    Route("member_remove", capability="member.manage", kwargs=member),
    Route("member_remove", "post", capability="member.manage", kwargs=member),
    Route("tenant_audit", capability="tenant.audit"),
    # MSP-wide pages
    Route("home", kwargs=NONE),
    Route("msp_overview", kwargs=NONE, staff=True),
    Route("tenant_create", kwargs=NONE, admin=True),
    Route("tenant_create", "post", kwargs=NONE, admin=True, data=lambda w: {"name": "Charlie"}),
    Route("user_list", kwargs=NONE, admin=True),
    Route("user_create", kwargs=NONE, admin=True),
    Route("user_create", "post", kwargs=NONE, admin=True, data=lambda w: {"email": "x@msp.test"}),
    Route("user_edit", kwargs=lambda w: {"pk": w.viewer_a.pk}, admin=True),
    Route("user_edit", "post", kwargs=lambda w: {"pk": w.viewer_a.pk}, admin=True, data=lambda w: {"full_name": "V"}),
    Route("msp_audit", kwargs=NONE, admin=True),
    Route("profile", kwargs=NONE),
    Route("token_create", "post", kwargs=NONE, data=lambda w: {"name": "ci"}),
    Route("api_docs", kwargs=NONE),
    Route("api_schema", kwargs=NONE),
    # REST API: objects of tenant A
    Route("tenant-detail", kwargs=tenant_a, capability="tenant.view", api=True),
    Route(
        "tenant-detail", "patch", kwargs=tenant_a, capability="tenant.manage", api=True, data=lambda w: {"notes": "x"}
    ),
    Route(
        "tenant-state",
        "post",
        kwargs=tenant_a,
        capability="tenant.manage",
        api=True,
        data=lambda w: {"state": "deactivate"},
    ),
    Route("site-detail", kwargs=api_site, capability="tenant.view", api=True),
    Route("site-detail", "patch", kwargs=api_site, capability="site.manage", api=True, data=lambda w: {"notes": "x"}),
    Route("site-detail", "delete", kwargs=api_site, capability="site.manage", api=True),
    Route(
        "site-list",
        "post",
        kwargs=NONE,
        capability="site.manage",
        api=True,
        data=lambda w: {"tenant": w.tenant_a.slug, "name": "API site"},
    ),
    Route("membership-detail", kwargs=api_member, capability="member.view", api=True),
    Route(
        "membership-detail",
        "patch",
        kwargs=api_member,
        capability="member.manage",
        api=True,
        data=lambda w: {"role": "client_owner"},
    ),
    Route("membership-detail", "delete", kwargs=api_member, capability="member.manage", api=True),
    Route(
        "membership-list",
        "post",
        kwargs=NONE,
        capability="member.manage",
        api=True,
        data=lambda w: {"tenant": w.tenant_a.slug, "email": "api@alpha.test", "role": "client_viewer"},
    ),
    Route("auditentry-detail", kwargs=api_audit, capability="tenant.audit", api=True),
    # REST API: lists across tenants
    Route("tenant-list", kwargs=NONE, api=True),
    Route("tenant-list", "post", kwargs=NONE, admin=True, api=True, data=lambda w: {"name": "Delta", "slug": "delta"}),
    Route("site-list", kwargs=NONE, api=True),
    Route("membership-list", kwargs=NONE, api=True, anywhere="member.view"),
    Route("auditentry-list", kwargs=NONE, api=True, anywhere="tenant.audit"),
    Route("user-list", kwargs=NONE, admin=True, api=True),
    Route("user-detail", kwargs=lambda w: {"pk": w.viewer_a.pk}, admin=True, api=True),
    Route(
        "user-detail",
        "patch",
        kwargs=lambda w: {"pk": w.viewer_a.pk},
        admin=True,
        api=True,
        data=lambda w: {"full_name": "V"},
    ),
    Route("user-list", "post", kwargs=NONE, admin=True, api=True, data=lambda w: {"email": "api-staff@msp.test"}),
    Route("apitoken-list", kwargs=NONE, api=True),
    Route("apitoken-list", "post", kwargs=NONE, api=True, data=lambda w: {"name": "ci"}),
]

# Routes whose access is not about tenants: sign-in, 2FA, password flows, admin, health.
NOT_TENANT_SCOPED = {
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "password_change",
    "password_change_done",
    "two_factor_setup",
    "two_factor_verify",
    "two_factor_disable",
    "healthz",
    "tenant_switch",
    "token_revoke",
    "apitoken-revoke",
    "api-root",
}


@pytest.mark.parametrize("persona", list(PERSONAS))
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_access(client, world, route, persona):
    check_route(client, world, route, persona)


def test_every_route_is_in_an_access_table():
    from tests.access_registry import all_exempt_names, all_route_tables

    covered = {route.name for table in all_route_tables() for route in table} | all_exempt_names()
    names = set()
    for pattern in _walk(get_resolver()):
        if pattern.name and not pattern.name.startswith(("admin:", "django_")):
            names.add(pattern.name)
    missing = sorted(n for n in names if n not in covered and "-format" not in n)
    assert missing == [], f"routes without an access test: {missing}"


def _walk(resolver, namespace=""):
    for entry in resolver.url_patterns:
        if hasattr(entry, "url_patterns"):
            if entry.namespace in ("admin",):
                continue
            yield from _walk(entry)
        else:
            yield entry


def test_outsider_switching_to_another_tenant_gets_404(client, world):
    from tests.fixtures.personas import sign_in

    sign_in(client, world.owner_a)
    assert client.get("/switch/", {"tenant": world.tenant_b.slug}).status_code == 404
    assert client.get("/switch/", {"tenant": world.tenant_a.slug}).status_code == 302


def test_api_lists_contain_only_visible_tenants(client, world):
    from tests.fixtures.personas import sign_in

    sign_in(client, world.owner_a)
    sites = client.get("/api/v1/sites/").json()["results"]
    assert {s["tenant"] for s in sites} == {"alpha"}
    tenants = client.get("/api/v1/tenants/").json()["results"]
    assert [t["slug"] for t in tenants] == ["alpha"]
    audit = client.get("/api/v1/audit/").json()["results"]
    assert audit and {e["tenant"] for e in audit} == {"alpha"}


def test_viewer_audit_list_is_forbidden(client, world):
    from tests.fixtures.personas import sign_in

    sign_in(client, world.viewer_a)
    assert client.get("/api/v1/audit/").status_code == 403


def test_anonymous_is_sent_to_login_or_refused(client, world):
    response = client.get(f"/t/{world.tenant_a.slug}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get("/api/v1/sites/").status_code in (401, 403)
