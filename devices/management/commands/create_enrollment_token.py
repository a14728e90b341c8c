"""Create an enrollment token for a tenant and print it (it is shown only once)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from devices.models import DeviceGroup, EnrollmentToken
from portal.db_scope import tenant_scope
from tenants import audit
from tenants.models import Site, Tenant


class Command(BaseCommand):
    help = "Create an enrollment token for a tenant; prints the token."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--name", default="Created on the command line")
        parser.add_argument("--expires-in-days", type=int, default=7, help="0 for no expiry.")
        parser.add_argument("--max-uses", type=int, default=None)
        parser.add_argument("--site", help="Site name: enrolled devices are placed there.")
        parser.add_argument("--group", action="append", default=[], help="Explicit group name to join (repeatable).")
        parser.add_argument("--tag", action="append", default=[], help="Tag to give enrolled devices (repeatable).")

    def handle(self, *args, **options):
        from portal.db_scope import system_scope

        with system_scope():
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        with tenant_scope([tenant.pk]), audit.acting_as(audit.Actor(None, "create_enrollment_token", "cli")):
            site = None
            if options["site"]:
                site = Site.objects.in_tenant(tenant).filter(name=options["site"]).first()
                if site is None:
                    raise CommandError(f"{tenant.name} has no site named {options['site']!r}.")
            groups = []
            for name in options["group"]:
                group = DeviceGroup.objects.in_tenant(tenant).filter(name=name, kind="explicit").first()
                if group is None:
                    raise CommandError(f"{tenant.name} has no explicit group named {name!r}.")
                groups.append(group)
            days = options["expires_in_days"]
            token, raw = EnrollmentToken.issue(
                tenant,
                options["name"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
                max_uses=options["max_uses"],
                site=site,
                tags=options["tag"],
            )
            token.groups.set(groups)
        self.stdout.write(raw)
