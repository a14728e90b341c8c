"""The policy editor pages: each setting set or inherited, errors shown, and where values come from."""

from __future__ import annotations

import pytest
from django.urls import reverse

from patches.models import PatchPolicy, Scope, Script
from patches.policy import FIELDS
from tests.fixtures.personas import sign_in
from tests.patches.policy_helpers import policy, setup  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def form(**values) -> dict:
    """The editor's POST: every setting inherited except those given (set here)."""
    data = {f"mode_{key}": "inherit" for key in FIELDS}
    # An inherited setting's box still holds something; it must be ignored.
    data.update({key: "junk" for key, spec in FIELDS.items() if spec.kind == "int"})
    data["rule_rows"] = "0"
    for key, value in values.items():
        data[f"mode_{key}"] = "set"
        data[key] = value
    return data


def tenant_url(world):
    return reverse("tenant_policy", kwargs={"tenant_slug": world.tenant_a.slug})


def text(response) -> str:
    return response.content.decode()


def test_saving_a_tenant_policy_stores_only_the_settings_set_here(client, world):
    sign_in(client, world.tech_a)
    response = client.post(tenant_url(world), form(deadline_days="4", reboot="always", exclusions="KB500\n\n  curl "))
    assert response.status_code == 302 and response["Location"] == tenant_url(world)
    saved = PatchPolicy.objects.get(scope=Scope.TENANT, tenant=world.tenant_a)
    assert saved.settings == {"deadline_days": 4, "reboot": "always", "exclusions": ["KB500", "curl"]}

    # Saving again with one setting back to inherit drops it.
    client.post(tenant_url(world), form(deadline_days="4"))
    saved.refresh_from_db()
    assert saved.settings == {"deadline_days": 4}


def test_an_invalid_value_is_shown_next_to_its_setting_and_nothing_is_saved(client, world):
    before = policy(Scope.TENANT, {"deadline_days": 5}, tenant=world.tenant_a)
    sign_in(client, world.tech_all)

    response = client.post(tenant_url(world), form(deadline_days="-3", reboot="always"))
    assert response.status_code == 400
    page = text(response)
    assert "Nothing was saved" in page
    assert "a whole number from 0 to 3650" in page
    assert 'id="setting-deadline_days" class="setting has-error"' in page

    response = client.post(tenant_url(world), form(sla_low_days="soon"))
    assert response.status_code == 400
    assert "Enter a whole number, or choose Inherit." in text(response)

    response = client.post(tenant_url(world), form(reboot="sometimes"))
    assert response.status_code == 400

    before.refresh_from_db()
    assert before.settings == {"deadline_days": 5}
    assert PatchPolicy.objects.count() == 1


def test_an_invalid_value_on_a_new_policy_creates_nothing(client, world):
    sign_in(client, world.tech_all)
    response = client.post(tenant_url(world), form(sla_critical_days="0"))
    assert response.status_code == 400
    assert "a whole number from 1 to 3650" in text(response)
    assert not PatchPolicy.objects.exists()


def test_nothing_set_on_a_scope_without_a_policy_saves_nothing(client, world):
    sign_in(client, world.tech_all)
    response = client.post(tenant_url(world), form(), follow=True)
    assert "nothing was saved" in text(response)
    assert not PatchPolicy.objects.exists()


def test_the_tenant_page_shows_where_each_effective_value_comes_from(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_a)
    page = text(client.get(tenant_url(world)))
    row = lambda key: page.split(f'id="effective-{key}"', 1)[1].split("</tr>", 1)[0]  # noqa: E731
    assert "5" in row("deadline_days") and "Tenant Alpha Dental" in row("deadline_days")
    assert "3" in row("deferral_days") and "All tenants" in row("deferral_days")
    assert "14" in row("sla_high_days") and "Built-in default" in row("sla_high_days")
    # The group's policy is listed below the tenant, with what it sets.
    assert "Reboot: Always" in page
    assert reverse("group_policy", kwargs={"tenant_slug": "alpha", "pk": setup.group.pk}) in page


