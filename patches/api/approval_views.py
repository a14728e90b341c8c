"""REST endpoints of the patch catalogue, approvals and the approval queue.

Approvals are never created or edited raw: decisions go through POST approvals/decide/
(patches.approvals.decide, audited, with the client's sign-off where a policy asks for it)
and a client owner answers with POST approvals/{id}/client-decision/.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from advisories.access import MspCapability
from devices.models import Device, DeviceGroup
from patches.api import approval_serializers as serializers
from patches.approvals import client_decide, decide
from patches.decisions import DECIDE, require_global
from patches.filters import ApprovalFilter, PatchFilter
from patches.forms.approvals import QueueFilterForm
from patches.models import Approval, Patch, Scope
from patches.queue import approval_queue
from portal.viewsets import TenantScopedMixin, TenantScopedReadOnlyViewSet, drf_require
from tenants.models import Site, Tenant

__all__ = ["ApprovalQueueViewSet", "ApprovalViewSet", "PatchViewSet"]


class PatchViewSet(viewsets.ReadOnlyModelViewSet):
    """The patch catalogue (MSP staff), newest first; the detail adds advisories and replaced patches."""

    queryset = Patch.objects.all()
    permission_classes = [permissions.IsAuthenticated, MspCapability]
    read_capability = write_capability = "patch.view"
    filterset_class = PatchFilter
    ordering_fields = ["released_on", "first_seen_at", "name"]
    ordering = ["-released_on", "name", "id"]
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset.prefetch_related("advisories") if self.action == "retrieve" else queryset

    def get_serializer_class(self):
        return serializers.PatchDetailSerializer if self.action == "retrieve" else serializers.PatchSerializer


class ApprovalViewSet(TenantScopedReadOnlyViewSet):
    """Approvals at every scope in the tenants you work on, and the global ones (MSP staff)."""

    queryset = Approval.objects.select_related(
        "patch", "tenant", "site", "group", "device", "decided_by", "client_decided_by"
    )
    serializer_class = serializers.ApprovalSerializer
    filterset_class = ApprovalFilter
    read_capability = "approval.view"
    # The one write on an existing approval: the client owner's answer to a sign-off request.
    write_capability = "approval.client_decide"
    ordering_fields = ["created_at", "decided_at"]
    ordering = ["-created_at", "-id"]

    def check_object_permissions(self, request, obj):
        if obj.tenant_id is not None:
            return super().check_object_permissions(request, obj)
        # A global approval belongs to no tenant: staff read it, nobody answers it as a client.
        super(TenantScopedMixin, self).check_object_permissions(request, obj)
        safe = request.method in permissions.SAFE_METHODS
        if not self.access.can_anywhere(self.read_capability if safe else self.write_capability):
            raise exceptions.PermissionDenied("Your role does not allow this.")
        return None

    @extend_schema(request=serializers.DecideSerializer, responses=serializers.ApprovalSerializer(many=True))
    @action(detail=False, methods=["post"])
    def decide(self, request):
        """Approve, reject, defer or reopen patches at one scope (MSP staff; all tenants: MSP admins).

        Approving for a tenant whose policy requires the client's sign-off sends the approval to
        the client owners (state pending, awaiting_client) instead of approving it.
        """
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        # Access to the target is decided before the body is validated: 404/403 before 400.
        scope = request.data.get("scope") or Scope.TENANT
        if scope == Scope.GLOBAL:
            require_global(self.access)
            tenant = None
        else:
            tenant = self._decision_tenant(request.data.get("tenant"))
        body = serializers.DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        patches = Patch.objects.in_bulk(data["patches"])
        unknown = sorted(set(data["patches"]) - set(patches))
        if unknown:
            raise exceptions.ValidationError({"patches": [f"No such patch: {', '.join(map(str, unknown))}."]})
        decided = decide(
            [patches[pk] for pk in dict.fromkeys(data["patches"])],
            action=data["action"],
            user=request.user,
            now=timezone.now(),
            scope=data["scope"],
            tenant=tenant,
            comment=data["comment"],
            defer_until=data.get("defer_until"),
            expires_at=data.get("expires_at"),
            **self._targets(tenant, data),
        )
        return Response(serializers.ApprovalSerializer(decided, many=True).data)

    @extend_schema(request=serializers.ClientDecisionSerializer, responses=serializers.ApprovalSerializer)
    @action(detail=True, methods=["post"], url_path="client-decision")
    def client_decision(self, request, pk=None):
        """The client owner approves or declines (with a comment) an approval sent to them."""
        approval = self.get_object()
        if not approval.needs_client or approval.client_requested_at is None:
            raise exceptions.NotFound("This approval was not sent to the client.")
        body = serializers.ClientDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        approval = client_decide(
            approval,
            approve=body.validated_data["approve"],
            user=request.user,
            now=timezone.now(),
            comment=body.validated_data["comment"],
        )
        return Response(serializers.ApprovalSerializer(approval).data)

    def _decision_tenant(self, value):
        if value in (None, ""):
            raise exceptions.ValidationError({"tenant": ["This field is required below the global scope."]})
        visible = Tenant.objects.visible_to(self.access)
        text = str(value)
        tenant = visible.filter(slug=text).first()
        if tenant is None and text.isdigit():
            tenant = visible.filter(pk=int(text)).first()
        if tenant is None or not self.access.can_see(tenant.pk):
            raise exceptions.NotFound("No such tenant.")
        drf_require(self.access, tenant.pk, DECIDE)
        return tenant

    @staticmethod
    def _targets(tenant, data) -> dict:
        """The site, group or device the scope names, looked up in the tenant (400 if not there)."""
        scope = data["scope"]
        lookups = {
            Scope.SITE: ("site", Site.objects, {"pk": data.get("site")}),
            Scope.GROUP: ("group", DeviceGroup.objects, {"pk": data.get("group")}),
            Scope.DEVICE: ("device", Device.objects, {"uid": data.get("device")}),
        }
        if scope not in lookups:
            return {}
        name, objects, lookup = lookups[scope]
        target = objects.filter(tenant=tenant, **lookup).first()
        if target is None:
            raise exceptions.ValidationError({name: [f"No such {name} in {tenant.name}."]})
        return {name: target}


STATUS_HELP = "Comma-separated: undecided, pending, awaiting_client, approved, deferred, rejected, or all."


class ApprovalQueueViewSet(viewsets.GenericViewSet):
    """The approval queue (MSP staff): per tenant, the patches its devices miss, highest risk first,
    with the tenant-level decision. By default only what needs a decision."""

    serializer_class = serializers.QueueItemSerializer
    filter_backends = []

    @extend_schema(
        parameters=[
            OpenApiParameter("tenant", OpenApiTypes.STR, description="Tenant slug."),
            OpenApiParameter("status", OpenApiTypes.STR, description=STATUS_HELP),
            OpenApiParameter("severity", OpenApiTypes.STR, enum=["critical", "high", "medium", "low", "none"]),
            OpenApiParameter("kev", OpenApiTypes.BOOL, description="Only patches fixing a CVE in CISA KEV."),
            OpenApiParameter(
                "min_age", OpenApiTypes.INT, description="Released (or first seen) at least this many days ago."
            ),
            OpenApiParameter("product", OpenApiTypes.STR, description="Part of the product, name or title."),
        ]
    )
    def list(self, request):
        access = request._request.access
        if not access.can_anywhere("approval.view"):
            raise exceptions.PermissionDenied("Your role does not allow this.")
        data = request.query_params.copy()
        slug = data.pop("tenant", [None])[-1]
        if slug:
            tenant = Tenant.objects.visible_to(access).filter(slug=slug).first()
            if tenant is None or not access.can_see(tenant.pk):
                raise exceptions.NotFound("No such tenant.")
            drf_require(access, tenant.pk, "approval.view")
            tenants = [tenant]
        else:
            tenants = [
                t
                for t in Tenant.objects.visible_to(access).filter(archived_at__isnull=True)
                if access.can(t.pk, "approval.view")
            ]
        if "status" in data:
            statuses = [s.strip() for value in data.getlist("status") for s in value.split(",") if s.strip()]
            data.setlist("status", [] if "all" in statuses else statuses)
        filters = QueueFilterForm(data, tenants=tenants)
        if not filters.is_valid():
            raise exceptions.ValidationError(filters.errors)
        now = timezone.now()
        items = approval_queue(tenants, now, **filters.queue_kwargs())
        page = self.paginate_queryset(items)
        return self.get_paginated_response(self.get_serializer(page, many=True, context={"now": now}).data)
