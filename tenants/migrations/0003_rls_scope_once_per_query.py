from django.db import migrations

from portal.rls import SCOPE_FUNCTIONS_SQL, rescope_tenant_rls

AUDIT = """
CASE WHEN tenant_id IS NULL THEN (SELECT portal_all_tenants())
     ELSE (SELECT portal_all_tenants()) OR tenant_id = ANY ((SELECT portal_tenant_ids())::bigint[]) END
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0002_row_level_security")]

    operations = [
        migrations.RunSQL(
            SCOPE_FUNCTIONS_SQL, "DROP FUNCTION portal_all_tenants(); DROP FUNCTION portal_tenant_ids();"
        ),
        rescope_tenant_rls("tenants_tenant", column="id"),
        rescope_tenant_rls("tenants_site"),
        rescope_tenant_rls("tenants_membership"),
        migrations.RunSQL(
            f"ALTER POLICY tenant_isolation ON tenants_auditentry USING ({AUDIT}) WITH CHECK ({AUDIT});",
            migrations.RunSQL.noop,
        ),
    ]
