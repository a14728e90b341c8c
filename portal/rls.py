"""Migration helpers for PostgreSQL row-level security on tenant-owned tables.

Use `enable_tenant_rls("app_model")` in the migration that creates a tenant-owned table.
`tests/tenants/test_rls.py` fails if a table with a tenant_id column lacks it.

The policy reads the scope through `(SELECT portal_all_tenants())` and
`(SELECT portal_tenant_ids())`: written as scalar subqueries, PostgreSQL evaluates them
once per query (an InitPlan) instead of once per row, which matters when matching scans
fifteen million installed-software rows.
"""

from __future__ import annotations

from django.db import migrations

__all__ = [
    "SCOPE_FUNCTIONS_SQL",
    "VISIBLE_FUNCTION_SQL",
    "enable_tenant_rls",
    "policy_expression",
    "rescope_tenant_rls",
]

# The first version, per row; kept because migrations up to the rescoping ones create it.
VISIBLE_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION portal_tenant_visible(tenant bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('portal.all_tenants', true), '') = 'on'
        OR tenant = ANY (string_to_array(nullif(current_setting('portal.tenant_ids', true), ''), ',')::bigint[])
$$;
"""

SCOPE_FUNCTIONS_SQL = """
CREATE OR REPLACE FUNCTION portal_all_tenants() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('portal.all_tenants', true), '') = 'on'
$$;
CREATE OR REPLACE FUNCTION portal_tenant_ids() RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_to_array(nullif(current_setting('portal.tenant_ids', true), ''), ',')::bigint[],
                    '{}'::bigint[])
$$;
"""


def policy_expression(column: str = "tenant_id") -> str:
    # The cast makes ANY take the subquery's one value as an array, not as a set of rows.
    return f"((SELECT portal_all_tenants()) OR {column} = ANY ((SELECT portal_tenant_ids())::bigint[]))"


def enable_tenant_rls(
    table: str, column: str = "tenant_id", *, per_row: bool = False, shared_when_null: bool = False
) -> migrations.RunSQL:
    # per_row: the expression of the first migrations, which later ones rescope.
    expression = f"portal_tenant_visible({column})" if per_row else policy_expression(column)
    # shared_when_null: rows without a tenant (global policies, approvals) are read by every
    # tenant's scope but written only in the all-tenants scope.
    visible = f"({column} IS NULL OR {expression})" if shared_when_null else expression
    return migrations.RunSQL(
        sql=f"""
            ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
            CREATE POLICY tenant_isolation ON {table} USING ({visible}) WITH CHECK ({expression});
        """,
        reverse_sql=f"""
            DROP POLICY IF EXISTS tenant_isolation ON {table};
            ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;
        """,
    )


def rescope_tenant_rls(table: str, column: str = "tenant_id") -> migrations.RunSQL:
    """Move an existing policy to the once-per-query scope expression."""
    expression = policy_expression(column)
    old = f"portal_tenant_visible({column})"
    return migrations.RunSQL(
        sql=f"ALTER POLICY tenant_isolation ON {table} USING ({expression}) WITH CHECK ({expression});",
        reverse_sql=f"ALTER POLICY tenant_isolation ON {table} USING ({old}) WITH CHECK ({old});",
    )
