from __future__ import annotations

from rest_framework import serializers

from tenants.models import ApiToken, AuditEntry, Membership, Site, Tenant, User
from tenants.roles import MspRole, TenantRole


class TenantSerializer(serializers.ModelSerializer):
    time_zone = serializers.CharField(default="UTC")

    class Meta:
        model = Tenant
        fields = [
            "id",
            "name",
            "slug",
            "time_zone",
            "contact_emails",
            "notes",
            "is_active",
            "archived_at",
            "created_at",
        ]
        read_only_fields = ["id", "is_active", "archived_at", "created_at"]

    def validate_time_zone(self, value):
        import zoneinfo

        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError(f"Unknown time zone {value!r}.")
        return value


class TenantStateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["activate", "deactivate", "archive", "unarchive"])


class SiteSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    time_zone = serializers.CharField(required=False, allow_null=True)

    class Meta:
        model = Site
        fields = ["id", "tenant", "name", "address", "time_zone", "notes"]


class BriefUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name"]


class MembershipSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    user = BriefUserSerializer(read_only=True)
    email = serializers.EmailField(write_only=True, required=False)
    full_name = serializers.CharField(write_only=True, required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=TenantRole.choices)

    class Meta:
        model = Membership
        fields = ["id", "tenant", "user", "email", "full_name", "role", "created_at"]
        read_only_fields = ["id", "created_at"]


class UserSerializer(serializers.ModelSerializer):
    msp_role = serializers.ChoiceField(choices=MspRole.choices, required=False, allow_blank=True)

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "msp_role", "all_tenants", "is_active", "date_joined", "last_login"]
        read_only_fields = ["id", "date_joined", "last_login"]


class AuditEntrySerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor",
            "actor_label",
            "source",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "tenant",
            "ip",
            "request_id",
            "changes",
            "message",
        ]
        read_only_fields = fields


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The token itself: shown once, in this response only.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