def test_a_device_shows_values_from_its_group_and_its_own_policy(client, world, setup):  # noqa: F811
    policy(Scope.DEVICE, {"deferral_days": 9}, tenant=world.tenant_a, device=setup.device)
    sign_in(client, world.tech_a)
    url = reverse("device_detail", kwargs={"tenant_slug": "alpha", "uid": setup.device.uid})
    page = text(client.get(url, {"section": "policy"}))
    row = lambda key: page.split(f'id="effective-{key}"', 1)[1].split("</tr>", 1)[0]  # noqa: E731
    assert "Always" in row("reboot") and "Device group Servers (Alpha Dental)" in row("reboot")
    assert "9" in row("deferral_days") and "Device alpha-web (Alpha Dental)" in row("deferral_days")
    assert "Tenant Alpha Dental" in row("deadline_days")
    assert "Built-in default" in row("sla_low_days")


def test_a_level_shows_what_it_inherits_and_from_where(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_a)
    url = reverse("device_policy", kwargs={"tenant_slug": "alpha", "uid": setup.device.uid})
    page = text(client.get(url))
    row = lambda key: page.split(f'id="setting-{key}"', 1)[1].split("</tr>", 1)[0]  # noqa: E731
    assert "from" in row("reboot") and "Device group Servers (Alpha Dental)" in row("reboot")
    assert "Tenant Alpha Dental" in row("deadline_days")

    response = client.post(url, form(deferral_days="1"))
    assert response.status_code == 302
    own = PatchPolicy.objects.get(scope=Scope.DEVICE)
    assert (own.device, own.tenant, own.settings) == (setup.device, world.tenant_a, {"deferral_days": 1})


def test_a_technician_reads_the_global_policy_but_cannot_change_it(client, world, setup):  # noqa: F811
    url = reverse("policy_global")
    sign_in(client, world.tech_all)
    page = text(client.get(url))
    assert "only MSP admins change it" in page and "Save policy" not in page
    assert client.post(url, form(deferral_days="0")).status_code == 403
    setup.global_policy.refresh_from_db()
    assert setup.global_policy.settings == {"deferral_days": 3, "reboot": "never"}


def test_an_admin_changes_the_global_policy(client, world, setup):  # noqa: F811
    sign_in(client, world.msp_admin)
    url = reverse("policy_global")
    assert "Save policy" in text(client.get(url))
    assert client.post(url, form(deferral_days="0", requires_client_approval="true")).status_code == 302
    setup.global_policy.refresh_from_db()
    assert setup.global_policy.settings == {"deferral_days": 0, "requires_client_approval": True}
    # The global policy is never deleted from the editor.
    assert client.post(url, {"action": "delete"}).status_code == 403


def test_a_group_policy_has_a_priority_and_can_be_deleted(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_a)
    url = reverse("group_policy", kwargs={"tenant_slug": "alpha", "pk": setup.group.pk})
    assert client.post(url, {**form(reboot="never"), "priority": "7"}).status_code == 302
    setup.group_policy.refresh_from_db()
    assert (setup.group_policy.settings, setup.group_policy.priority) == ({"reboot": "never"}, 7)

    response = client.post(url, {"action": "delete"})
    assert response.status_code == 302 and response["Location"] == tenant_url(world)
    assert not PatchPolicy.objects.filter(scope=Scope.GROUP).exists()


