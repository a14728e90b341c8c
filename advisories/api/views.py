from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from advisories import feed_control
from advisories.access import MspCapability
from advisories.api import serializers
from advisories.filters import AdvisoryFilter
from advisories.models import Advisory, FeedRun, FeedSource

__all__ = ["AdvisoryViewSet", "FeedRunViewSet", "FeedSourceViewSet"]

_PERMISSIONS = [permissions.IsAuthenticated, MspCapability]


class AdvisoryViewSet(viewsets.ReadOnlyModelViewSet):
    """Vendor advisories (MSP staff), newest first; the detail includes the affected packages."""

    queryset = Advisory.objects.all()
    permission_classes = _PERMISSIONS
    read_capability = write_capability = "advisory.view"
    filterset_class = AdvisoryFilter
    ordering_fields = ["published", "modified", "advisory_id"]
    ordering = ["-published", "advisory_id"]
    lookup_field = "advisory_id"
    lookup_value_regex = r"[^/]+"

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset.prefetch_related("affected") if self.action == "retrieve" else queryset

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.AdvisoryDetailSerializer
        return serializers.AdvisorySerializer


class FeedSourceViewSet(viewsets.ModelViewSet):
    """Feed sources: MSP staff read them, MSP admins add, change, remove and sync them."""

    queryset = FeedSource.objects.order_by("kind", "name")
    serializer_class = serializers.FeedSourceSerializer
    permission_classes = _PERMISSIONS
    read_capability = "feed.view"
    write_capability = "feed.manage"
    filterset_fields = ["kind", "enabled"]
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def perform_create(self, serializer):
        source = serializer.save()
        feed_control.record_change(
            source, created=True, changes={name: [None, value] for name, value in serializer.validated_data.items()}
        )

    def perform_update(self, serializer):
        before = {name: getattr(serializer.instance, name) for name in serializer.validated_data}
        source = serializer.save()
        after = {name: getattr(source, name) for name in before}
        changes = {name: [before[name], after[name]] for name in before if before[name] != after[name]}
        feed_control.record_change(source, created=False, changes=changes)

    def perform_destroy(self, instance):
        feed_control.record_removal(instance)
        instance.delete()

    @extend_schema(request=None, responses={202: serializers.FeedSourceSerializer})
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        """Queue a sync of this source now (MSP admins)."""
        source = self.get_object()
        feed_control.request_sync(source)
        return Response(self.get_serializer(source).data, status=status.HTTP_202_ACCEPTED)


class FeedRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Feed runs (MSP staff), newest first."""

    queryset = FeedRun.objects.order_by("-started_at", "-id")
    serializer_class = serializers.FeedRunSerializer
    permission_classes = _PERMISSIONS
    read_capability = write_capability = "feed.view"
    filterset_fields = ["source", "kind", "status"]
    lookup_value_regex = r"[0-9]+"
