"""Privileges of the app's database role, re-applied after every migration.

The schema owner (MIGRATION_DATABASE_URL) owns every table; the role the app runs as
(DATABASE_URL) gets plain data access, is subject to row-level security, and may only
read and append to the audit log.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connections

APPEND_ONLY_TABLES = ("tenants_auditentry",)


def app_role() -> str:
    return settings.APP_DATABASE_USER


def grant_app_role(using: str = "default", **kwargs) -> None:
    connection = connections[using]
    role = app_role()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (current,) = cursor.fetchone()
        # Only the schema owner grants; post_migrate also fires on `flush`, run as the app.
        if current != settings.MIGRATION_DATABASE["USER"] or not role or role == current:
            return
        quoted = connection.ops.quote_name(role)
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}")
        cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
        cursor.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {quoted}")
        for table in APPEND_ONLY_TABLES:
            cursor.execute(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = %s", [table]
            )
            if cursor.fetchone():
                cursor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {quoted}")
