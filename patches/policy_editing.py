"""Finding, saving and deleting the policy of one scope, and what that scope inherits.

The editor pages and the API share these, so a policy is always stored with validated
settings, only the keys its level sets, and a fresh `updated_at`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from patches.models import PatchPolicy, Scope
from patches.policy import Chain, chains_for_devices, validate_settings

__all__ = ["delete_policy", "inherited_chain", "policy_at", "save_policy", "target_fields", "tenant_chain"]


def target_fields(scope: str, tenant=None, target=None) -> dict:
    """The columns that name a scope's target: {"tenant": t, "site": s} for a site, {} for global."""
    if scope == Scope.GLOBAL:
        return {}
    fields = {"tenant": tenant}
    if scope != Scope.TENANT:
        fields[scope] = target
    return fields


def _lookup(scope: str, tenant=None, target=None) -> dict:
    lookup = {"scope": scope, "tenant": None, "site": None, "group": None, "device": None}
    lookup.update(target_fields(scope, tenant, target))
    return lookup


def policy_at(scope: str, tenant=None, target=None) -> PatchPolicy | None:
    related = PatchPolicy.objects.select_related("tenant", "site", "group", "device")
    return related.filter(**_lookup(scope, tenant, target)).first()


def tenant_chain(tenant) -> Chain:
    """What a tenant's devices get before sites, groups and devices say anything."""
    return Chain(tenant.pk, (policy_at(Scope.GLOBAL), policy_at(Scope.TENANT, tenant), None, None, None))


def inherited_chain(scope: str, tenant=None, target=None) -> Chain:
    """The levels above a scope, whose values it shows as inherited.

    A group spans sites, so a group's page inherits from global and the tenant; a device's
    page from its real chain (its site and its winning group policy) without its own level.
    """
    if scope == Scope.GLOBAL:
        return Chain(0, (None, None, None, None, None))
    if scope == Scope.TENANT:
        return Chain(tenant.pk, (policy_at(Scope.GLOBAL), None, None, None, None))
    if scope == Scope.DEVICE:
        chain = chains_for_devices([target.pk]).get(target.pk)
        if chain is not None:
            return Chain(chain.tenant_id, (*chain.policies[:4], None))
        # A retired device has no chain of its own; show what its site would give it.
        site = policy_at(Scope.SITE, tenant, target.site) if target.site_id else None
        return Chain(tenant.pk, (*tenant_chain(tenant).policies[:2], site, None, None))
    return tenant_chain(tenant)


@transaction.atomic
def save_policy(scope: str, settings: dict, *, tenant=None, target=None, priority: int | None = None, now=None):
    """Create or replace the settings of one scope's policy (validated; ValidationError names the key)."""
    clean = validate_settings(settings)
    lookup = _lookup(scope, tenant, target)
    policy = PatchPolicy.objects.select_for_update().filter(**lookup).first() or PatchPolicy(**lookup)
    policy.settings = clean
    if scope == Scope.GROUP and priority is not None:
        policy.priority = priority
    policy.updated_at = now or timezone.now()
    policy.save()
    return policy


def delete_policy(policy: PatchPolicy) -> None:
    """The scope inherits everything again (the audit log keeps what it said)."""
    policy.delete()
