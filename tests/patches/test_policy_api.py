"""Policies over the REST API: only the settings given are stored, errors name the setting."""

from __future__ import annotations

import pytest

from patches.models import PatchPolicy, Scope
from tests.fixtures.personas import sign_in
from tests.patches.policy_helpers import policy, setup  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

URL = "/api/v1/policies/"


def post(client, body):
    return client.post(URL, body, content_type="application/json")


def patch(client, pk, body):
    return client.patch(f"{URL}{pk}/", body, content_type="application/json")


def test_a_tenant_policy_stores_only_the_settings_given(client, world):
    sign_in(client, world.tech_a)
    response = post(client, {"tenant": "alpha", "scope": "tenant", "settings": {"deadline_days": 4, "reboot": "never"}})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["tenant"] == "alpha" and body["scope_label"] == "Tenant Alpha Dental"
    assert body["settings"] == {"deadline_days": 4, "reboot": "never"}
    stored = PatchPolicy.objects.get(pk=body["id"])
    assert stored.settings == {"deadline_days": 4, "reboot": "never"}

    assert patch(client, stored.pk, {"settings": {"reboot": "always"}}).status_code == 200
    stored.refresh_from_db()
    assert stored.settings == {"reboot": "always"}


@pytest.mark.parametrize(
    ("settings", "key", "message"),
    [
        ({"deadline_days": -1}, "deadline_days", "a whole number from 0 to 3650"),
        ({"deadline_days": "4"}, "deadline_days", "a whole number from 0 to 3650"),
        ({"requires_client_approval": "yes"}, "requires_client_approval", "true or false"),
        ({"reboot": "sometimes"}, "reboot", "one of never, if_required, always"),
        ({"colour": "blue"}, "colour", "unknown policy setting"),
        ({"pre_script": 999999}, "pre_script", "no script with id 999999"),
    ],
)
def test_an_invalid_setting_is_a_400_naming_it_and_saves_nothing(client, world, settings, key, message):
    existing = policy(Scope.TENANT, {"deadline_days": 5}, tenant=world.tenant_a)
    sign_in(client, world.tech_all)

    response = post(client, {"tenant": "bravo", "scope": "tenant", "settings": settings})
    assert response.status_code == 400
    assert response.json() == {"settings": {key: [message]}}

    response = patch(client, existing.pk, {"settings": {"deadline_days": 6, **settings}})
    assert response.status_code == 400
    existing.refresh_from_db()
    assert existing.settings == {"deadline_days": 5}
    assert PatchPolicy.objects.count() == 1


def test_the_deployment_settings_are_accepted_and_checked(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_a)
    settings = {
        "auto_deploy": True,
        "catch_up": "on_return",
        "rollback_on_failure": False,
        "health_services": ["nginx", " nginx "],
        "health_check_script": setup.script.pk,
    }
    response = patch(client, setup.tenant_policy.pk, {"settings": settings})
    assert response.status_code == 200, response.json()
    assert response.json()["settings"] == {**settings, "health_services": ["nginx"]}

    response = patch(client, setup.tenant_policy.pk, {"settings": {"health_services": ["rm -rf /;"]}})
    assert response.status_code == 400
    assert response.json() == {"settings": {"health_services": ["not a service name: 'rm -rf /;'"]}}
    response = client.get(f"{URL}effective/", {"device": str(setup.device.uid)})
    rows = {row["key"]: row for row in response.json()["settings"]}
    assert (rows["catch_up"]["value"], rows["catch_up"]["source_scope"]) == ("on_return", "tenant")
    assert rows["health_check_script"]["value"] == setup.script.pk


def test_a_target_must_belong_to_the_tenant_and_never_changes(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_all)
    response = post(client, {"tenant": "alpha", "scope": "site", "site": world.site_b.pk, "settings": {}})
    assert response.status_code == 400 and response.json() == {"site": ["No such site in tenant alpha."]}
    response = post(client, {"tenant": "alpha", "scope": "group", "settings": {}})
    assert response.json() == {"group": ["This field is required for this scope."]}
    response = post(client, {"tenant": "alpha", "scope": "tenant"})
    assert response.json() == {"scope": ["This scope already has a policy: change that one."]}

    response = patch(client, setup.tenant_policy.pk, {"scope": "site"})
    assert response.status_code == 400 and "scope" in response.json()


