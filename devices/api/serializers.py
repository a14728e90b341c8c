from __future__ import annotations

from rest_framework import serializers

from devices.models import Device, DeviceCheckIn, DeviceGroup, DeviceSoftware, DeviceUpdate, EnrollmentToken
from tenants.models import Site


class DeviceSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uid", read_only=True)
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), allow_null=True, required=False)
    state = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = [
            "id",
            "tenant",
            "site",
            "hostname",
            "fqdn",
            "os_family",
            "os_id",
            "os_name",
            "os_version",
            "os_build",
            "kernel",
            "arch",
            "ecosystem",
            "ubuntu_pro",
            "agent_version",
            "criticality",
            "tags",
            "notes",
            "state",
            "last_seen_at",
            "enrolled_at",
            "checkin_interval",
            "reboot_required",
            "package_count",
            "inventory_updated_at",
            "is_simulated",
            "retired_at",
        ]
        read_only_fields = [f for f in fields if f not in ("site", "criticality", "tags", "notes", "checkin_interval")]

    def get_state(self, device) -> str:
        return getattr(device, "state", None) or device.state()

    def validate_site(self, site):
        device = self.instance
        if site is not None and device is not None and site.tenant_id != device.tenant_id:
            raise serializers.ValidationError("The site belongs to another tenant.")
        return site

    def validate_checkin_interval(self, value):
        if not 30 <= value <= 86400:
            raise serializers.ValidationError("Between 30 seconds and one day.")
        return value


class DeviceSoftwareSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="package.name")
    version = serializers.CharField(source="package.version")
    source_name = serializers.CharField(source="package.source_name")
    source_version = serializers.CharField(source="package.source_version")
    ecosystem = serializers.CharField(source="package.ecosystem")

    class Meta:
        model = DeviceSoftware
        fields = ["name", "version", "arch", "source_name", "source_version", "ecosystem"]


class DeviceUpdateSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="update.kind")
    identifier = serializers.CharField(source="update.identifier")
    version = serializers.CharField(source="update.version")
    kb = serializers.CharField(source="update.kb")
    title = serializers.CharField(source="update.title")
    classification = serializers.CharField(source="update.classification")
    severity = serializers.CharField(source="update.severity")
    reboot = serializers.CharField(source="update.reboot")
    security = serializers.BooleanField(source="update.security")

    class Meta:
        model = DeviceUpdate
        fields = [
            "kind",
            "identifier",
            "version",
            "kb",
            "title",
            "classification",
            "severity",
            "reboot",
            "security",
            "arch",
            "installed",
            "current_version",
            "first_seen_at",
        ]


class DeviceCheckInSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeviceCheckIn
        fields = ["hour", "first_at", "last_at", "count", "agent_version", "ip"]


class DeviceGroupSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    device_count = serializers.SerializerMethodField()

    class Meta:
        model = DeviceGroup
        fields = [
            "id",
            "tenant",
            "name",
            "description",
            "kind",
            "rule_tags_all",
            "rule_tags_any",
            "rule_os_family",
            "rule_ecosystem_prefix",
            "rule_site",
            "rule_criticality",
            "device_count",
        ]

    def get_device_count(self, group) -> int:
        return group.devices().count()


class GroupMembersSerializer(serializers.Serializer):
    devices = serializers.ListField(child=serializers.UUIDField(), help_text="Device ids to add or remove.")


class EnrollmentTokenSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = EnrollmentToken
        fields = [
            "id",
            "tenant",
            "name",
            "prefix",
            "expires_at",
            "max_uses",
            "uses",
            "site",
            "groups",
            "tags",
            "created_at",
            "revoked_at",
            "status",
        ]
        read_only_fields = ["id", "prefix", "uses", "created_at", "revoked_at", "status"]


class NewEnrollmentTokenSerializer(EnrollmentTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once, in this response only.")

    class Meta(EnrollmentTokenSerializer.Meta):
        fields = [*EnrollmentTokenSerializer.Meta.fields, "token"]
