"""Policies over the REST API, and the effective policy of a device."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.response import Response

from devices.models import Device
from patches.api.policy_filters import PolicyFilter
from patches.api.policy_serializers import EffectivePolicySerializer, PolicySerializer
from patches.models import PatchPolicy, Scope
from patches.policy import FIELDS, effective_for_device
from portal.viewsets import TenantScopedMixin, TenantScopedViewSet, drf_require

__all__ = ["PolicyViewSet"]

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class PolicyViewSet(TenantScopedViewSet):
    """Patch policies (MSP staff): the global one and those of the tenants you work on.

    A policy's `settings` holds only what its level sets; the global policy is changed by
    MSP admins only. DELETE returns the scope to inheriting everything.
    """

    queryset = PatchPolicy.objects.select_related("tenant", "site", "group", "device")
    serializer_class = PolicySerializer
    filterset_class = PolicyFilter
    read_capability = "policy.view"
    write_capability = "policy.manage"
    ordering_fields = ["updated_at", "priority"]
    ordering = ["scope", "tenant_id", "-priority", "id"]
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def check_object_permissions(self, request, obj):
        if obj.scope != Scope.GLOBAL:
            return super().check_object_permissions(request, obj)
        # The global policy belongs to no tenant: staff read it, MSP admins change it.
        super(TenantScopedMixin, self).check_object_permissions(request, obj)
        allowed = self.access.is_staff if request.method in SAFE_METHODS else self.access.is_admin
        if not allowed:
            raise exceptions.PermissionDenied("Only MSP admins change the global policy; staff read it.")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "tenant": getattr(self, "body_tenant", None)}

    def create(self, request, *args, **kwargs):
        if not isinstance(request.data, dict) or request.data.get("scope") != Scope.GLOBAL:
            return super().create(request, *args, **kwargs)  # the tenant's (a body not an object: 400)
        if not self.access.is_admin:
            raise exceptions.PermissionDenied("Only MSP admins change the global policy.")
        if request.data.get("tenant"):
            raise exceptions.ValidationError({"tenant": ["The global policy belongs to no tenant."]})
        self.body_tenant = None
        return super(TenantScopedMixin, self).create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.save(tenant=self.body_tenant, updated_at=timezone.now())

    def perform_update(self, serializer):
        serializer.save(updated_at=timezone.now())

    @extend_schema(
        parameters=[OpenApiParameter("device", OpenApiTypes.UUID, required=True, description="The device's uid.")],
        responses=EffectivePolicySerializer,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def effective(self, request):
        """What applies to one device: every setting's value and the policy (or default) it comes from."""
        device = self._device(request.query_params.get("device", ""))
        _, eff = effective_for_device(device)
        settings = [
            {
                "key": key,
                "label": spec.label,
                "value": eff.values[key],
                "source": eff.source_label(key),
                "source_scope": eff.sources[key].scope if eff.sources[key] else None,
                "source_policy": eff.source_policy_id(key),
            }
            for key, spec in FIELDS.items()
        ]
        body = {"device": device.uid, "hostname": device.hostname, "tenant": device.tenant.slug, "settings": settings}
        return Response(EffectivePolicySerializer(body).data)

    def _device(self, uid: str) -> Device:
        try:
            device = Device.objects.visible_to(self.access).active().select_related("tenant").filter(uid=uid).first()
        except DjangoValidationError:
            raise exceptions.ValidationError({"device": ["A device uid."]}) from None
        if device is None:
            raise exceptions.NotFound("No such device.")
        drf_require(self.access, device.tenant_id, self.read_capability)
        return device
