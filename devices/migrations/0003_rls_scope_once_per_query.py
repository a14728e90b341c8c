from django.db import migrations

from portal.rls import rescope_tenant_rls


class Migration(migrations.Migration):
    dependencies = [("devices", "0002_row_level_security"), ("tenants", "0003_rls_scope_once_per_query")]

    operations = [
        rescope_tenant_rls(table)
        for table in (
            "devices_device",
            "devices_devicegroup",
            "devices_devicegroupmember",
            "devices_enrollmenttoken",
            "devices_devicesoftware",
            "devices_deviceupdate",
            "devices_devicecheckin",
        )
    ]
