"""Template context for the navigation: the tenant switcher and the current tenant."""

from __future__ import annotations

from django.urls import reverse

from tenants.access import ANONYMOUS
from tenants.extensions import NAV_ITEMS, TENANT_TABS


def navigation(request):
    access = getattr(request, "access", ANONYMOUS)
    if not access.user_id:
        return {}
    from portal.db_scope import db_scope
    from tenants.models import Tenant

    # Tenant pages narrow the database scope to one tenant; the switcher needs all of the user's.
    with db_scope(access.scope):
        tenants = list(Tenant.objects.visible_to(access).filter(archived_at__isnull=True).only("name", "slug"))
    resolver = getattr(request, "resolver_match", None)
    current_slug = resolver.kwargs.get("tenant_slug") if resolver else None
    return {
        "access": access,
        "nav_tenants": tenants,
        "current_tenant_slug": current_slug,
        "nav_items": [
            {"label": item.label, "url": reverse(item.url_name)}
            for item in NAV_ITEMS
            if access.can_anywhere(item.capability) and (access.is_staff or not item.staff_only)
        ],
        "tenant_tabs": _tenant_tabs(access, current_slug, tenants),
    }


def _tenant_tabs(access, slug, tenants):
    tenant = next((t for t in tenants if t.slug == slug), None)
    if tenant is None:
        return []
    return [
        {"label": tab.label, "url_name": tab.url_name, "names": tab.names or (tab.url_name,)}
        for tab in TENANT_TABS
        if access.can(tenant.pk, tab.capability)
    ]
