"""System checks for configuration mistakes that would silently weaken security."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning, register


@register("security", deploy=False)
def app_role_is_not_schema_owner(app_configs, **kwargs):
    if settings.MIGRATION_DATABASE.get("USER") == settings.APP_DATABASE_USER:
        return [
            Warning(
                "DATABASE_URL and MIGRATION_DATABASE_URL use the same role, which owns the tables and so "
                "bypasses row-level security.",
                hint="Give the running app its own ordinary role (scripts/setup.sh database creates one).",
                id="portal.W001",
            )
        ]
    return []