def test_auto_approve_rules_are_edited_as_rows(client, world):
    sign_in(client, world.tech_a)
    data = {**form(auto_approve=""), "rule_rows": "1"}
    response = client.post(tenant_url(world), {**data, "action": "add_rule"})
    page = text(response)
    assert response.status_code == 200 and "Rule 2" in page and "Rule 3" not in page  # the posted row and a new one
    # The next save reads both rows.
    assert 'name="rule_rows" value="2"' in page
    assert not PatchPolicy.objects.exists()

    rule = {"rule-1-classifications": ["security"], "rule-1-min_severity": "high", "rule-1-kev_only": "on"}
    assert client.post(tenant_url(world), {**data, "rule_rows": "2", **rule}).status_code == 302
    saved = PatchPolicy.objects.get(scope=Scope.TENANT)
    assert saved.settings == {
        "auto_approve": [{"classifications": ["security"], "min_severity": "high", "kev_only": True}]
    }

    # A rule with an unknown severity is refused; nothing is saved.
    bad = {**data, "rule-0-min_severity": "urgent"}
    response = client.post(tenant_url(world), bad)
    page = text(response)
    assert response.status_code == 400 and "Select a valid choice" in page and "Nothing was saved" in page
    saved.refresh_from_db()
    assert len(saved.settings["auto_approve"]) == 1


def test_scripts_are_chosen_by_name(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_a)
    page = text(client.get(tenant_url(world)))
    assert ">Stop services</option>" in page
    assert client.post(tenant_url(world), form(pre_script=str(setup.script.pk))).status_code == 302
    assert PatchPolicy.objects.get(scope=Scope.TENANT).settings == {"pre_script": setup.script.pk}
    missing = Script.objects.order_by("-pk").first().pk + 1
    assert client.post(tenant_url(world), form(post_script=str(missing))).status_code == 400


def test_the_deployment_settings_are_edited_and_shown_like_the_others(client, world, setup):  # noqa: F811
    sign_in(client, world.tech_a)
    page = text(client.get(tenant_url(world)))
    for key in ("auto_deploy", "catch_up", "health_services", "health_check_script", "rollback_on_failure"):
        assert f'id="setting-{key}"' in page and f'id="effective-{key}"' in page
    assert "As soon as the device is back" in page

    data = form(
        auto_deploy="true",
        catch_up="on_return",
        rollback_on_failure="false",
        health_services="nginx\n\n  postgresql \n",
        health_check_script=str(setup.script.pk),
    )
    assert client.post(tenant_url(world), data).status_code == 302
    # The form says what the policy sets: deadline_days (set before) is inherited now.
    assert PatchPolicy.objects.get(scope=Scope.TENANT).settings == {
        "auto_deploy": True,
        "catch_up": "on_return",
        "rollback_on_failure": False,
        "health_services": ["nginx", "postgresql"],
        "health_check_script": setup.script.pk,
    }
    page = text(client.get(tenant_url(world)))
    row = lambda key: page.split(f'id="effective-{key}"', 1)[1].split("</tr>", 1)[0]  # noqa: E731
    assert "nginx" in row("health_services") and "postgresql" in row("health_services")
    assert "Stop services" in row("health_check_script") and "No" in row("rollback_on_failure")

    response = client.post(tenant_url(world), form(health_services="nginx\nbad;name"))
    assert response.status_code == 400 and "not a service name" in text(response)


def test_the_policy_list_shows_only_the_tenants_a_technician_works_on(client, world, setup):  # noqa: F811
    policy(Scope.TENANT, {"deadline_days": 1}, tenant=world.tenant_b)
    sign_in(client, world.tech_a)
    page = text(client.get(reverse("policy_list")))
    assert "Alpha Dental" in page and "Bravo Legal" not in page
    sign_in(client, world.tech_all)
    assert "Bravo Legal" in text(client.get(reverse("policy_list")))


def test_a_client_owner_does_not_reach_the_policy_pages(client, world, setup):  # noqa: F811
    sign_in(client, world.owner_a)
    assert client.get(tenant_url(world)).status_code == 403
    assert client.post(tenant_url(world), form(deadline_days="1")).status_code == 403
    sign_in(client, world.owner_b)
    assert client.get(tenant_url(world)).status_code == 404
