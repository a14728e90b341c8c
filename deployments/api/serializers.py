"""Rings, windows, blackouts, deployments and jobs over the REST API.

Related objects are named the way the rest of the API names them: tenants by slug,
devices by uid, groups, rings and patches by id; each must belong to the object's tenant.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from deployments.forms.deployments import approved_patches
from deployments.forms.rings import save_members
from deployments.forms.windows import KIND_FIELDS, recurrence_errors
from deployments.models import (
    BlackoutPeriod,
    Deployment,
    DeploymentStage,
    Job,
    JobEvent,
    MaintenanceWindow,
    Ring,
)
from devices.models import Device, DeviceGroup
from patches.models import Patch

__all__ = [
    "BlackoutSerializer",
    "DeploymentCreateSerializer",
    "DeploymentSerializer",
    "JobDetailSerializer",
    "JobSerializer",
    "MaintenanceWindowSerializer",
    "RingSerializer",
]


def _tenant(serializer):
    """The tenant the object belongs to: the instance's, or the one named in the body on create."""
    if serializer.instance is not None and not isinstance(serializer.instance, list):
        return serializer.instance.tenant
    return serializer.context.get("tenant")


class _InTenant:
    """A related field whose choices are the tenant's (none until the tenant is known)."""

    def get_queryset(self):
        tenant = _tenant(self.root)
        return self.queryset_in(tenant) if tenant is not None else self.queryset.none()


class GroupField(_InTenant, serializers.PrimaryKeyRelatedField):
    default_error_messages = {"does_not_exist": "No device group {pk_value} in this tenant."}

    def queryset_in(self, tenant):
        return DeviceGroup.objects.in_tenant(tenant)


class DeviceField(_InTenant, serializers.SlugRelatedField):
    default_error_messages = {"does_not_exist": "No active device {value} in this tenant."}

    def to_internal_value(self, data):
        try:
            uuid.UUID(str(data))
        except ValueError:
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data))
        return super().to_internal_value(data)

    def queryset_in(self, tenant):
        return Device.objects.in_tenant(tenant).active()


class RingField(_InTenant, serializers.PrimaryKeyRelatedField):
    default_error_messages = {"does_not_exist": "No ring {pk_value} in this tenant."}

    def queryset_in(self, tenant):
        return Ring.objects.in_tenant(tenant)


class ApprovedPatchField(_InTenant, serializers.PrimaryKeyRelatedField):
    default_error_messages = {"does_not_exist": "Patch {pk_value} is not approved for this tenant."}

    def queryset_in(self, tenant):
        return approved_patches(tenant)


def _unique_in_tenant(serializer, model, attrs, *names):
    tenant = _tenant(serializer)
    if tenant is None:
        return
    others = model.objects.in_tenant(tenant)
    if serializer.instance is not None:
        others = others.exclude(pk=serializer.instance.pk)
    errors = {}
    for name in names:
        if name in attrs and others.filter(**{name: attrs[name]}).exists():
            errors[name] = [f"Another {model._meta.verbose_name} of this tenant has this {name}."]
    if errors:
        raise serializers.ValidationError(errors)


class RingSerializer(serializers.ModelSerializer):
    """A ring and its members: `groups` (ids), `devices` (uids), `tags`, or `catch_all`."""

    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    tags = serializers.ListField(child=serializers.SlugField(max_length=60), required=False)
    groups = GroupField(many=True, queryset=DeviceGroup.objects.all(), required=False)
    devices = DeviceField(many=True, slug_field="uid", queryset=Device.objects.all(), required=False)

    class Meta:
        model = Ring
        fields = [
            "id",
            "tenant",
            "name",
            "position",
            "description",
            "groups",
            "devices",
            "tags",
            "catch_all",
            "soak_hours",
            "gate_min_success_percent",
            "gate_min_devices",
            "halt_failure_percent",
        ]

    def to_representation(self, ring):
        data = super().to_representation(ring)
        members = list(ring.members.all())
        data["groups"] = sorted(m.group_id for m in members if m.group_id is not None)
        data["devices"] = sorted(str(m.device.uid) for m in members if m.device_id is not None)
        return data

    def validate(self, attrs):
        _unique_in_tenant(self, Ring, attrs, "name", "position")
        return attrs

    @transaction.atomic
    def create(self, validated_data):
        groups = validated_data.pop("groups", [])
        devices = validated_data.pop("devices", [])
        ring = super().create(validated_data)
        save_members(ring, groups=groups, devices=devices)
        return ring

    @transaction.atomic
    def update(self, ring, validated_data):
        groups = validated_data.pop("groups", None)
        devices = validated_data.pop("devices", None)
        ring = super().update(ring, validated_data)
        if groups is not None or devices is not None:
            members = list(ring.members.select_related("group", "device"))
            save_members(
                ring,
                groups=groups if groups is not None else [m.group for m in members if m.group_id],
                devices=devices if devices is not None else [m.device for m in members if m.device_id],
            )
        return ring


