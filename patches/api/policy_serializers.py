"""Policies over the API: settings validated by patches.policy, errors keyed by the setting."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from devices.models import Device, DeviceGroup
from patches import policy as policy_rules
from patches.models import PatchPolicy, Scope
from tenants.models import Site

__all__ = ["EffectivePolicySerializer", "PolicySerializer"]

TARGETS = {Scope.SITE: "site", Scope.GROUP: "group", Scope.DEVICE: "device"}


class PolicySerializer(serializers.ModelSerializer):
    """`settings` holds only the keys this level sets (see GET /policies/effective/ for the result).

    On create, `tenant` (a slug) is required below global, and the scope's target: `site` or
    `group` (ids) or `device` (uid). Scope and target never change afterwards.
    """

    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), required=False, allow_null=True)
    group = serializers.PrimaryKeyRelatedField(queryset=DeviceGroup.objects.all(), required=False, allow_null=True)
    device = serializers.SlugRelatedField(
        slug_field="uid", queryset=Device.objects.all(), required=False, allow_null=True
    )
    scope_label = serializers.CharField(read_only=True)
    settings = serializers.JSONField(
        required=False, help_text="Setting key -> value, for the keys this level sets; the rest is inherited."
    )

    class Meta:
        model = PatchPolicy
        fields = [
            "id",
            "scope",
            "tenant",
            "site",
            "group",
            "device",
            "scope_label",
            "name",
            "priority",
            "settings",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]

    def validate_settings(self, value):
        try:
            return policy_rules.validate_settings(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            ) from None

    def validate(self, attrs):
        if self.instance is not None:
            fixed = [name for name in ("scope", *TARGETS.values()) if name in attrs]
            changed = [name for name in fixed if attrs[name] != getattr(self.instance, name)]
            if changed:
                raise serializers.ValidationError(
                    {name: "A policy's scope and target never change." for name in changed}
                )
            scope = self.instance.scope
        else:
            scope = attrs.get("scope")
            self._check_target(scope, attrs, self.context["tenant"])
        if attrs.get("priority", 0) and scope != Scope.GROUP:
            raise serializers.ValidationError({"priority": "Only group policies have a priority."})
        return attrs

    def _check_target(self, scope, attrs, tenant):
        wanted = TARGETS.get(scope)
        errors = {}
        for name in TARGETS.values():
            target = attrs.get(name)
            if name != wanted and target is not None:
                errors[name] = f"A {Scope(scope).label.lower()} policy names no {name}."
            elif name == wanted and target is None:
                errors[name] = "This field is required for this scope."
            elif name == wanted and target.tenant_id != tenant.pk:
                errors[name] = f"No such {name} in tenant {tenant.slug}."
        if errors:
            raise serializers.ValidationError(errors)
        lookup = {"scope": scope, "tenant": tenant, "site": None, "group": None, "device": None}
        if wanted:
            lookup[wanted] = attrs[wanted]
        if PatchPolicy.objects.filter(**lookup).exists():
            raise serializers.ValidationError({"scope": "This scope already has a policy: change that one."})


class EffectiveSettingSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.JSONField()
    source = serializers.CharField(help_text='"Built-in default", or the scope of the policy that set it.')
    source_scope = serializers.ChoiceField(choices=Scope.choices, allow_null=True)
    source_policy = serializers.IntegerField(allow_null=True, help_text="The id of the policy that set it.")


class EffectivePolicySerializer(serializers.Serializer):
    device = serializers.UUIDField()
    hostname = serializers.CharField()
    tenant = serializers.CharField()
    settings = EffectiveSettingSerializer(many=True)
