"""Scripts over the REST API: every body change is a new version, audited; staff read, admins write."""

from __future__ import annotations

import pytest

from patches.models import Script, ScriptVersion
from tenants.models import AuditEntry
from tests.fixtures.personas import sign_in
from tests.patches.policy_helpers import setup  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

URL = "/api/v1/scripts/"


def send(client, method, url, body):
    return getattr(client, method)(url, body, content_type="application/json")


def test_an_admin_creates_a_script_as_version_1(client, world):
    sign_in(client, world.msp_admin)
    response = send(client, "post", URL, {"name": "Drain", "interpreter": "bash", "body": "echo drain\r\n"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["current_version"], body["body"]) == ("Drain", 1, "echo drain\n")
    assert body["sha256"] == ScriptVersion.digest("echo drain\n")
    assert "note" not in body and "base_version" not in body
    script = Script.objects.get(pk=body["id"])
    assert script.current.created_by == world.msp_admin
    entry = AuditEntry.objects.get(object_type="patches.script", object_id=str(script.pk), action="create")
    assert (entry.actor, entry.source) == (world.msp_admin, "api")


def test_a_changed_body_is_a_new_version_and_the_same_body_is_not(client, world, setup):  # noqa: F811
    url = f"{URL}{setup.script.pk}/"
    sign_in(client, world.msp_admin)
    response = send(client, "patch", url, {"body": "echo 3\n", "note": "Simpler", "base_version": 2})
    assert response.status_code == 200 and response.json()["current_version"] == 3
    assert response.json()["body"] == "echo 3\n"
    version = ScriptVersion.objects.get(script=setup.script, number=3)
    assert (version.note, version.created_by) == ("Simpler", world.msp_admin)
    assert AuditEntry.objects.filter(object_type="patches.scriptversion", object_id=str(version.pk)).exists()

    response = send(client, "patch", url, {"body": "echo 3\n", "description": "Stops it all"})
    assert response.json()["current_version"] == 3 and response.json()["description"] == "Stops it all"

    versions = client.get(f"{url}versions/").json()
    assert [v["number"] for v in versions] == [3, 2, 1]
    assert versions[0]["created_by"] == "admin@msp.test" and versions[2]["body"] == "systemctl stop app\n"


def test_errors_name_the_field_and_change_nothing(client, world, setup):  # noqa: F811
    url = f"{URL}{setup.script.pk}/"
    sign_in(client, world.msp_admin)
    response = send(client, "patch", url, {"body": "echo late\n", "base_version": 1})
    assert response.status_code == 400 and list(response.json()) == ["base_version"]
    response = send(client, "post", URL, {"name": "Stop services", "body": "x"})
    assert response.status_code == 400 and list(response.json()) == ["name"]
    response = send(client, "post", URL, {"name": "New"})
    assert response.status_code == 400 and list(response.json()) == ["body"]
    response = send(client, "patch", url, {"interpreter": "cmd"})
    assert response.status_code == 400 and list(response.json()) == ["interpreter"]
    setup.script.refresh_from_db()
    assert (setup.script.current_version, setup.script.interpreter, Script.objects.count()) == (2, "sh", 1)


def test_a_technician_reads_but_cannot_write(client, world, setup):  # noqa: F811
    url = f"{URL}{setup.script.pk}/"
    sign_in(client, world.tech_a)
    assert [s["name"] for s in client.get(URL).json()["results"]] == ["Stop services"]
    assert client.get(url).json()["body"] == "systemctl stop app\nsystemctl stop worker\n"
    assert client.get(f"{url}versions/").status_code == 200
    assert send(client, "patch", url, {"body": "rm -rf /\n"}).status_code == 403
    assert send(client, "post", URL, {"name": "X", "body": "x"}).status_code == 403
    assert client.delete(url).status_code in (403, 405)
    setup.script.refresh_from_db()
    assert setup.script.current_version == 2


def test_a_client_cannot_read_scripts(client, world, setup):  # noqa: F811
    sign_in(client, world.owner_a)
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{setup.script.pk}/").status_code == 403


def test_versions_are_never_deleted(client, world, setup):  # noqa: F811
    sign_in(client, world.msp_admin)
    assert client.delete(f"{URL}{setup.script.pk}/").status_code == 405
    assert ScriptVersion.objects.filter(script=setup.script).count() == 2
