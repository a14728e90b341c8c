"""Where a policy or an approval applies: everywhere, a tenant, a site, a device group, a device."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from tenants.models import TenantQuerySet
from tenants.models.audit import AuditedModel

__all__ = ["SPECIFICITY", "Scope", "ScopedModel", "ScopedQuerySet", "scope_constraints"]


class Scope(models.TextChoices):
    GLOBAL = "global", "All tenants"
    TENANT = "tenant", "Tenant"
    SITE = "site", "Site"
    GROUP = "group", "Device group"
    DEVICE = "device", "Device"


# Most specific first: the order in which a decision or a value is looked for.
SPECIFICITY = [Scope.DEVICE, Scope.GROUP, Scope.SITE, Scope.TENANT, Scope.GLOBAL]


class ScopedQuerySet(TenantQuerySet):
    """Tenant rows as usual, plus the shared rows without a tenant (global scope)."""

    def visible_to(self, access, capability: str = "tenant.view"):
        if access.all_tenants:
            return self if access.can_anywhere(capability) else self.none()
        allowed = [t for t in access.tenant_ids if access.can(t, capability)]
        shared = Q(tenant__isnull=True) if allowed else Q(pk__in=[])
        return self.filter(shared | Q(tenant_id__in=allowed))


class ScopedModel(AuditedModel):
    """A row that applies at one scope: the scope column and the one target it names.

    The tenant is set for every scope below global, so tenant scoping and row-level
    security treat these rows like any tenant's; global rows have no tenant.
    """

    scope = models.CharField(max_length=10, choices=Scope.choices)
    tenant = models.ForeignKey("tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey("tenants.Site", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("devices.DeviceGroup", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey("devices.Device", null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    tenant_field = "tenant_id"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def target(self):
        return {
            Scope.GLOBAL: None,
            Scope.TENANT: self.tenant,
            Scope.SITE: self.site,
            Scope.GROUP: self.group,
            Scope.DEVICE: self.device,
        }[self.scope]

    @property
    def scope_label(self) -> str:
        """'All tenants', 'Tenant Contoso', 'Device group Servers (Contoso)'."""
        if self.scope == Scope.GLOBAL:
            return Scope.GLOBAL.label
        label = f"{Scope(self.scope).label} {self.target}"
        return label if self.scope == Scope.TENANT else f"{label} ({self.tenant})"


def scope_constraints(prefix: str) -> list[models.CheckConstraint]:
    """Each scope names exactly its own target (and the tenant, below global)."""
    none = Q(tenant__isnull=True, site__isnull=True, group__isnull=True, device__isnull=True)
    return [
        models.CheckConstraint(
            name=f"{prefix}_scope_target",
            condition=(Q(scope=Scope.GLOBAL) & none)
            | Q(scope=Scope.TENANT, tenant__isnull=False, site__isnull=True, group__isnull=True, device__isnull=True)
            | Q(scope=Scope.SITE, tenant__isnull=False, site__isnull=False, group__isnull=True, device__isnull=True)
            | Q(scope=Scope.GROUP, tenant__isnull=False, site__isnull=True, group__isnull=False, device__isnull=True)
            | Q(scope=Scope.DEVICE, tenant__isnull=False, site__isnull=True, group__isnull=True, device__isnull=False),
        )
    ]
