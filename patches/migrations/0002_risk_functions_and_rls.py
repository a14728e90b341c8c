from django.db import migrations

from patches.risk import SQL_FUNCTIONS
from portal.rls import enable_tenant_rls


class Migration(migrations.Migration):
    dependencies = [("patches", "0001_initial")]

    operations = [
        migrations.RunSQL(
            SQL_FUNCTIONS,
            "DROP FUNCTION IF EXISTS patches_ssvc_label(boolean, float8, numeric, text, text);"
            "DROP FUNCTION IF EXISTS patches_risk_score(boolean, date, boolean, float8, numeric, text, text,"
            " timestamptz, timestamptz);"
            "DROP FUNCTION IF EXISTS patches_effective_cvss(numeric, text);",
        ),
        enable_tenant_rls("patches_finding", per_row=True),
        enable_tenant_rls("patches_compliancesnapshot", per_row=True),
    ]