class MaintenanceWindowSerializer(serializers.ModelSerializer):
    """A window, in the tenant's wall-clock time. Give the fields of its `recurrence`:
    weekly `weekdays` (Monday = 0); monthly_day `day_of_month`; monthly_nth `nth` (-1 the
    last) and `nth_weekday`; patch_tuesday `offset_days`. `rings` empty means every ring."""

    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    rings = RingField(many=True, queryset=Ring.objects.all(), required=False)
    weekdays = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6), required=False)

    class Meta:
        model = MaintenanceWindow
        fields = [
            "id",
            "tenant",
            "name",
            "purpose",
            "recurrence",
            "weekdays",
            "day_of_month",
            "nth",
            "nth_weekday",
            "offset_days",
            "start_time",
            "duration_minutes",
            "rings",
            "active",
        ]

    def validate(self, attrs):
        _unique_in_tenant(self, MaintenanceWindow, attrs, "name")
        merged = {name: getattr(self.instance, name) for name in self.Meta.fields if self.instance is not None}
        merged.update(attrs)
        kind = merged.get("recurrence") or MaintenanceWindow._meta.get_field("recurrence").default
        errors = recurrence_errors(kind, merged)
        if errors:
            raise serializers.ValidationError(errors)
        for name, empty in {"weekdays": [], "day_of_month": None, "nth": None, "nth_weekday": None}.items():
            if name not in KIND_FIELDS.get(kind, ()):
                attrs[name] = empty
        if "offset_days" not in KIND_FIELDS.get(kind, ()):
            attrs["offset_days"] = 0
        if attrs.get("weekdays"):
            attrs["weekdays"] = sorted(set(attrs["weekdays"]))
        return attrs


class BlackoutSerializer(serializers.ModelSerializer):
    """Days (inclusive, in the tenant's zone) when nothing installs."""

    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = BlackoutPeriod
        fields = ["id", "tenant", "starts_on", "ends_on", "reason"]

    def validate(self, attrs):
        starts = attrs.get("starts_on", getattr(self.instance, "starts_on", None))
        ends = attrs.get("ends_on", getattr(self.instance, "ends_on", None))
        if starts and ends and ends < starts:
            raise serializers.ValidationError({"ends_on": ["The last day cannot be before the first."]})
        return attrs


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    pending = serializers.IntegerField()
    active = serializers.IntegerField(help_text="Queued, claimed, running or waiting for a reboot.")
    succeeded = serializers.IntegerField(help_text="Succeeded or verified.")
    failed = serializers.IntegerField(help_text="Failed or timed out.")
    cancelled = serializers.IntegerField()
    percent = serializers.IntegerField(help_text="Finished jobs (any outcome) of all.")


class StageSerializer(serializers.ModelSerializer):
    ring = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = DeploymentStage
        fields = [
            "id",
            "position",
            "name",
            "ring",
            "state",
            "soak_hours",
            "gate_min_success_percent",
            "gate_min_devices",
            "halt_failure_percent",
            "scheduled_for",
            "started_at",
            "soak_until",
            "finished_at",
            "devices_total",
        ]
        read_only_fields = fields


class DeploymentSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    patches = serializers.SerializerMethodField()
    stages = StageSerializer(many=True, read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Deployment
        fields = [
            "id",
            "tenant",
            "name",
            "state",
            "origin",
            "created_by",
            "created_at",
            "patches",
            "batch_size",
            "max_concurrent",
            "batch_interval_minutes",
            "max_attempts",
            "catch_up",
            "run_now",
            "dry_run",
            "allow_rollback",
            "started_at",
            "finished_at",
            "halted_reason",
            "stages",
            "progress",
        ]
        read_only_fields = fields

    def get_patches(self, deployment) -> list[int]:
        return sorted(dp.patch_id for dp in deployment.deployment_patches.all())

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, deployment):
        from deployments import control

        progress = self.context.get("progress", {}).get(deployment.pk)
        if progress is None:
            progress = control.progress([deployment])[deployment.pk]
        return progress.as_dict()


class DeploymentCreateSerializer(serializers.Serializer):
    """Approved `patches` (ids) to `rings` (ids; omitted: every ring, in order) or to `devices`
    (uids). `run_now` (the emergency override that ignores maintenance windows) needs the
    deployment.run_now capability, `confirm_run_now: true` and a `run_now_reason`."""

    tenant = serializers.SlugField(help_text="Tenant slug.")
    name = serializers.CharField(max_length=200)
    patches = ApprovedPatchField(many=True, queryset=Patch.objects.all(), allow_empty=False)
    rings = RingField(many=True, queryset=Ring.objects.all(), required=False)
    devices = DeviceField(many=True, slug_field="uid", queryset=Device.objects.all(), required=False)
    batch_size = serializers.IntegerField(min_value=1, max_value=10_000, default=50)
    max_concurrent = serializers.IntegerField(min_value=1, max_value=10_000, default=100)
    batch_interval_minutes = serializers.IntegerField(min_value=0, max_value=24 * 60, default=5)
    max_attempts = serializers.IntegerField(min_value=1, max_value=10, default=3)
    catch_up = serializers.ChoiceField(choices=Deployment.CatchUp.choices, default=Deployment.CatchUp.NEXT_WINDOW)
    allow_rollback = serializers.BooleanField(default=True)
    dry_run = serializers.BooleanField(default=False)
    run_now = serializers.BooleanField(default=False)
    confirm_run_now = serializers.BooleanField(default=False)
    run_now_reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs.get("rings") and attrs.get("devices"):
            raise serializers.ValidationError({"devices": ["Name rings or devices, not both."]})
        if attrs.get("run_now"):
            errors = {}
            if not attrs.get("confirm_run_now"):
                errors["confirm_run_now"] = ["Confirm the emergency override with confirm_run_now: true."]
            if not attrs.get("run_now_reason", "").strip():
                errors["run_now_reason"] = ["Say why this cannot wait for the maintenance window."]
            if errors:
                raise serializers.ValidationError(errors)
        return attrs

    def plan_kwargs(self) -> dict:
        data = self.validated_data
        return {
            "name": data["name"],
            "patches": data["patches"],
            "rings": data.get("rings") or None,
            "devices": data.get("devices") or None,
            "batch_size": data["batch_size"],
            "max_concurrent": data["max_concurrent"],
            "batch_interval_minutes": data["batch_interval_minutes"],
            "max_attempts": data["max_attempts"],
            "catch_up": data["catch_up"],
            "allow_rollback": data["allow_rollback"],
            "dry_run": data["dry_run"],
            "run_now": data["run_now"],
        }


class ActionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, help_text="For the audit log.")


class JobSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    device = serializers.SlugRelatedField(slug_field="uid", read_only=True)
    hostname = serializers.CharField(source="device.hostname", read_only=True)
    stage = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "tenant",
            "deployment",
            "stage",
            "device",
            "hostname",
            "kind",
            "state",
            "batch",
            "attempt",
            "max_attempts",
            "not_before",
            "not_after",
            "claimed_at",
            "started_at",
            "finished_at",
            "verified_at",
            "exit_code",
            "reboot_required",
            "rollback_of",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class JobEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobEvent
        fields = ["at", "state", "message"]
        read_only_fields = fields


class JobDetailSerializer(JobSerializer):
    """A job with its log (events, oldest first) and the agent's output."""

    events = JobEventSerializer(many=True, read_only=True)

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "payload", "output", "events"]
        read_only_fields = fields
