"""What a policy may say, and what applies to a device: five levels, each value set or inherited.

Levels, least specific first: the built-in defaults, the global policy, the tenant's, the
device's site's, the device's group's (of several, the highest priority, then the group's
name), the device's own. A key present in a level's `settings` replaces what came from
above; `effective()` returns each value with the level it came from.
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from patches.models import Classification, PatchPolicy, Scope

__all__ = [
    "FIELDS",
    "Chain",
    "Effective",
    "chains_for_devices",
    "effective",
    "matching_rule",
    "validate_settings",
]

SEVERITIES = ["low", "medium", "high", "critical"]
REBOOT_CHOICES = {"never": "Never", "if_required": "If the update requires it", "always": "Always"}
CATCH_UP_CHOICES = {"next_window": "In the device's next window", "on_return": "As soon as the device is back"}
# What the agents accept as a service name (systemd units; Windows service names may hold spaces).
SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@._:$ -]{0,200}$")
MAX_NAMES = 50


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str  # int, bool, choice, rules, patterns, names, script
    default: Any
    help: str = ""
    choices: dict[str, str] = field(default_factory=dict)
    minimum: int = 0


FIELDS: dict[str, Field] = {
    f.key: f
    for f in [
        Field(
            "auto_approve",
            "Auto-approve rules",
            "rules",
            [],
            "A patch matching any rule is approved without a person (after the deferral).",
        ),
        Field("deferral_days", "Deferral (days after release)", "int", 0, "Auto-approved patches wait this long."),
        Field("deadline_days", "Deadline (days after approval)", "int", 7, "Installed by then, postponed or not."),
        Field("exclusions", "Exclusions", "patterns", [], "Never installed: KB numbers, package or app names (* ok)."),
        Field("requires_client_approval", "Requires client approval", "bool", False, "The client owner signs off."),
        Field("sla_critical_days", "SLA for critical (days)", "int", 7, minimum=1),
        Field("sla_high_days", "SLA for high (days)", "int", 14, minimum=1),
        Field("sla_medium_days", "SLA for medium (days)", "int", 30, minimum=1),
        Field("sla_low_days", "SLA for low (days)", "int", 90, minimum=1),
        Field("reboot", "Reboot", "choice", "if_required", choices=REBOOT_CHOICES),
        Field("reboot_postpone_minutes", "User may postpone a reboot by (minutes)", "int", 240),
        Field("pre_script", "Pre-install script", "script", None, "Runs before the patches; a failure stops them."),
        Field("post_script", "Post-install script", "script", None, "Runs after the patches."),
        Field(
            "auto_deploy",
            "Deploy approved patches automatically",
            "bool",
            False,
            "Every hour, approved patches these devices miss are deployed through the client's rings, "
            "without a technician creating the deployment.",
        ),
        Field(
            "catch_up",
            "Offline devices catch up",
            "choice",
            "next_window",
            "A device that missed its window installs in its next window, or as soon as it is back online.",
            choices=CATCH_UP_CHOICES,
        ),
        Field(
            "health_services",
            "Services that must run after an update",
            "names",
            [],
            "The health check after an update fails unless each of these services runs "
            "(systemd unit or Windows service name).",
        ),
        Field(
            "health_check_script",
            "Health check script",
            "script",
            None,
            "Runs in the health check after an update; any exit code but 0 means unhealthy.",
        ),
        Field(
            "rollback_on_failure",
            "Roll back after a failed health check",
            "bool",
            True,
            "A device that fails its post-update health check gets a job putting the previous versions back.",
        ),
    ]
}

RULE_KEYS = {"classifications", "min_severity", "kev_only", "products", "name_pattern", "kinds"}


def validate_settings(settings: dict) -> dict:
    """The settings with their values checked and normalised; ValidationError names the key."""
    if not isinstance(settings, dict):
        raise ValidationError("settings: must be an object")
    clean = {}
    for key, value in settings.items():
        spec = FIELDS.get(key)
        if spec is None:
            raise ValidationError({key: "unknown policy setting"})
        clean[key] = _validate_value(spec, value)
    return clean


def _validate_value(spec: Field, value):
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < spec.minimum or value > 3650:
            raise ValidationError({spec.key: f"a whole number from {spec.minimum} to 3650"})
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise ValidationError({spec.key: "true or false"})
        return value
    if spec.kind == "choice":
        if value not in spec.choices:
            raise ValidationError({spec.key: f"one of {', '.join(spec.choices)}"})
        return value
    if spec.kind == "patterns":
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValidationError({spec.key: "a list of non-empty names or patterns"})
        return [v.strip() for v in value]
    if spec.kind == "names":
        if not isinstance(value, list) or len(value) > MAX_NAMES:
            raise ValidationError({spec.key: f"a list of at most {MAX_NAMES} service names"})
        names = [v.strip() if isinstance(v, str) else v for v in value]
        bad = [v for v in names if not isinstance(v, str) or not SERVICE_NAME.match(v)]
        if bad:
            raise ValidationError({spec.key: f"not a service name: {bad[0]!r}"})
        return list(dict.fromkeys(names))  # each once, in order
    if spec.kind == "script":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationError({spec.key: "a script id, or null for none"})
        if value is not None:
            from patches.models import Script

            if not Script.objects.filter(pk=value).exists():
                raise ValidationError({spec.key: f"no script with id {value}"})
        return value
    return [_validate_rule(spec.key, index, rule) for index, rule in enumerate(_list(spec.key, value))]


def _list(key, value) -> list:
    if not isinstance(value, list):
        raise ValidationError({key: "a list of rules"})
    return value


def _validate_rule(key: str, index: int, rule) -> dict:
    where = f"{key}[{index}]"
    if not isinstance(rule, dict) or not rule:
        raise ValidationError({where: "a rule is an object with at least one condition"})
    unknown = set(rule) - RULE_KEYS
    if unknown:
        raise ValidationError({where: f"unknown condition(s): {', '.join(sorted(unknown))}"})
    clean = {}
    if "classifications" in rule:
        values = rule["classifications"]
        if not isinstance(values, list) or not values or not set(values) <= set(Classification.values):
            raise ValidationError({where: f"classifications: from {', '.join(Classification.values)}"})
        clean["classifications"] = sorted(set(values))
    if "kinds" in rule:
        from patches.models import PatchKind

        values = rule["kinds"]
        if not isinstance(values, list) or not values or not set(values) <= set(PatchKind.values):
            raise ValidationError({where: f"kinds: from {', '.join(PatchKind.values)}"})
        clean["kinds"] = sorted(set(values))
    if "min_severity" in rule:
        if rule["min_severity"] not in SEVERITIES:
            raise ValidationError({where: f"min_severity: one of {', '.join(SEVERITIES)}"})
        clean["min_severity"] = rule["min_severity"]
    if "kev_only" in rule:
        if not isinstance(rule["kev_only"], bool):
            raise ValidationError({where: "kev_only: true or false"})
        clean["kev_only"] = rule["kev_only"]
    if "products" in rule:
        values = rule["products"]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise ValidationError({where: "products: a list of names or patterns"})
        clean["products"] = [v.strip() for v in values]
    if "name_pattern" in rule:
        if not isinstance(rule["name_pattern"], str) or not rule["name_pattern"].strip():
            raise ValidationError({where: "name_pattern: a name or pattern"})
        clean["name_pattern"] = rule["name_pattern"].strip()
    return clean


def describe_rule(rule: dict) -> str:
    """'security, critical; severity ≥ high; KEV only' for lists and the audit log."""
    parts = []
    if rule.get("kinds"):
        parts.append("/".join(rule["kinds"]))
    if rule.get("classifications"):
        parts.append(", ".join(rule["classifications"]))
    if rule.get("min_severity"):
        parts.append(f"severity ≥ {rule['min_severity']}")
    if rule.get("kev_only"):
        parts.append("KEV only")
    if rule.get("products"):
        parts.append("product " + " or ".join(rule["products"]))
    if rule.get("name_pattern"):
        parts.append(f"name {rule['name_pattern']}")
    return "; ".join(parts)


def _glob(pattern: str, *values: str) -> bool:
    pattern = pattern.lower()
    return any(value and fnmatch.fnmatchcase(value.lower(), pattern) for value in values)


def rule_matches(rule: dict, patch) -> bool:
    if rule.get("kinds") and patch.kind not in rule["kinds"]:
        return False
    if rule.get("classifications") and patch.classification not in rule["classifications"]:
        return False
    if rule.get("min_severity"):
        rank = SEVERITIES.index(patch.severity) if patch.severity in SEVERITIES else -1
        if rank < SEVERITIES.index(rule["min_severity"]):
            return False
    if rule.get("kev_only") and not patch.kev:
        return False
    if rule.get("products") and not any(_glob(p, patch.product, patch.name) for p in rule["products"]):
        return False
    return not (rule.get("name_pattern") and not _glob(rule["name_pattern"], patch.name, patch.title))


def matching_rule(rules: list[dict], patch) -> tuple[int, dict] | None:
    for index, rule in enumerate(rules):
        if rule_matches(rule, patch):
            return index, rule
    return None


def is_excluded(patterns: list[str], patch) -> bool:
    names = [patch.name, patch.title]
    if patch.kind == "windows":
        names.append(patch.name.removeprefix("KB"))
    return any(_glob(pattern, *names) for pattern in patterns)


# ---- Resolution ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    """The policies that apply to a device, least specific first (absent levels are None)."""

    tenant_id: int
    policies: tuple[PatchPolicy | None, ...]  # global, tenant, site, group, device

    @property
    def key(self) -> tuple:
        return (self.tenant_id, *(p.pk if p else None for p in self.policies))


@dataclass
class Effective:
    values: dict[str, Any]
    sources: dict[str, PatchPolicy | None]  # None: the built-in default

    def __getitem__(self, key: str):
        return self.values[key]

    def source_label(self, key: str) -> str:
        policy = self.sources[key]
        return "Built-in default" if policy is None else policy.scope_label

    def source_policy_id(self, key: str) -> int | None:
        policy = self.sources[key]
        return policy.pk if policy else None


def effective(chain: Chain) -> Effective:
    values = {key: spec.default for key, spec in FIELDS.items()}
    sources: dict[str, PatchPolicy | None] = dict.fromkeys(FIELDS)
    for policy in chain.policies:
        if policy is None:
            continue
        for key, value in policy.settings.items():
            if key in FIELDS:
                values[key], sources[key] = value, policy
    return Effective(values, sources)


def _group_members(tenant_ids) -> dict[int, set[int]]:
    """Device id -> ids of the groups (that have a policy) it belongs to."""
    from devices.models import DeviceGroup

    with_policy = PatchPolicy.objects.filter(scope=Scope.GROUP).values_list("group_id", flat=True)
    groups = DeviceGroup.objects.filter(pk__in=with_policy)
    if tenant_ids is not None:
        groups = groups.filter(tenant_id__in=tenant_ids)
    members: dict[int, set[int]] = defaultdict(set)
    for group in groups:
        for device_id in group.devices().values_list("id", flat=True):
            members[device_id].add(group.pk)
    return members


def chains_for_devices(devices=None, tenant_ids=None) -> dict[int, Chain]:
    """Device id -> its policy chain, for some devices or every active device of some tenants.

    A few queries whatever the number of devices: the policies, the groups that have one,
    and the devices' tenants and sites.
    """
    from devices.models import Device

    rows = Device.objects.active()
    if devices is not None:
        rows = rows.filter(pk__in=[getattr(d, "pk", d) for d in devices])
    if tenant_ids is not None:
        rows = rows.filter(tenant_id__in=tenant_ids)
    rows = list(rows.values_list("id", "tenant_id", "site_id"))
    tenants = {tenant_id for _, tenant_id, _ in rows}

    policies = PatchPolicy.objects.filter(scope=Scope.GLOBAL) | PatchPolicy.objects.filter(tenant_id__in=tenants)
    by_level: dict[str, dict] = defaultdict(dict)
    for policy in policies.select_related("tenant", "site", "group", "device"):
        target = {
            Scope.GLOBAL: None,
            Scope.TENANT: policy.tenant_id,
            Scope.SITE: policy.site_id,
            Scope.GROUP: policy.group_id,
            Scope.DEVICE: policy.device_id,
        }[policy.scope]
        by_level[policy.scope][target] = policy
    group_policies = by_level[Scope.GROUP]
    members = _group_members(tenants) if group_policies else {}

    chains: dict[int, Chain] = {}
    interned: dict[tuple, Chain] = {}
    for device_id, tenant_id, site_id in rows:
        candidates = [group_policies[g] for g in members.get(device_id, ()) if g in group_policies]
        # The highest priority applies; between equals, the group whose name sorts first.
        group = min(candidates, key=lambda p: (-p.priority, p.group.name), default=None)
        chain = Chain(
            tenant_id,
            (
                by_level[Scope.GLOBAL].get(None),
                by_level[Scope.TENANT].get(tenant_id),
                by_level[Scope.SITE].get(site_id) if site_id else None,
                group,
                by_level[Scope.DEVICE].get(device_id),
            ),
        )
        chains[device_id] = interned.setdefault(chain.key, chain)
    return chains


def effective_for_device(device) -> tuple[Chain, Effective]:
    chain = chains_for_devices([device.pk])[device.pk]
    return chain, effective(chain)
