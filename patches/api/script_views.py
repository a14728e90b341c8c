"""Scripts over the REST API: MSP staff read them and their versions, MSP admins write them.

Writes go through patches.scripts, so a changed body is always a new version (audited) and a
version is never edited or deleted.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from advisories.access import MspCapability
from patches import scripts as script_service
from patches.api.script_serializers import ScriptDetailSerializer, ScriptSerializer, ScriptVersionSerializer
from patches.models import Script

__all__ = ["ScriptViewSet"]

FIELDS = ("name", "description", "interpreter")


class ScriptViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Pre- and post-install scripts (MSP staff read, MSP admins write), by name."""

    queryset = Script.objects.all()
    permission_classes = [permissions.IsAuthenticated, MspCapability]
    read_capability = "script.view"
    write_capability = "script.manage"
    filterset_fields = ["interpreter"]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "updated_at"]
    ordering = ["name"]
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "patch", "put", "head", "options"]

    def get_serializer_class(self):
        return ScriptSerializer if self.action == "list" else ScriptDetailSerializer

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = script_service.create_script(
            user=self.request.user,
            body=data["body"],
            note=data.get("note", ""),
            **{name: data[name] for name in FIELDS if name in data},
        )

    def perform_update(self, serializer):
        data = serializer.validated_data
        script_service.update_script(
            serializer.instance,
            user=self.request.user,
            body=data.get("body"),
            note=data.get("note", ""),
            base_version=data.get("base_version"),
            **{name: data[name] for name in FIELDS if name in data},
        )

    @extend_schema(responses=ScriptVersionSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def versions(self, request, pk=None):
        """Every version of the script, newest first, with its body, author and note."""
        script = self.get_object()
        versions = script.versions.select_related("created_by").order_by("-number")
        return Response(ScriptVersionSerializer(versions, many=True).data)
