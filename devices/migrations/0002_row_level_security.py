from django.db import migrations

from portal.rls import enable_tenant_rls


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_initial")]

    operations = [
        enable_tenant_rls("devices_device", per_row=True),
        enable_tenant_rls("devices_devicegroup", per_row=True),
        enable_tenant_rls("devices_devicegroupmember", per_row=True),
        enable_tenant_rls("devices_enrollmenttoken", per_row=True),
        enable_tenant_rls("devices_devicesoftware", per_row=True),
        enable_tenant_rls("devices_deviceupdate", per_row=True),
        enable_tenant_rls("devices_devicecheckin", per_row=True),
    ]
