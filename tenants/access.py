"""Who may see and do what: the single scoping mechanism for views, API, forms and tasks.

`Access` is computed once per request (or per token, per task) from the user's MSP
role and memberships. Everything that reads tenant data goes through it:

* `Model.objects.visible_to(access)`: the rows of the tenants the user may see;
* `get_tenant(access, slug, capability)`: 404 if the tenant is not visible, 403 if the
  user's role there lacks the capability;
* `get_object(access, queryset, capability, **lookup)`: the same for one object.

PostgreSQL row-level security enforces the same scope underneath (`access.scope`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.http import Http404

from portal.db_scope import Scope, system_scope
from tenants.roles import MspRole, Role, role_can

__all__ = ["ANONYMOUS", "Access", "access_for", "get_object", "get_tenant", "require"]


@dataclass(frozen=True)
class Access:
    user_id: int | None
    msp_role: str = MspRole.NONE
    all_tenants: bool = False
    # tenant id -> role, for tenants reached through memberships (or, for staff, every tenant).
    roles: dict[int, str] = field(default_factory=dict)

    @property
    def is_staff(self) -> bool:
        return self.msp_role in (MspRole.ADMIN, MspRole.TECHNICIAN)

    @property
    def is_admin(self) -> bool:
        return self.msp_role == MspRole.ADMIN

    @property
    def tenant_ids(self) -> frozenset[int]:
        return frozenset(self.roles)

    @property
    def scope(self) -> Scope:
        return Scope.system() if self.all_tenants else Scope.of(self.roles)

    def role_in(self, tenant_id: int) -> str | None:
        if self.msp_role == MspRole.ADMIN:
            return Role.MSP_ADMIN
        if self.msp_role == MspRole.TECHNICIAN and self.all_tenants:
            return Role.TECHNICIAN
        return self.roles.get(tenant_id)

    def can_see(self, tenant_id: int) -> bool:
        return self.role_in(tenant_id) is not None

    def can(self, tenant_id: int, capability: str) -> bool:
        return role_can(self.role_in(tenant_id), capability)

    def can_anywhere(self, capability: str) -> bool:
        """For pages that span tenants: does any visible tenant grant the capability?"""
        if self.all_tenants:
            return role_can(self.role_in(0), capability)
        return any(role_can(role, capability) for role in self.roles.values())


ANONYMOUS = Access(user_id=None)


def access_for(user) -> Access:
    """Compute a user's access. Client users lose tenants that are deactivated."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    if user.msp_role == MspRole.ADMIN:
        return Access(user.pk, MspRole.ADMIN, all_tenants=True)
    if user.msp_role == MspRole.TECHNICIAN and user.all_tenants:
        return Access(user.pk, MspRole.TECHNICIAN, all_tenants=True)

    from tenants.models import Membership

    with system_scope():
        rows = Membership.objects.filter(user=user, tenant__archived_at__isnull=True).values_list(
            "tenant_id", "role", "tenant__is_active"
        )
        roles = {}
        for tenant_id, role, tenant_active in rows:
            # Staff keep access to inactive tenants (to reactivate them); client users do not.
            if user.msp_role == MspRole.TECHNICIAN:
                roles[tenant_id] = Role.TECHNICIAN
            elif tenant_active:
                # A client user never gets a staff role, whatever a membership row says.
                roles[tenant_id] = role if role in (Role.CLIENT_OWNER, Role.CLIENT_VIEWER) else Role.CLIENT_VIEWER
    return Access(user.pk, user.msp_role, all_tenants=False, roles=roles)


def require(access: Access, tenant_id: int, capability: str) -> None:
    if not access.can_see(tenant_id):
        raise Http404("No such tenant")
    if not access.can(tenant_id, capability):
        raise PermissionDenied(f"Your role does not allow {capability}")


def get_tenant(access: Access, slug: str, capability: str = "tenant.view"):
    from tenants.models import Tenant

    tenant = Tenant.objects.visible_to(access).filter(slug=slug).first()
    if tenant is None or not access.can_see(tenant.pk):
        raise Http404("No such tenant")
    require(access, tenant.pk, capability)
    return tenant


def get_object(access: Access, queryset, capability: str = "tenant.view", **lookup):
    obj = queryset.visible_to(access).filter(**lookup).first()
    if obj is None:
        raise Http404("Not found")
    require(access, obj.tenant_id, capability)
    return obj
