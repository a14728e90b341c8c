"""Serializers of the patch catalogue, approvals, decisions and the approval queue."""

from __future__ import annotations

from rest_framework import serializers

from patches.approvals import ACTIONS
from patches.forms.approvals import STATUS_CHOICES
from patches.models import Approval, Patch, Scope

__all__ = [
    "ApprovalSerializer",
    "ClientDecisionSerializer",
    "DecideSerializer",
    "PatchBriefSerializer",
    "PatchDetailSerializer",
    "PatchSerializer",
    "QueueItemSerializer",
]


class PatchBriefSerializer(serializers.ModelSerializer):
    """A patch as other resources name it."""

    class Meta:
        model = Patch
        fields = ["id", "kind", "name", "version", "title", "severity", "kev"]
        read_only_fields = fields


class PatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = Patch
        fields = [
            "id",
            "kind",
            "ecosystem",
            "name",
            "version",
            "title",
            "product",
            "classification",
            "severity",
            "released_on",
            "reboot",
            "cves",
            "kev",
            "supersedes",
            "superseded_by",
            "first_seen_at",
        ]
        read_only_fields = fields


class PatchDetailSerializer(PatchSerializer):
    """One patch with the advisories it fixes and the patches it replaces."""

    advisories = serializers.SlugRelatedField(slug_field="advisory_id", many=True, read_only=True)
    replaces = serializers.SerializerMethodField()

    class Meta(PatchSerializer.Meta):
        fields = [*PatchSerializer.Meta.fields, "advisories", "replaces"]
        read_only_fields = fields

    def get_replaces(self, patch) -> list[int]:
        return list(Patch.objects.filter(superseded_by=patch).order_by("id").values_list("id", flat=True))


class ApprovalSerializer(serializers.ModelSerializer):
    patch = PatchBriefSerializer(read_only=True)
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    device = serializers.SlugRelatedField(slug_field="uid", read_only=True, allow_null=True)
    decided_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    client_decided_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    scope_label = serializers.CharField(read_only=True)
    awaiting_client = serializers.BooleanField(read_only=True)

    class Meta:
        model = Approval
        fields = [
            "id",
            "patch",
            "scope",
            "scope_label",
            "tenant",
            "site",
            "group",
            "device",
            "state",
            "awaiting_client",
            "origin",
            "policy",
            "rule",
            "defer_until",
            "expires_at",
            "comment",
            "decided_by",
            "decided_at",
            "needs_client",
            "client_requested_at",
            "client_decided_by",
            "client_decided_at",
            "client_comment",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields


class DecideSerializer(serializers.Serializer):
    """A decision about patches at one scope (see patches.approvals.decide)."""

    patches = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=1000, help_text="Patch ids."
    )
    action = serializers.ChoiceField(choices=ACTIONS)
    scope = serializers.ChoiceField(choices=Scope.choices, default=Scope.TENANT)
    tenant = serializers.CharField(
        required=False, help_text="The tenant's slug (or id); required below the global scope."
    )
    site = serializers.IntegerField(required=False, allow_null=True, help_text="Site id, for the site scope.")
    group = serializers.IntegerField(required=False, allow_null=True, help_text="Device group id, for the group scope.")
    device = serializers.UUIDField(required=False, allow_null=True, help_text="Device id, for the device scope.")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    defer_until = serializers.DateField(required=False, allow_null=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate(self, data):
        target = {Scope.SITE: "site", Scope.GROUP: "group", Scope.DEVICE: "device"}.get(data["scope"])
        if target and data.get(target) is None:
            raise serializers.ValidationError({target: [f"Required for the {target} scope."]})
        return data


class ClientDecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class QueueItemSerializer(serializers.Serializer):
    """One (tenant, patch) of the approval queue and its tenant-level decision."""

    tenant = serializers.CharField(source="tenant.slug")
    patch = PatchBriefSerializer()
    devices = serializers.IntegerField(help_text="Devices of the tenant that miss the patch.")
    risk = serializers.FloatField(help_text="The highest risk score among the findings it fixes.")
    kev = serializers.BooleanField()
    status = serializers.ChoiceField(choices=STATUS_CHOICES)
    age_days = serializers.SerializerMethodField()
    first_seen_at = serializers.DateTimeField()
    approval = ApprovalSerializer(allow_null=True)

    def get_age_days(self, item) -> int:
        return item.age_days(self.context["now"])
