"""Hooks through which higher apps (devices, patches, ...) add to tenants' pages.

Dependencies point one way: tenants never imports those apps; they register here
from their AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["DETAIL_PANELS", "NAV_ITEMS", "OVERVIEW_ANNOTATIONS", "OVERVIEW_COLUMNS", "TENANT_TABS", "NavItem", "Tab"]


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    # Shown when the user holds this capability in some tenant.
    capability: str = "tenant.view"
    staff_only: bool = False


@dataclass(frozen=True)
class Tab:
    label: str
    url_name: str
    capability: str = "tenant.view"
    # URL names that highlight this tab.
    names: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class OverviewColumn:
    label: str
    template: str


# Top navigation entries.
NAV_ITEMS: list[NavItem] = []
# Tabs on a tenant's pages.
TENANT_TABS: list[Tab] = []
# Callables (queryset) -> queryset annotating the MSP overview's tenants.
OVERVIEW_ANNOTATIONS: list[Callable] = []
OVERVIEW_COLUMNS: list[OverviewColumn] = []
# Callables (request, tenant) -> {"template": ..., **context} rendered on the tenant summary.
DETAIL_PANELS: list[Callable] = []
