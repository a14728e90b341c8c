"""Policies: five levels, each value set or inherited, and where each effective value comes from."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from devices.models import DeviceGroup, DeviceGroupMember
from patches.models import PatchPolicy, Scope
from patches.policy import FIELDS, chains_for_devices, effective, effective_for_device, validate_settings
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db


def policy(scope, settings, **target):
    return PatchPolicy.objects.create(scope=scope, settings=settings, **target)


def test_without_policies_every_value_is_the_built_in_default(world):
    device = DeviceFactory(tenant=world.tenant_a)
    _, eff = effective_for_device(device)
    assert eff.values == {key: spec.default for key, spec in FIELDS.items()}
    assert {eff.source_label(key) for key in FIELDS} == {"Built-in default"}


def test_each_level_overrides_only_the_keys_it_sets(world):
    group = DeviceGroup.objects.create(tenant=world.tenant_a, name="Servers")
    device = DeviceFactory(tenant=world.tenant_a, site=world.site_a)
    DeviceGroupMember.objects.create(tenant=world.tenant_a, group=group, device=device)
    glob = policy(Scope.GLOBAL, {"deferral_days": 3, "deadline_days": 10, "reboot": "never"})
    tenant = policy(Scope.TENANT, {"deferral_days": 1, "sla_critical_days": 3}, tenant=world.tenant_a)
    site = policy(Scope.SITE, {"reboot": "always"}, tenant=world.tenant_a, site=world.site_a)
    grp = policy(Scope.GROUP, {"deadline_days": 2}, tenant=world.tenant_a, group=group)
    own = policy(Scope.DEVICE, {"requires_client_approval": True}, tenant=world.tenant_a, device=device)

    _, eff = effective_for_device(device)

    assert (eff["deferral_days"], eff.sources["deferral_days"]) == (1, tenant)
    assert (eff["deadline_days"], eff.sources["deadline_days"]) == (2, grp)
    assert (eff["reboot"], eff.sources["reboot"]) == ("always", site)
    assert (eff["requires_client_approval"], eff.sources["requires_client_approval"]) == (True, own)
    assert (eff["sla_critical_days"], eff.sources["sla_critical_days"]) == (3, tenant)
    assert eff.sources["sla_high_days"] is None and eff["sla_high_days"] == 14
    assert glob.pk not in {p.pk for p in eff.sources.values() if p is not None}  # all overridden or unset here
    assert eff.source_label("reboot") == "Site Alpha HQ (Alpha Dental)"


def test_a_device_elsewhere_inherits_from_global_and_its_tenant_only(world):
    policy(Scope.GLOBAL, {"deferral_days": 3})
    policy(Scope.TENANT, {"deferral_days": 1}, tenant=world.tenant_a)
    other = DeviceFactory(tenant=world.tenant_b)
    _, eff = effective_for_device(other)
    assert eff["deferral_days"] == 3 and eff.source_label("deferral_days") == "All tenants"


def test_of_two_group_policies_the_higher_priority_applies_then_the_first_name(world):
    device = DeviceFactory(tenant=world.tenant_a)
    groups = {name: DeviceGroup.objects.create(tenant=world.tenant_a, name=name) for name in ("Beta", "Alpha", "Zulu")}
    for group in groups.values():
        DeviceGroupMember.objects.create(tenant=world.tenant_a, group=group, device=device)
    policy(Scope.GROUP, {"deadline_days": 1}, tenant=world.tenant_a, group=groups["Beta"], priority=5)
    policy(Scope.GROUP, {"deadline_days": 2}, tenant=world.tenant_a, group=groups["Alpha"], priority=5)
    policy(Scope.GROUP, {"deadline_days": 3}, tenant=world.tenant_a, group=groups["Zulu"], priority=1)
    assert effective_for_device(device)[1]["deadline_days"] == 2


def test_rule_groups_bring_their_policy_to_the_devices_they_match(world):
    rule = DeviceGroup.objects.create(tenant=world.tenant_a, name="Tagged", kind="rule", rule_tags_all=["dmz"])
    policy(Scope.GROUP, {"reboot": "never"}, tenant=world.tenant_a, group=rule)
    tagged = DeviceFactory(tenant=world.tenant_a, tags=["dmz"])
    plain = DeviceFactory(tenant=world.tenant_a)
    chains = chains_for_devices([tagged, plain])
    assert effective(chains[tagged.pk])["reboot"] == "never"
    assert effective(chains[plain.pk])["reboot"] == "if_required"


def test_devices_with_the_same_policies_share_one_chain(world):
    policy(Scope.TENANT, {"deferral_days": 1}, tenant=world.tenant_a)
    devices = [DeviceFactory(tenant=world.tenant_a) for _ in range(5)]
    chains = chains_for_devices(devices)
    assert len({id(chains[d.pk]) for d in devices}) == 1


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"deferral_days": -1}, "deferral_days"),
        ({"deferral_days": "3"}, "deferral_days"),
        ({"requires_client_approval": "yes"}, "requires_client_approval"),
        ({"reboot": "sometimes"}, "reboot"),
        ({"exclusions": ["KB1", ""]}, "exclusions"),
        ({"pre_script": 999999}, "pre_script"),
        ({"auto_approve": [{"classifications": ["bogus"]}]}, "auto_approve[0]"),
        ({"auto_approve": [{"min_severity": "urgent"}]}, "auto_approve[0]"),
        ({"auto_approve": [{}]}, "auto_approve[0]"),
        ({"auto_approve": [{"colour": "red"}]}, "auto_approve[0]"),
        ({"no_such_setting": 1}, "no_such_setting"),
        ({"sla_critical_days": 0}, "sla_critical_days"),
        ({"rollback_on_failure": "no"}, "rollback_on_failure"),
        ({"auto_deploy": 1}, "auto_deploy"),
        ({"catch_up": "whenever"}, "catch_up"),
        ({"health_services": "nginx"}, "health_services"),
        ({"health_services": ["nginx; reboot"]}, "health_services"),
        ({"health_services": ["", "nginx"]}, "health_services"),
        ({"health_services": [f"svc{i}" for i in range(51)]}, "health_services"),
        ({"health_check_script": 999999}, "health_check_script"),
        ({"health_check_script": True}, "health_check_script"),
    ],
)
def test_a_bad_setting_is_refused_with_its_key_named(settings, key):
    with pytest.raises(ValidationError) as error:
        validate_settings(settings)
    assert key in error.value.message_dict


def test_good_settings_are_normalised():
    clean = validate_settings(
        {
            "auto_approve": [{"classifications": ["security", "critical", "security"], "min_severity": "high"}],
            "exclusions": [" KB5000001 ", "chromium*"],
            "deferral_days": 2,
        }
    )
    assert clean == {
        "auto_approve": [{"classifications": ["critical", "security"], "min_severity": "high"}],
        "exclusions": ["KB5000001", "chromium*"],
        "deferral_days": 2,
    }


def test_the_deployment_settings_default_to_safe_values():
    defaults = {key: spec.default for key, spec in FIELDS.items()}
    assert {k: defaults[k] for k in ("rollback_on_failure", "catch_up", "auto_deploy", "health_services")} == {
        "rollback_on_failure": True,
        "catch_up": "next_window",
        "auto_deploy": False,
        "health_services": [],
    }
    assert defaults["health_check_script"] is None


def test_the_deployment_settings_are_inherited_and_overridden_like_the_others(world):
    group = DeviceGroup.objects.create(tenant=world.tenant_a, name="Web")
    web = DeviceFactory(tenant=world.tenant_a)
    other = DeviceFactory(tenant=world.tenant_a)
    DeviceGroupMember.objects.create(tenant=world.tenant_a, group=group, device=web)
    glob = policy(Scope.GLOBAL, {"rollback_on_failure": False, "catch_up": "on_return"})
    tenant = policy(Scope.TENANT, {"auto_deploy": True, "health_services": ["sshd"]}, tenant=world.tenant_a)
    grp = policy(
        Scope.GROUP, {"health_services": ["nginx"], "rollback_on_failure": True}, tenant=world.tenant_a, group=group
    )

    chains = chains_for_devices([web, other])
    web_eff, other_eff = effective(chains[web.pk]), effective(chains[other.pk])
    assert (web_eff["health_services"], web_eff.sources["health_services"]) == (["nginx"], grp)
    assert (other_eff["health_services"], other_eff.sources["health_services"]) == (["sshd"], tenant)
    assert (web_eff["rollback_on_failure"], other_eff["rollback_on_failure"]) == (True, False)
    assert other_eff.sources["rollback_on_failure"] == glob
    assert web_eff["catch_up"] == other_eff["catch_up"] == "on_return"
    assert web_eff["auto_deploy"] is other_eff["auto_deploy"] is True
    assert web_eff["health_check_script"] is None and web_eff.source_label("health_check_script") == "Built-in default"


def test_service_names_are_trimmed_and_kept_once_in_order():
    clean = validate_settings({"health_services": [" nginx ", "postgresql@15-main", "nginx", "Windows Update"]})
    assert clean == {"health_services": ["nginx", "postgresql@15-main", "Windows Update"]}
