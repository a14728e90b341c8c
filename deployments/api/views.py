"""Rings, windows, blackouts, deployments and jobs over the REST API.

Capabilities as on the pages (see deployments.extensions): MSP staff manage everything;
everyone in a tenant reads its deployments, jobs, windows and blackouts; rings are staff's.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from deployments import control
from deployments.api import filters
from deployments.api.serializers import (
    ActionSerializer,
    BlackoutSerializer,
    DeploymentCreateSerializer,
    DeploymentSerializer,
    JobDetailSerializer,
    JobSerializer,
    MaintenanceWindowSerializer,
    RingSerializer,
)
from deployments.models import BlackoutPeriod, Deployment, Job, JobEvent, MaintenanceWindow, Ring, RingMember
from portal.viewsets import TenantScopedMixin, TenantScopedReadOnlyViewSet, TenantScopedViewSet, drf_require

__all__ = ["BlackoutViewSet", "DeploymentViewSet", "JobViewSet", "MaintenanceWindowViewSet", "RingViewSet"]


def _drf_validation(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(exc.message_dict)
    return exceptions.ValidationError({"detail": exc.messages})


class _InBodyTenant:
    def get_serializer_context(self):
        return {**super().get_serializer_context(), "tenant": getattr(self, "body_tenant", None)}


class RingViewSet(_InBodyTenant, TenantScopedViewSet):
    """Rings (MSP staff): members by `groups`, `devices` and `tags`, or `catch_all`; the gate."""

    queryset = Ring.objects.select_related("tenant").prefetch_related(
        Prefetch("members", queryset=RingMember.objects.select_related("device"))
    )
    serializer_class = RingSerializer
    filterset_class = filters.RingFilter
    read_capability = "ring.view"
    write_capability = "ring.manage"
    ordering = ["tenant_id", "position"]


class MaintenanceWindowViewSet(_InBodyTenant, TenantScopedViewSet):
    """Maintenance windows (everyone in the tenant reads them; MSP staff manage them)."""

    queryset = MaintenanceWindow.objects.select_related("tenant").prefetch_related("rings")
    serializer_class = MaintenanceWindowSerializer
    filterset_class = filters.WindowFilter
    read_capability = "window.view"
    write_capability = "window.manage"
    ordering = ["tenant_id", "purpose", "name"]


class BlackoutViewSet(_InBodyTenant, TenantScopedViewSet):
    """Blackout periods: inclusive dates in the tenant's zone when nothing installs."""

    queryset = BlackoutPeriod.objects.select_related("tenant")
    serializer_class = BlackoutSerializer
    filterset_class = filters.BlackoutFilter
    read_capability = "window.view"
    write_capability = "window.manage"
    ordering = ["tenant_id", "starts_on"]


class DeploymentViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Deployments with their stages and progress, newest first.

    POST creates one through deployments.planning (MSP staff); POST /{id}/pause/, /resume/
    and /cancel/ act on it (audited). A `run_now` deployment ignores maintenance windows: it
    needs deployment.run_now, `confirm_run_now` and a `run_now_reason`, and is audited.
    """

    queryset = Deployment.objects.select_related("tenant", "created_by").prefetch_related(
        "deployment_patches", "stages"
    )
    serializer_class = DeploymentSerializer
    filterset_class = filters.DeploymentFilter
    read_capability = "deployment.view"
    write_capability = "deployment.manage"
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_serializer_class(self):
        if self.action == "create":
            return DeploymentCreateSerializer
        if self.action in control.ACTIONS:
            return ActionSerializer
        return DeploymentSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "tenant": getattr(self, "body_tenant", None)}

    def list(self, request, *args, **kwargs):
        if not self.access.can_anywhere(self.read_capability):
            raise exceptions.PermissionDenied("Your role does not allow this.")
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        serializer = DeploymentSerializer(
            page, many=True, context={**self.get_serializer_context(), "progress": control.progress(page)}
        )
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=DeploymentCreateSerializer, responses={201: DeploymentSerializer})
    def create(self, request, *args, **kwargs):
        self.body_tenant = self.tenant_from_body()
        if request.data.get("run_now") in (True, "true", "True", "1", 1):
            drf_require(self.access, self.body_tenant.pk, "deployment.run_now")
        serializer = DeploymentCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        try:
            plan = control.launch(
                self.body_tenant,
                user=request.user,
                now=timezone.now(),
                run_now_reason=serializer.validated_data.get("run_now_reason", ""),
                **serializer.plan_kwargs(),
            )
        except DjangoValidationError as exc:
            raise _drf_validation(exc) from None
        deployment = self.get_queryset().get(pk=plan.deployment.pk)
        return Response(DeploymentSerializer(deployment, context=self.get_serializer_context()).data, status=201)

    def _act(self, request, name):
        deployment = self.get_object()
        serializer = ActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            control.act(deployment, name, now=timezone.now(), reason=serializer.validated_data.get("reason", ""))
        except DjangoValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        deployment = self.get_queryset().get(pk=deployment.pk)
        return Response(DeploymentSerializer(deployment, context=self.get_serializer_context()).data)

    @extend_schema(request=ActionSerializer, responses={200: DeploymentSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Stop releasing jobs; queued jobs go back to pending (409 unless scheduled or running)."""
        return self._act(request, "pause")

    @extend_schema(request=ActionSerializer, responses={200: DeploymentSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Release again (409 unless paused)."""
        return self._act(request, "resume")

    @extend_schema(request=ActionSerializer, responses={200: DeploymentSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel the deployment and its jobs not yet taken (409 when completed or cancelled)."""
        return self._act(request, "cancel")


class JobViewSet(TenantScopedReadOnlyViewSet):
    """Jobs (read-only): filter by `deployment`, `state` (repeatable), `device` (uid), `kind`.

    The detail includes the job's log (events) and the agent's output.
    """

    queryset = Job.objects.select_related("tenant", "device")
    serializer_class = JobSerializer
    filterset_class = filters.JobFilter
    read_capability = "deployment.view"
    write_capability = "deployment.manage"
    ordering_fields = ["created_at", "updated_at", "finished_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(Prefetch("events", queryset=JobEvent.objects.order_by("at", "id")))
        return queryset

    def get_serializer_class(self):
        return JobDetailSerializer if self.action == "retrieve" else JobSerializer
