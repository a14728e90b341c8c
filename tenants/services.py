"""Operations on tenants, memberships and users that views, the API and commands share."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from tenants import audit
from tenants.models import Membership, Tenant, User
from tenants.roles import MspRole

__all__ = ["add_member", "invite_user", "set_tenant_state"]


class TenantState:
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    ARCHIVE = "archive"
    UNARCHIVE = "unarchive"
    CHOICES = (ACTIVATE, DEACTIVATE, ARCHIVE, UNARCHIVE)


def set_tenant_state(tenant: Tenant, state: str, now=None) -> Tenant:
    """Deactivate (users and agents refused), reactivate, archive or unarchive a tenant.

    Archiving also deactivates; the tenant and its audit history stay readable to MSP staff.
    """
    now = now or timezone.now()
    if state == TenantState.ACTIVATE:
        tenant.is_active = True
    elif state == TenantState.DEACTIVATE:
        tenant.is_active = False
    elif state == TenantState.ARCHIVE:
        tenant.is_active, tenant.archived_at = False, tenant.archived_at or now
    elif state == TenantState.UNARCHIVE:
        tenant.archived_at = None
    else:
        raise ValueError(f"unknown tenant state {state!r}")
    tenant.save(update_fields=["is_active", "archived_at"])
    from tenants.signals import tenant_state_changed

    tenant_state_changed.send(sender=Tenant, tenant=tenant, state=state)
    return tenant


@transaction.atomic
def add_member(
    tenant: Tenant, email: str, role: str, full_name: str = "", user: User | None = None, request=None
) -> Membership:
    """Give a person a role in a tenant, creating and inviting a client user if new."""
    if user is None:
        user = invite_user(User(email=email, full_name=full_name, msp_role=MspRole.NONE), tenant)
    return Membership.objects.create(tenant=tenant, user=user, role=role)


def invite_user(user: User, tenant: Tenant | None = None) -> User:
    """Save a new account without a password and e-mail it a link to choose one."""
    from tenants.tasks import send_invitation

    user.set_unusable_password()
    user.save()
    transaction.on_commit(lambda: send_invitation.delay(user.pk, tenant_id=tenant.pk if tenant else None))
    return user


def deactivate_user(user: User) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit.record("deactivate", user, message="account deactivated")
