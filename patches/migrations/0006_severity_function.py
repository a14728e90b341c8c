from django.db import migrations

from patches.risk import SQL_FUNCTIONS


class Migration(migrations.Migration):
    dependencies = [("patches", "0005_finding_fewer_indexes")]

    # CREATE OR REPLACE: brings every scoring function to its current definition.
    operations = [migrations.RunSQL(SQL_FUNCTIONS, migrations.RunSQL.noop)]
