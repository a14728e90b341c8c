from django.db import migrations

from portal.rls import VISIBLE_FUNCTION_SQL, enable_tenant_rls

AUDIT_APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION portal_refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_append_only
    BEFORE UPDATE OR DELETE ON tenants_auditentry
    FOR EACH ROW EXECUTE FUNCTION portal_refuse_audit_change();
"""

# Audit rows without a tenant (logins, MSP-wide settings) are visible only in the MSP-wide scope.
AUDIT_RLS_SQL = """
ALTER TABLE tenants_auditentry ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants_auditentry
    USING (CASE WHEN tenant_id IS NULL
                THEN coalesce(current_setting('portal.all_tenants', true), '') = 'on'
                ELSE portal_tenant_visible(tenant_id) END)
    WITH CHECK (CASE WHEN tenant_id IS NULL
                THEN coalesce(current_setting('portal.all_tenants', true), '') = 'on'
                ELSE portal_tenant_visible(tenant_id) END);
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [
        migrations.RunSQL(VISIBLE_FUNCTION_SQL, "DROP FUNCTION IF EXISTS portal_tenant_visible(bigint)"),
        enable_tenant_rls("tenants_tenant", column="id", per_row=True),
        enable_tenant_rls("tenants_site", per_row=True),
        enable_tenant_rls("tenants_membership", per_row=True),
        migrations.RunSQL(AUDIT_RLS_SQL, "DROP POLICY tenant_isolation ON tenants_auditentry"),
        migrations.RunSQL(
            AUDIT_APPEND_ONLY_SQL,
            "DROP TRIGGER audit_append_only ON tenants_auditentry; DROP FUNCTION portal_refuse_audit_change()",
        ),
    ]
