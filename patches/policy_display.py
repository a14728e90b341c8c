"""Policy values as people read them, links to the policy behind each value, and the device
page's Policy section."""

from __future__ import annotations

from django.urls import reverse

from patches.models import PatchPolicy, Scope, Script
from patches.policy import FIELDS, Effective, Field, describe_rule, effective_for_device

__all__ = ["device_policy_section", "effective_rows", "policy_summary", "policy_url", "script_names", "show_value"]


def script_names() -> dict[int, str]:
    return dict(Script.objects.values_list("pk", "name"))


def show_value(spec: Field, value, scripts: dict[int, str]) -> list[str]:
    """A value as lines of text: one rule or pattern per line."""
    if spec.kind == "rules":
        return [describe_rule(rule) for rule in value] or ["No rules"]
    if spec.kind in ("patterns", "names"):
        return list(value) or ["None"]
    if spec.kind == "bool":
        return ["Yes" if value else "No"]
    if spec.kind == "choice":
        return [spec.choices.get(value, value)]
    if spec.kind == "script":
        return ["None"] if value is None else [scripts.get(value, f"Script #{value} (missing)")]
    return [str(value)]


def policy_url(policy: PatchPolicy) -> str:
    if policy.scope == Scope.GLOBAL:
        return reverse("policy_global")
    slug = policy.tenant.slug
    if policy.scope == Scope.TENANT:
        return reverse("tenant_policy", kwargs={"tenant_slug": slug})
    if policy.scope == Scope.DEVICE:
        return reverse("device_policy", kwargs={"tenant_slug": slug, "uid": policy.device.uid})
    return reverse(f"{policy.scope}_policy", kwargs={"tenant_slug": slug, "pk": policy.target.pk})


def effective_rows(eff: Effective, scripts: dict[int, str]) -> list[dict]:
    """One row per setting: its value, and the level (with a link) that decided it."""
    rows = []
    for key, spec in FIELDS.items():
        source = eff.sources[key]
        rows.append(
            {
                "key": key,
                "label": spec.label,
                "lines": show_value(spec, eff.values[key], scripts),
                "source": eff.source_label(key),
                "source_url": policy_url(source) if source is not None else "",
            }
        )
    return rows


def policy_summary(policy: PatchPolicy, scripts: dict[int, str]) -> list[str]:
    """What a policy sets, shortly: 'Deadline (days after approval): 3', 'Auto-approve rules: 2 rules'."""
    parts = []
    for key, spec in FIELDS.items():
        if key not in policy.settings:
            continue
        value = policy.settings[key]
        if spec.kind == "rules":
            shown = f"{len(value)} rule{'' if len(value) == 1 else 's'}"
        else:
            shown = ", ".join(show_value(spec, value, scripts))
        parts.append(f"{spec.label}: {shown}")
    return parts


def device_policy_section(request, device) -> dict:
    """The device page's Policy section: each effective value and where it comes from."""
    if device.retired_at is not None:
        return {"policy_rows": [], "retired": True}
    _, eff = effective_for_device(device)
    return {
        "policy_rows": effective_rows(eff, script_names()),
        "can_edit_policy": request.access.can(device.tenant_id, "policy.manage"),
    }
