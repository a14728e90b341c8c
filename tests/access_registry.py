"""Collects every app's route table for the "every route is tested" check."""

from __future__ import annotations

import importlib

# Modules that define ROUTES; each app's access test adds itself here.
ROUTE_MODULES = [
    "tests.tenants.test_access_matrix",
    "tests.devices.test_access_matrix",
    "tests.patches.test_access_matrix",
    "tests.patches.test_approval_access_matrix",
    "tests.patches.test_policy_access_matrix",
    "tests.deployments.test_alert_access_matrix",
    "tests.deployments.test_agent_access_matrix",
    "tests.deployments.test_deployment_access_matrix",
    "tests.reports.test_access_matrix",
]


def all_exempt_names():
    names = set()
    for module in ROUTE_MODULES:
        names |= getattr(importlib.import_module(module), "NOT_TENANT_SCOPED", set())
    return names


def all_route_tables():
    return [importlib.import_module(name).ROUTES for name in ROUTE_MODULES]
