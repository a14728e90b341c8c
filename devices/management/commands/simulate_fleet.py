"""Run N simulated agents over real HTTP against the agent API (demo data and benchmarks).

The simulated devices enroll with a fresh enrollment token of the tenant, check in and
upload their inventory and offered updates, exactly as agents do; afterwards they are
marked as simulated so the portal shows them as such.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from devices.models import Device, EnrollmentToken
from devices.simulator import fleet
from portal.db_scope import system_scope, tenant_scope
from tenants import audit
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Run simulated agents for a tenant against the agent API over HTTP."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--devices", type=int, required=True)
        parser.add_argument("--server", default=settings.SITE_URL, help="Portal URL (default: SITE_URL).")
        parser.add_argument("--mix", default="debian12", help="Comma-separated profiles: debian12, windows11.")
        parser.add_argument(
            "--inventory",
            choices=["full", "none"],
            default="full",
            help="'none' enrolls and checks in without uploading software.",
        )
        parser.add_argument("--packages", type=int, default=1500, help="Packages per Debian machine.")
        parser.add_argument("--cycles", type=int, default=1, help="Check-in cycles per device.")
        parser.add_argument("--concurrency", type=int, default=16)
        parser.add_argument("--prefix", help="Host name prefix (default: sim-<tenant>).")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--tokens-out", help="Write the device tokens here, one per line.")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, **options):
        mix = [m.strip() for m in options["mix"].split(",") if m.strip()]
        unknown = set(mix) - {"debian12", "windows11"}
        if unknown:
            raise CommandError(f"unknown profile(s): {', '.join(sorted(unknown))}")
        with system_scope():
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        count = options["devices"]
        with tenant_scope([tenant.pk]), audit.acting_as(audit.Actor(None, "simulate_fleet", "cli")):
            _, raw = EnrollmentToken.issue(
                tenant, "Fleet simulator", max_uses=count, expires_at=timezone.now() + timedelta(hours=6)
            )
        prefix = options["prefix"] or f"sim-{tenant.slug}"
        devices = fleet.build_devices(prefix, count, mix, options["inventory"], options["packages"], options["seed"])
        started = time.monotonic()
        report = fleet.run(
            options["server"], raw, devices, cycles=options["cycles"], concurrency=options["concurrency"]
        )
        elapsed = time.monotonic() - started
        uids = [d.device_id for d in devices if d.device_id]
        with tenant_scope([tenant.pk]):
            for start in range(0, len(uids), 1000):
                Device.objects.filter(uid__in=uids[start : start + 1000]).update(is_simulated=True)
        if options["tokens_out"]:
            with open(options["tokens_out"], "w", encoding="utf-8") as handle:
                handle.writelines(d.token + "\n" for d in devices if d.token)
        if not options["quiet"] or report.errors:
            self.stdout.write(
                f"{report.enrolled} enrolled, {report.checkins} check-ins, {report.inventories} inventories, "
                f"{report.updates} update lists in {elapsed:.1f} s"
            )
        for message in report.errors[:20]:
            self.stderr.write(message)
        if report.errors:
            raise CommandError(f"{len(report.errors)} simulated devices failed")
