"""Accepted risks over the API: exactly one target, an owner who may answer for it, a reason, an expiry."""

from __future__ import annotations

import uuid

from django.utils.encoding import smart_str
from rest_framework import serializers

from advisories.models import Advisory
from devices.models import Device
from patches.exception_listing import eligible_owners, local_today, status
from patches.models import Finding, FindingState, RiskException
from tenants.models import User

__all__ = ["TARGETS", "RiskExceptionSerializer"]

TARGETS = ("finding", "device", "advisory")


class _InTenant:
    """A related field whose choices depend on the tenant the exception is created in."""

    def get_queryset(self):
        tenant = self.context.get("tenant")
        return self.queryset_in(tenant) if tenant is not None else self.queryset.none()


class FindingField(_InTenant, serializers.PrimaryKeyRelatedField):
    default_error_messages = {"does_not_exist": "No open finding {pk_value} in this tenant."}

    def queryset_in(self, tenant):
        return Finding.objects.in_tenant(tenant).filter(state=FindingState.OPEN)


class DeviceField(_InTenant, serializers.SlugRelatedField):
    default_error_messages = {"does_not_exist": "No active device {value} in this tenant."}

    def to_internal_value(self, data):
        try:
            uuid.UUID(str(data))
        except ValueError:
            self.fail("does_not_exist", slug_name=self.slug_field, value=smart_str(data))
        return super().to_internal_value(data)

    def queryset_in(self, tenant):
        return Device.objects.in_tenant(tenant).active()


class AdvisoryField(_InTenant, serializers.SlugRelatedField):
    default_error_messages = {"does_not_exist": "No advisory {value} with findings in this tenant."}

    def queryset_in(self, tenant):
        with_findings = Finding.objects.in_tenant(tenant).filter(
            state__in=[FindingState.OPEN, FindingState.ACCEPTED], advisory__isnull=False
        )
        return Advisory.objects.filter(pk__in=with_findings.values("advisory_id"))


class OwnerField(_InTenant, serializers.SlugRelatedField):
    # The same answer for unknown and ineligible addresses: the API does not reveal who has an account.
    default_error_messages = {
        "does_not_exist": "{value} may not own this tenant's risks: its members and MSP staff may."
    }

    def queryset_in(self, tenant):
        return eligible_owners(tenant)


class RiskExceptionSerializer(serializers.ModelSerializer):
    """On create: `tenant` (slug), exactly one of `finding` (id), `device` (uid) or `advisory`
    (advisory id), and `owner` (e-mail), `reason`, `expires_on` (the last day it holds, after today
    in the tenant's time zone). The findings it covers become `accepted` at once."""

    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    finding = FindingField(queryset=Finding.objects.all(), required=False, allow_null=True)
    device = DeviceField(slug_field="uid", queryset=Device.objects.all(), required=False, allow_null=True)
    advisory = AdvisoryField(slug_field="advisory_id", queryset=Advisory.objects.all(), required=False, allow_null=True)
    owner = OwnerField(slug_field="email", queryset=User.objects.all(), help_text="The e-mail of who answers for it.")
    reason = serializers.CharField(max_length=4000)
    created_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    revoked_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    status = serializers.SerializerMethodField(help_text="active, expired or revoked (dates in the tenant's zone).")
    covered_now = serializers.IntegerField(read_only=True, help_text="Findings of its target accepted right now.")

    class Meta:
        model = RiskException
        fields = [
            "id",
            "tenant",
            "covers",
            "finding",
            "device",
            "advisory",
            "owner",
            "reason",
            "expires_on",
            "status",
            "covered_now",
            "created_by",
            "created_at",
            "revoked_at",
            "revoked_by",
        ]
        read_only_fields = ["covers", "created_at", "revoked_at"]

    def get_status(self, exception) -> str:
        return status(exception, local_today(exception.tenant))

    def validate(self, attrs):
        named = [name for name in TARGETS if attrs.get(name) is not None]
        if len(named) != 1:
            raise serializers.ValidationError({"covers": "Name exactly one of finding, device or advisory."})
        return attrs

    def target(self) -> dict:
        """The keyword accept_risk takes: {"finding": f}, {"device": d} or {"advisory": a}."""
        return {name: self.validated_data[name] for name in TARGETS if self.validated_data.get(name) is not None}
