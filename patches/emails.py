"""E-mails about approvals: one function per message, with subject, text and HTML templates."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from tenants.emails import _send
from tenants.roles import TenantRole

__all__ = ["client_owner_addresses", "send_sign_off_request"]


def client_owner_addresses(tenant) -> list[str]:
    from tenants.models import Membership

    return sorted(
        Membership.objects.filter(tenant=tenant, role=TenantRole.CLIENT_OWNER, user__is_active=True).values_list(
            "user__email", flat=True
        )
    )


def send_sign_off_request(tenant, approvals) -> int:
    """Ask the client owners to approve or decline; returns how many were asked."""
    recipients = client_owner_addresses(tenant)
    if not recipients:
        return 0
    url = settings.SITE_URL + reverse("sign_off_queue", kwargs={"tenant_slug": tenant.slug})
    _send(recipients, "sign_off_request", {"tenant": tenant, "approvals": approvals, "url": url})
    return len(recipients)
