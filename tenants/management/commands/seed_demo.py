"""Create the demo MSP: staff, three client tenants with sites, and their people.

Idempotent: running it again changes nothing that exists. Demo mode only, because it
sets well-known passwords and prints TOTP secrets.
"""

from __future__ import annotations

import base64
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.db_scope import system_scope
from tenants import audit
from tenants.models import Membership, Site, Tenant, User
from tenants.roles import MspRole, TenantRole

DEMO_PASSWORD = "patch-demo-2026"  # noqa: S105 - the published demo password, DEMO_MODE only

STAFF = [
    ("admin@msp.example", "Alex Admin", MspRole.ADMIN, True),
    ("tech@msp.example", "Toni Technician", MspRole.TECHNICIAN, True),
]

TENANTS = [
    {
        "name": "Northwind Dental",
        "slug": "northwind",
        "time_zone": "Europe/Berlin",
        "contacts": ["it@northwind.example"],
        "sites": [
            ("Berlin practice", "Friedrichstraße 12, 10117 Berlin"),
            ("Potsdam practice", "Brandenburger Str. 3"),
        ],
    },
    {
        "name": "Contoso Legal",
        "slug": "contoso",
        "time_zone": "America/New_York",
        "contacts": ["office@contoso.example"],
        "sites": [("Manhattan office", "350 5th Ave, New York, NY"), ("Newark office", "1 Gateway Center, Newark, NJ")],
    },
    {
        "name": "Fabrikam Logistics",
        "slug": "fabrikam",
        "time_zone": "Australia/Sydney",
        "contacts": ["ops@fabrikam.example"],
        "sites": [("Sydney depot", "Botany Rd, Sydney NSW"), ("Melbourne depot", "Footscray Rd, Melbourne VIC")],
    },
]


class Command(BaseCommand):
    help = "Load the demo data (demo mode only). Prints the demo logins, with --json as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the logins as JSON.")

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("seed_demo sets known passwords; it runs only with DEMO_MODE=true.")
        with system_scope(), audit.acting_as(audit.Actor(None, "seed_demo", "cli")):
            logins = self._seed()
        if options["json"]:
            self.stdout.write(json.dumps(logins, indent=2))
        else:
            self._print(logins)

    def _seed(self):
        logins = []
        for email, name, role, all_tenants in STAFF:
            user = self._user(email, name, role, all_tenants)
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is None:
                device = TOTPDevice.objects.create(user=user, name="Demo authenticator", confirmed=True)
            secret = base64.b32encode(device.bin_key).decode().rstrip("=")
            logins.append({"email": email, "password": DEMO_PASSWORD, "role": role.label, "totp_secret": secret})

        for spec in TENANTS:
            tenant, _ = Tenant.objects.get_or_create(
                slug=spec["slug"],
                defaults={"name": spec["name"], "time_zone": spec["time_zone"], "contact_emails": spec["contacts"]},
            )
            for site_name, address in spec["sites"]:
                Site.objects.get_or_create(tenant=tenant, name=site_name, defaults={"address": address})
            domain = f"{spec['slug']}.example"
            for local, role in (("owner", TenantRole.CLIENT_OWNER), ("viewer", TenantRole.CLIENT_VIEWER)):
                email = f"{local}@{domain}"
                user = self._user(email, f"{spec['name']} {local}", MspRole.NONE, False)
                Membership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": role})
                logins.append({"email": email, "password": DEMO_PASSWORD, "role": f"{role.label}, {tenant.name}"})
        return logins

    @staticmethod
    def _user(email, name, role, all_tenants):
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email, password=DEMO_PASSWORD, full_name=name, msp_role=role, all_tenants=all_tenants
            )
        return user

    def _print(self, logins):
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        for login in logins:
            line = f"  {login['email']:<26} {login['role']}"
            if "totp_secret" in login:
                line += f"\n  {'':<26} TOTP secret {login['totp_secret']}  (current code: make totp)"
            self.stdout.write(line)