def test_a_technician_cannot_change_the_global_policy_but_an_admin_can(client, world, setup):  # noqa: F811
    pk = setup.global_policy.pk
    sign_in(client, world.tech_all)
    assert client.get(f"{URL}{pk}/").json()["settings"] == {"deferral_days": 3, "reboot": "never"}
    assert patch(client, pk, {"settings": {}}).status_code == 403
    assert client.delete(f"{URL}{pk}/").status_code == 403
    setup.global_policy.refresh_from_db()
    assert setup.global_policy.settings == {"deferral_days": 3, "reboot": "never"}

    sign_in(client, world.msp_admin)
    assert patch(client, pk, {"settings": {"deferral_days": 1}}).status_code == 200
    setup.global_policy.refresh_from_db()
    assert setup.global_policy.settings == {"deferral_days": 1}


def test_the_effective_policy_names_the_source_of_each_value(client, world, setup):  # noqa: F811
    policy(Scope.DEVICE, {"deferral_days": 9}, tenant=world.tenant_a, device=setup.device)
    sign_in(client, world.tech_a)
    response = client.get(f"{URL}effective/", {"device": str(setup.device.uid)})
    assert response.status_code == 200
    body = response.json()
    assert body["hostname"] == "alpha-web" and body["tenant"] == "alpha"
    rows = {row["key"]: row for row in body["settings"]}
    assert (rows["deferral_days"]["value"], rows["deferral_days"]["source_scope"]) == (9, "device")
    assert (rows["reboot"]["value"], rows["reboot"]["source"]) == ("always", "Device group Servers (Alpha Dental)")
    assert rows["reboot"]["source_policy"] == setup.group_policy.pk
    assert (rows["deadline_days"]["value"], rows["deadline_days"]["source_scope"]) == (5, "tenant")
    assert (rows["sla_low_days"]["value"], rows["sla_low_days"]["source"]) == (90, "Built-in default")
    assert rows["sla_low_days"]["source_scope"] is None

    assert client.get(f"{URL}effective/", {"device": "nope"}).status_code == 400
    assert client.get(f"{URL}effective/", {"device": str(setup.device_b.uid)}).status_code == 404


def test_the_list_holds_the_global_policy_and_the_tenants_one_works_on(client, world, setup):  # noqa: F811
    policy(Scope.TENANT, {"deadline_days": 1}, tenant=world.tenant_b)
    sign_in(client, world.tech_a)
    results = client.get(URL).json()["results"]
    assert {(row["scope"], row["tenant"]) for row in results} == {
        ("global", None),
        ("tenant", "alpha"),
        ("group", "alpha"),
    }
    sign_in(client, world.tech_all)
    assert len(client.get(URL, {"tenant": "bravo"}).json()["results"]) == 1
    sign_in(client, world.owner_a)
    assert client.get(URL).status_code == 403


def test_deleting_a_policy_returns_the_scope_to_inheriting(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_a)
    assert client.delete(f"{URL}{setup.group_policy.pk}/").status_code == 204
    assert not PatchPolicy.objects.filter(scope=Scope.GROUP).exists()


def test_the_schema_documents_the_policy_exception_and_script_endpoints(client, world):
    sign_in(client, world.tech_all)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/v1/policies/",
        "/api/v1/policies/{id}/",
        "/api/v1/policies/effective/",
        "/api/v1/exceptions/",
        "/api/v1/exceptions/{id}/",
        "/api/v1/exceptions/{id}/revoke/",
        "/api/v1/scripts/",
        "/api/v1/scripts/{id}/",
        "/api/v1/scripts/{id}/versions/",
    ):
        assert path in schema["paths"], path
    assert set(schema["paths"]["/api/v1/exceptions/"]) >= {"get", "post"}
    assert "delete" not in schema["paths"]["/api/v1/scripts/{id}/"]
