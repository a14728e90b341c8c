"""The tenant-scoped base viewset every REST API resource builds on."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, viewsets

from tenants.access import get_tenant, require

__all__ = [
    "TenantScopedCreateMixin",
    "TenantScopedMixin",
    "TenantScopedReadOnlyViewSet",
    "TenantScopedViewSet",
    "drf_require",
]


class TenantScopedMixin:
    """For viewsets over a tenant-owned model.

    Reads are scoped by `visible_to(access, read_capability)`, so another tenant's
    object is a 404; writes check `write_capability` in the object's tenant (403).
    On create the tenant is given by slug in the body and resolved the same way.
    """

    read_capability = "tenant.view"
    write_capability = "tenant.manage"
    lookup_value_regex = r"[0-9]+"

    @property
    def access(self):
        return self.request._request.access

    def get_queryset(self):
        return super().get_queryset().visible_to(self.access, "tenant.view")

    def list(self, request, *args, **kwargs):
        if not self.access.can_anywhere(self.read_capability):
            raise exceptions.PermissionDenied("Your role does not allow this.")
        return super().list(request, *args, **kwargs)

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        capability = self.read_capability if request.method in ("GET", "HEAD", "OPTIONS") else self.write_capability
        drf_require(self.access, obj.tenant_id, capability)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.action == "list":
            queryset = queryset.visible_to(self.access, self.read_capability)
        return queryset

    def tenant_from_body(self):
        if not isinstance(self.request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        slug = self.request.data.get("tenant")
        if not slug:
            raise exceptions.ValidationError({"tenant": ["This field is required."]})
        try:
            return get_tenant(self.access, str(slug), self.write_capability)
        except Http404:
            raise exceptions.NotFound("No such tenant.") from None
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from None


class TenantScopedCreateMixin(TenantScopedMixin):
    """Creation in the tenant the body names. A separate mixin: a read-only viewset must not
    gain a `create`, or the router would route POST to it."""

    def create(self, request, *args, **kwargs):
        # Access to the tenant is decided before the body is validated: 404/403 before 400.
        self.body_tenant = self.tenant_from_body()
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.save(tenant=self.body_tenant)


class TenantScopedViewSet(TenantScopedCreateMixin, viewsets.ModelViewSet):
    pass


class TenantScopedReadOnlyViewSet(TenantScopedMixin, viewsets.ReadOnlyModelViewSet):
    pass


def drf_require(access, tenant_id, capability):
    try:
        require(access, tenant_id, capability)
    except Http404:
        raise exceptions.NotFound() from None
    except DjangoPermissionDenied as exc:
        raise exceptions.PermissionDenied(str(exc)) from None
