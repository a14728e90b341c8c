from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.viewsets import TenantScopedMixin, TenantScopedReadOnlyViewSet, TenantScopedViewSet, drf_require
from tenants import services
from tenants.api import filters, serializers
from tenants.forms import MembershipForm
from tenants.models import ApiToken, AuditEntry, Membership, Site, Tenant, User


class TenantViewSet(TenantScopedViewSet):
    """Client tenants. Everyone sees their own; MSP admins create, edit and change state."""

    queryset = Tenant.objects.all()
    serializer_class = serializers.TenantSerializer
    filterset_class = filters.TenantFilter
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "created_at"]
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    http_method_names = ["get", "post", "patch", "put", "head", "options"]

    def check_object_permissions(self, request, obj):
        super(TenantScopedMixin, self).check_object_permissions(request, obj)
        capability = "tenant.view" if request.method in ("GET", "HEAD", "OPTIONS") else "tenant.manage"
        drf_require(self.access, obj.pk, capability)

    def create(self, request, *args, **kwargs):
        if not self.access.is_admin:
            raise exceptions.PermissionDenied("Only MSP admins create tenants.")
        # A tenant is not created inside a tenant: skip the mixin's tenant-from-body step.
        return super(TenantScopedMixin, self).create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.save()

    @extend_schema(request=serializers.TenantStateSerializer, responses=serializers.TenantSerializer)
    @action(detail=True, methods=["post"])
    def state(self, request, slug=None):
        tenant = self.get_object()
        body = serializers.TenantStateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.set_tenant_state(tenant, body.validated_data["state"])
        return Response(self.get_serializer(tenant).data)


class SiteViewSet(TenantScopedViewSet):
    queryset = Site.objects.select_related("tenant")
    serializer_class = serializers.SiteSerializer
    filterset_class = filters.SiteFilter
    search_fields = ["name", "address"]
    write_capability = "site.manage"


class MembershipViewSet(TenantScopedViewSet):
    """Who has which role in which tenant. Creating one for a new e-mail invites the person."""

    queryset = Membership.objects.select_related("tenant", "user")
    serializer_class = serializers.MembershipSerializer
    filterset_class = filters.MembershipFilter
    read_capability = "member.view"
    write_capability = "member.manage"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def create(self, request, *args, **kwargs):
        tenant = self.tenant_from_body()
        form = MembershipForm(data=request.data, tenant=tenant)
        if not form.is_valid():
            raise exceptions.ValidationError(form.errors.get_json_data())
        data = form.cleaned_data
        membership = services.add_member(tenant, data["email"], data["role"], data.get("full_name", ""), data["user"])
        return Response(self.get_serializer(membership).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        role = serializer.validated_data.get("role", serializer.instance.role)
        is_technician = serializer.instance.user.is_msp_staff
        if is_technician != (role == "technician"):
            raise exceptions.ValidationError(
                {"role": ["Technicians hold the technician role; client users a client role."]}
            )
        serializer.save()


class UserViewSet(viewsets.ModelViewSet):
    """All accounts (MSP admins only). Users are deactivated, never deleted."""

    queryset = User.objects.all()
    serializer_class = serializers.UserSerializer
    search_fields = ["email", "full_name"]
    filterset_fields = ["msp_role", "is_active"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not request._request.access.is_admin:
            raise exceptions.PermissionDenied("MSP admins only.")

    def perform_create(self, serializer):
        # The saved user is the response (with its id), as ModelSerializer.save() would give.
        serializer.instance = services.invite_user(User(**serializer.validated_data))


class AuditEntryViewSet(TenantScopedReadOnlyViewSet):
    """The audit log, read-only. MSP-wide entries (no tenant) are listed for MSP admins."""

    queryset = AuditEntry.objects.select_related("tenant")
    serializer_class = serializers.AuditEntrySerializer
    filterset_class = filters.AuditEntryFilter
    read_capability = "tenant.audit"

    def check_object_permissions(self, request, obj):
        if obj.tenant_id is None:
            return  # only MSP admins can see these at all
        super().check_object_permissions(request, obj)


class ApiTokenViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The caller's own personal tokens. POST creates one (its value is returned once)."""

    serializer_class = serializers.ApiTokenSerializer
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    @extend_schema(responses={201: serializers.NewApiTokenSerializer})
    def create(self, request, *args, **kwargs):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, raw = ApiToken.issue(request.user, body.validated_data["name"], body.validated_data.get("expires_at"))
        token.token = raw
        return Response(serializers.NewApiTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = self.get_queryset().filter(pk=pk).first()
        if token is None:
            raise exceptions.NotFound()
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
        return Response(self.get_serializer(token).data)
