"""Script pages: MSP admins write scripts (each body change a new, audited version), staff read them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from patches import scripts
from patches.models import Scope, Script, ScriptVersion
from tenants.models import AuditEntry
from tests.fixtures.personas import sign_in
from tests.patches.policy_helpers import policy, setup  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def edit_data(script, **overrides):
    data = {
        "name": script.name,
        "description": script.description,
        "interpreter": script.interpreter,
        "body": script.current.body,
        "note": "",
        "base_version": script.current_version,
    }
    data.update(overrides)
    return data


def test_an_admin_creates_a_script_as_version_1(client, world):
    sign_in(client, world.msp_admin)
    body = "#!/bin/sh\r\nsystemctl stop app\r\n"
    response = client.post(reverse("script_create"), {"name": "Stop app", "interpreter": "sh", "body": body})
    script = Script.objects.get(name="Stop app")
    assert response.status_code == 302 and response["Location"] == reverse("script_detail", kwargs={"pk": script.pk})
    version = script.current
    assert (script.current_version, version.number, version.created_by) == (1, 1, world.msp_admin)
    assert version.body == "#!/bin/sh\nsystemctl stop app\n"  # line ends as a shell wants them
    assert version.sha256 == ScriptVersion.digest(version.body)
    entry = AuditEntry.objects.get(object_type="patches.script", object_id=str(script.pk), action="create")
    assert entry.actor == world.msp_admin and entry.source == "ui"


def test_a_name_is_unique_and_a_body_required(client, world, setup):  # noqa: F811
    sign_in(client, world.msp_admin)
    response = client.post(reverse("script_create"), {"name": "Stop services", "interpreter": "sh", "body": ""})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "body"}
    assert Script.objects.count() == 1


def test_editing_the_body_adds_an_audited_version(client, world, setup):  # noqa: F811
    script = setup.script
    sign_in(client, world.msp_admin)
    url = reverse("script_edit", kwargs={"pk": script.pk})
    assert "systemctl stop worker" in client.get(url).content.decode()

    new_body = "systemctl stop app\nsystemctl stop worker\nsleep 5\n"
    response = client.post(url, edit_data(script, body=new_body, note="Wait for the worker"))
    assert response.status_code == 302
    script.refresh_from_db()
    assert script.current_version == 3
    assert (script.current.body, script.current.note, script.current.created_by) == (
        new_body,
        "Wait for the worker",
        world.msp_admin,
    )
    assert list(script.versions.values_list("number", flat=True)) == [3, 2, 1]  # older versions kept
    entry = AuditEntry.objects.get(object_type="patches.scriptversion", object_id=str(script.current.pk))
    assert entry.action == "create" and entry.actor == world.msp_admin
    assert entry.changes["sha256"][1] == ScriptVersion.digest(new_body) and "body" not in entry.changes

    # Only the name changed: no new version, but the change is audited.
    assert client.post(url, edit_data(script, name="Stop all services")).status_code == 302
    script.refresh_from_db()
    assert (script.name, script.current_version) == ("Stop all services", 3)
    rename = AuditEntry.objects.filter(object_type="patches.script", action="update").latest("id")
    assert rename.changes["name"] == ["Stop services", "Stop all services"]


def test_an_edit_over_a_newer_version_is_refused(client, world, setup):  # noqa: F811
    script = setup.script
    stale = edit_data(script, body="echo mine\n")
    scripts.update_script(script, body="echo theirs\n", user=world.msp_admin)
    sign_in(client, world.msp_admin)
    response = client.post(reverse("script_edit", kwargs={"pk": script.pk}), stale)
    assert response.status_code == 400
    assert "was saved while you edited version 2" in response.content.decode()
    script.refresh_from_db()
    assert (script.current_version, script.current.body) == (3, "echo theirs\n")


def test_a_technician_reads_scripts_but_cannot_write_them(client, world, setup):  # noqa: F811
    script = setup.script
    sign_in(client, world.tech_a)
    assert "Stop services" in client.get(reverse("script_list")).content.decode()
    page = client.get(reverse("script_detail", kwargs={"pk": script.pk})).content.decode()
    assert "systemctl stop worker" in page and "Worker too" in page
    assert reverse("script_edit", kwargs={"pk": script.pk}) not in page
    assert client.get(reverse("script_edit", kwargs={"pk": script.pk})).status_code == 403
    assert (
        client.post(reverse("script_edit", kwargs={"pk": script.pk}), edit_data(script, body="rm -rf /\n")).status_code
        == 403
    )
    assert client.post(reverse("script_create"), {"name": "X", "interpreter": "sh", "body": "x"}).status_code == 403
    script.refresh_from_db()
    assert script.current_version == 2

    sign_in(client, world.owner_a)
    assert client.get(reverse("script_detail", kwargs={"pk": script.pk})).status_code == 403


def test_the_diff_shows_what_changed_between_versions(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_all)
    url = reverse("script_diff", kwargs={"pk": setup.script.pk})
    response = client.get(url)
    assert (response.context["old"].number, response.context["new"].number) == (1, 2)
    assert ("add", "+systemctl stop worker") in response.context["lines"]
    assert ("same", " systemctl stop app") in response.context["lines"]
    assert '<span class="add">+systemctl stop worker</span>' in response.content.decode()

    response = client.get(url, {"from": "2", "to": "1"})
    assert ("del", "-systemctl stop worker") in response.context["lines"]
    assert "The two versions have the same body." in client.get(url, {"from": "2", "to": "2"}).content.decode()
    assert client.get(url, {"from": "9"}).status_code == 404


def test_a_version_page_shows_that_body(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_all)
    page = client.get(reverse("script_version", kwargs={"pk": setup.script.pk, "number": 1})).content.decode()
    assert "systemctl stop app" in page and "systemctl stop worker" not in page
    assert client.get(reverse("script_version", kwargs={"pk": setup.script.pk, "number": 5})).status_code == 404


def test_the_detail_lists_only_policies_the_reader_may_see(client, world, setup):  # noqa: F811
    pk = setup.script.pk
    policy(Scope.TENANT, {"pre_script": pk}, tenant=world.tenant_b)
    setup.tenant_policy.settings = {"post_script": pk}
    setup.tenant_policy.save()
    sign_in(client, world.tech_a)
    used_by = client.get(reverse("script_detail", kwargs={"pk": pk})).context["used_by"]
    assert [row["policy"].scope_label for row in used_by] == ["Tenant Alpha Dental"]
    sign_in(client, world.msp_admin)
    used_by = client.get(reverse("script_detail", kwargs={"pk": pk})).context["used_by"]
    assert sorted(row["policy"].scope_label for row in used_by) == ["Tenant Alpha Dental", "Tenant Bravo Legal"]
