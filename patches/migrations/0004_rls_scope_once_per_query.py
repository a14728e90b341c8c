from django.db import migrations

from portal.rls import rescope_tenant_rls


class Migration(migrations.Migration):
    dependencies = [("patches", "0003_finding_finding_cves"), ("tenants", "0003_rls_scope_once_per_query")]

    operations = [rescope_tenant_rls("patches_finding"), rescope_tenant_rls("patches_compliancesnapshot")]
