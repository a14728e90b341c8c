"""Audit entries for changes made through the UI and the REST API."""

from __future__ import annotations

import pytest

from tenants.models import ApiToken, AuditEntry, Site
from tests.fixtures.personas import sign_in

pytestmark = pytest.mark.django_db


def entries_for(obj_type, **filters):
    return AuditEntry.objects.filter(object_type=obj_type, **filters).order_by("id")


def test_ui_create_update_delete_are_audited_with_actor_ip_and_tenant(client, world):
    sign_in(client, world.tech_a)
    slug = world.tenant_a.slug
    client.post(f"/t/{slug}/sites/new/", {"name": "Branch"}, REMOTE_ADDR="203.0.113.7")
    site = Site.objects.get(name="Branch")
    client.post(f"/t/{slug}/sites/{site.pk}/", {"name": "Branch West", "address": "Main St"}, REMOTE_ADDR="203.0.113.7")
    client.post(f"/t/{slug}/sites/{site.pk}/delete/", REMOTE_ADDR="203.0.113.7")

    create, update, delete = entries_for("tenants.site", object_id=str(site.pk))
    for entry in (create, update, delete):
        assert entry.actor_id == world.tech_a.pk
        assert entry.actor_label == world.tech_a.email
        assert entry.tenant_id == world.tenant_a.pk
        assert entry.ip == "203.0.113.7"
        assert entry.source == "ui"
        assert entry.request_id
    assert create.action == "create" and create.changes["name"] == [None, "Branch"]
    assert update.action == "update"
    assert update.changes == {"name": ["Branch", "Branch West"], "address": ["", "Main St"]}
    assert delete.action == "delete" and delete.object_repr == "Branch West"


def test_api_create_update_delete_are_audited(client, world):
    _token, raw = ApiToken.issue(world.tech_all, "ci")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}", "REMOTE_ADDR": "198.51.100.4"}
    response = client.post(
        "/api/v1/sites/", {"tenant": "alpha", "name": "API site"}, content_type="application/json", **auth
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert (
        client.patch(f"/api/v1/sites/{pk}/", {"notes": "rack 3"}, content_type="application/json", **auth).status_code
        == 200
    )
    assert client.delete(f"/api/v1/sites/{pk}/", **auth).status_code == 204

    actions = [
        (e.action, e.source, e.actor_id, e.ip, e.tenant_id) for e in entries_for("tenants.site", object_id=str(pk))
    ]
    expected = [
        (a, "api", world.tech_all.pk, "198.51.100.4", world.tenant_a.pk) for a in ("create", "update", "delete")
    ]
    assert actions == expected


def test_an_unchanged_save_writes_no_entry(world):
    before = AuditEntry.objects.count()
    site = Site.objects.get(pk=world.site_a.pk)
    site.save()
    assert AuditEntry.objects.count() == before


def test_secrets_are_not_copied_into_the_log(world):
    ApiToken.issue(world.owner_a, "report sync")
    entry = entries_for("tenants.apitoken").last()
    assert "token_hash" not in entry.changes
    assert entry.changes["name"] == [None, "report sync"]


def test_sign_ins_are_audited_without_a_tenant(client, world):
    from django.core.cache import cache

    cache.clear()
    client.post("/login/", {"username": world.owner_a.email, "password": "nope"}, REMOTE_ADDR="192.0.2.1")
    client.post(
        "/login/", {"username": world.owner_a.email, "password": "correct-horse-battery"}, REMOTE_ADDR="192.0.2.1"
    )
    failed, ok = AuditEntry.objects.filter(action__in=["login_failed", "login"]).order_by("id")
    assert (failed.action, failed.actor_label, failed.ip, failed.tenant_id) == (
        "login_failed",
        world.owner_a.email,
        "192.0.2.1",
        None,
    )
    assert (ok.action, ok.actor_id) == ("login", world.owner_a.pk)
    cache.clear()


def test_client_owner_reads_only_their_tenants_audit(client, world):
    sign_in(client, world.owner_a)
    page = client.get(f"/t/{world.tenant_a.slug}/audit/")
    assert page.status_code == 200
    assert b"Alpha HQ" in page.content and b"Bravo HQ" not in page.content


def test_msp_admin_sees_msp_wide_entries(client, world):
    sign_in(client, world.msp_admin)
    page = client.get("/audit/")
    assert page.status_code == 200
    assert b"Alpha HQ" in page.content and b"Bravo HQ" in page.content
