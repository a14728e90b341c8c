from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from timezone_field import TimeZoneField

from tenants.models.audit import AuditedModel
from tenants.roles import TenantRole

__all__ = ["Membership", "Site", "Tenant", "TenantOwnedModel", "TenantQuerySet"]


class TenantQuerySet(models.QuerySet):
    """The one way to read tenant-owned rows: `visible_to(access)`."""

    def visible_to(self, access, capability: str = "tenant.view"):
        """Rows of the tenants where `access` holds `capability` (by default: may see)."""
        if access.all_tenants:
            return self if access.can_anywhere(capability) else self.none()
        allowed = [t for t in access.tenant_ids if access.can(t, capability)]
        return self.filter(**{f"{self.model.tenant_field}__in": allowed})

    def in_tenant(self, tenant):
        return self.filter(**{self.model.tenant_field: tenant.pk})


class Tenant(AuditedModel):
    """A client business of the MSP."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    time_zone = TimeZoneField(default="UTC", use_pytz=False)
    contact_emails = ArrayField(models.EmailField(), default=list, blank=True)
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Inactive tenants' users cannot log in and their agents are refused."
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    tenant_field = "id"
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tenant(self) -> Tenant:
        return self

    @property
    def tenant_id(self) -> int:
        return self.pk

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class TenantOwnedModel(AuditedModel):
    """Base for rows that belong to one tenant; row-level security guards their tables."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    tenant_field = "tenant_id"
    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Site(TenantOwnedModel):
    """A location of a tenant (office, branch, data centre)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    time_zone = TimeZoneField(null=True, blank=True, use_pytz=False, help_text="Defaults to the tenant's.")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["tenant_id", "name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="site_name_unique_per_tenant")]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_time_zone(self):
        return self.time_zone or self.tenant.time_zone


class Membership(TenantOwnedModel):
    """Grants a user a role in one tenant (client users, and technicians on an assigned list)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=TenantRole.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tenant_id", "user_id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} as {self.get_role_display()} in {self.tenant}"
