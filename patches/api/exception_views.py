"""Accepted risks over the REST API: everyone in a tenant reads them, MSP staff accept and revoke them."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from patches import risk_acceptance
from patches.api.exception_serializers import RiskExceptionSerializer
from patches.api.policy_filters import RiskExceptionFilter
from patches.exception_listing import with_covered_counts
from patches.models import RiskException
from portal.viewsets import TenantScopedCreateMixin

__all__ = ["RiskExceptionViewSet"]


class RiskExceptionViewSet(
    TenantScopedCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Accepted risks of the tenants you can see, soonest expiry first.

    Never edited: POST creates one (MSP staff; its findings become `accepted` at once), and
    POST /{id}/revoke/ ends it early (its findings are `open` again).
    """

    queryset = RiskException.objects.select_related(
        "tenant", "finding", "device", "advisory", "owner", "created_by", "revoked_by"
    )
    serializer_class = RiskExceptionSerializer
    filterset_class = RiskExceptionFilter
    read_capability = "exception.view"
    write_capability = "exception.manage"
    ordering_fields = ["expires_on", "created_at"]
    ordering = ["expires_on", "id"]

    def get_queryset(self):
        return with_covered_counts(super().get_queryset())

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "tenant": getattr(self, "body_tenant", None)}

    def perform_create(self, serializer):
        data = serializer.validated_data
        exception = risk_acceptance.accept_risk(
            tenant=self.body_tenant,
            owner=data["owner"],
            reason=data["reason"],
            expires_on=data["expires_on"],
            user=self.request.user,
            now=timezone.now(),
            **serializer.target(),
        )
        serializer.instance = self.get_queryset().get(pk=exception.pk)

    @extend_schema(request=None, responses=RiskExceptionSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """End an accepted risk now (MSP staff); the findings it covered are open again."""
        exception = self.get_object()
        if exception.revoked_at is not None:
            raise exceptions.ValidationError({"revoked_at": ["This exception was already revoked."]})
        risk_acceptance.revoke(exception, user=request.user, now=timezone.now())
        return Response(self.get_serializer(self.get_queryset().get(pk=exception.pk)).data)
