from tenants.models.audit import AuditEntry
from tenants.models.tenancy import Membership, Site, Tenant, TenantOwnedModel, TenantQuerySet
from tenants.models.tokens import ApiToken
from tenants.models.users import User

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Membership",
    "Site",
    "Tenant",
    "TenantOwnedModel",
    "TenantQuerySet",
    "User",
]
