from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from devices import services
from devices.api import serializers
from devices.filters import DeviceFilter
from devices.models import (
    Device,
    DeviceCheckIn,
    DeviceGroup,
    DeviceGroupMember,
    DeviceSoftware,
    DeviceUpdate,
    EnrollmentToken,
)
from portal.viewsets import TenantScopedViewSet


class DeviceViewSet(TenantScopedViewSet):
    """Devices of the tenants you can see. Staff edit site, criticality, tags, notes and the
    check-in interval; DELETE retires a device (its agent is refused, its history kept)."""

    queryset = Device.objects.select_related("tenant").active()
    serializer_class = serializers.DeviceSerializer
    filterset_class = DeviceFilter
    ordering_fields = ["hostname", "last_seen_at", "criticality"]
    write_capability = "device.manage"
    lookup_field = "uid"
    lookup_url_kwarg = "pk"
    lookup_value_regex = r"[0-9a-fA-F-]{36}"
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().with_state()

    def perform_destroy(self, instance):
        services.retire_device(instance)

    def _page(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)

    @extend_schema(responses=serializers.DeviceSoftwareSerializer(many=True))
    @action(detail=True)
    def software(self, request, pk=None):
        device = self.get_object()
        rows = DeviceSoftware.objects.filter(device=device).select_related("package").order_by("package__name")
        return self._page(rows, serializers.DeviceSoftwareSerializer)

    @extend_schema(responses=serializers.DeviceUpdateSerializer(many=True))
    @action(detail=True)
    def updates(self, request, pk=None):
        device = self.get_object()
        rows = DeviceUpdate.objects.filter(device=device).select_related("update").order_by("update__identifier")
        return self._page(rows, serializers.DeviceUpdateSerializer)

    @extend_schema(responses=serializers.DeviceCheckInSerializer(many=True))
    @action(detail=True)
    def checkins(self, request, pk=None):
        device = self.get_object()
        return self._page(DeviceCheckIn.objects.filter(device=device), serializers.DeviceCheckInSerializer)


class DeviceGroupViewSet(TenantScopedViewSet):
    """Device groups: explicit (add and remove members) or by rule on tags, OS, site, criticality."""

    queryset = DeviceGroup.objects.select_related("tenant")
    serializer_class = serializers.DeviceGroupSerializer
    filterset_fields = ["kind"]
    search_fields = ["name"]
    write_capability = "device.manage"

    def perform_create(self, serializer):
        tenant = self.body_tenant
        site = serializer.validated_data.get("rule_site")
        if site is not None and site.tenant_id != tenant.pk:
            raise exceptions.ValidationError({"rule_site": ["The site belongs to another tenant."]})
        serializer.save(tenant=tenant)

    @extend_schema(request=serializers.GroupMembersSerializer, responses=serializers.DeviceGroupSerializer)
    @action(detail=True, methods=["post"], url_path="members/add")
    def add_members(self, request, pk=None):
        group = self._explicit_group()
        devices = self._devices_of(group, request)
        DeviceGroupMember.objects.bulk_create(
            [DeviceGroupMember(tenant_id=group.tenant_id, group=group, device=d) for d in devices],
            ignore_conflicts=True,
        )
        return Response(self.get_serializer(group).data)

    @extend_schema(request=serializers.GroupMembersSerializer, responses=serializers.DeviceGroupSerializer)
    @action(detail=True, methods=["post"], url_path="members/remove")
    def remove_members(self, request, pk=None):
        group = self._explicit_group()
        for member in DeviceGroupMember.objects.filter(group=group, device__in=self._devices_of(group, request)):
            member.delete()
        return Response(self.get_serializer(group).data)

    def _explicit_group(self):
        group = self.get_object()
        if group.kind != DeviceGroup.Kind.EXPLICIT:
            raise exceptions.ValidationError({"kind": ["Members of a rule-based group follow its rule."]})
        return group

    def _devices_of(self, group, request):
        body = serializers.GroupMembersSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        wanted = set(body.validated_data["devices"])
        devices = list(Device.objects.filter(tenant_id=group.tenant_id, uid__in=wanted))
        missing = wanted - {d.uid for d in devices}
        if missing:
            raise exceptions.ValidationError({"devices": [f"Not devices of this tenant: {sorted(map(str, missing))}"]})
        return devices


class EnrollmentTokenViewSet(TenantScopedViewSet):
    """Enrollment tokens. POST returns the token once; revoke and rotate are actions."""

    queryset = EnrollmentToken.objects.select_related("tenant").prefetch_related("groups")
    serializer_class = serializers.EnrollmentTokenSerializer
    read_capability = "enrollment.manage"
    write_capability = "enrollment.manage"
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(responses={201: serializers.NewEnrollmentTokenSerializer})
    def create(self, request, *args, **kwargs):
        tenant = self.tenant_from_body()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        groups = data.pop("groups", [])
        if (data.get("site") and data["site"].tenant_id != tenant.pk) or any(g.tenant_id != tenant.pk for g in groups):
            raise exceptions.ValidationError({"site": ["Site and groups must belong to the token's tenant."]})
        token, raw = EnrollmentToken.issue(tenant, created_by=request.user, **data)
        token.groups.set(groups)
        token.token = raw
        return Response(serializers.NewEnrollmentTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = self.get_object()
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
        return Response(self.get_serializer(token).data)

    @extend_schema(request=None, responses=serializers.NewEnrollmentTokenSerializer)
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        token = self.get_object()
        token.token = token.rotate()
        return Response(serializers.NewEnrollmentTokenSerializer(token).data)
