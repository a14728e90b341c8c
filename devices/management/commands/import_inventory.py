"""Import a machine's inventory from a file, for air-gapped sites without an agent connection.

Debian/Ubuntu (`--os Debian:12`): the output of `dpkg-query -W` with the format
    ${db:Status-Abbrev}\t${binary:Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n
(only `ii` lines are installed packages; `rc` and other states are skipped).
RHEL family (`--os 'Red Hat:9'`): the output of `rpm -qa --qf` with the format
    %{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n
"""

from __future__ import annotations

import secrets

from django.core.management.base import BaseCommand, CommandError

from devices.ecosystem import ecosystem_key
from devices.inventory import apply_inventory, inventory_hash
from devices.inventory_files import ParseError, parse_dpkg_query, parse_rpm_qa
from devices.models import Device
from portal.db_scope import system_scope, tenant_scope
from tenants import audit
from tenants.models import Tenant
from tenants.models.tokens import hash_token

# --os value -> (os-release ID, version, inventory format)
OS_CHOICES = {
    "Debian": ("debian", "dpkg"),
    "Ubuntu": ("ubuntu", "dpkg"),
    "Red Hat": ("rhel", "rpm"),
    "AlmaLinux": ("almalinux", "rpm"),
    "Rocky Linux": ("rocky", "rpm"),
}


def parse_os(value: str) -> tuple[str, str, str]:
    """'Debian:12' -> ('debian', '12', 'dpkg'); 'Ubuntu:22.04:LTS' -> ('ubuntu', '22.04', 'dpkg')."""
    name, _, rest = value.partition(":")
    if name not in OS_CHOICES or not rest:
        raise CommandError(f"--os must be one of {', '.join(k + ':<release>' for k in OS_CHOICES)}; got {value!r}")
    os_id, fmt = OS_CHOICES[name]
    return os_id, rest.split(":")[0], fmt


class Command(BaseCommand):
    help = "Import an inventory file (dpkg-query or rpm -qa output) for one machine of a tenant."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--hostname", required=True)
        parser.add_argument("--os", required=True, help="e.g. Debian:12, Ubuntu:22.04:LTS, 'Red Hat:9'.")
        parser.add_argument("--arch", default="")

    def handle(self, *args, **options):
        os_id, version, fmt = parse_os(options["os"])
        try:
            with open(options["file"], encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}") from exc
        try:
            packages = parse_dpkg_query(text) if fmt == "dpkg" else parse_rpm_qa(text)
        except ParseError as exc:
            raise CommandError(str(exc)) from exc

        with system_scope():
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        with tenant_scope([tenant.pk]), audit.acting_as(audit.Actor(None, "import_inventory", "cli")):
            device = Device.objects.in_tenant(tenant).active().filter(hostname=options["hostname"]).first()
            if device is None:
                # An imported machine has no agent: it gets a token nobody knows.
                device = Device.objects.create(
                    tenant=tenant,
                    hostname=options["hostname"],
                    os_family="linux",
                    os_id=os_id,
                    os_version=version,
                    arch=options["arch"],
                    token_hash=hash_token(secrets.token_urlsafe(32)),
                    ecosystem=ecosystem_key("linux", os_id, version),
                )
            result = apply_inventory(device, fmt, packages, inventory_hash(fmt, packages))
        self.stdout.write(
            f"{device.hostname}: {result.status}, {result.total} packages "
            f"(+{result.added} -{result.removed} ~{result.changed})"
        )
