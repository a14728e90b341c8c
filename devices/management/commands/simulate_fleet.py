"""Run N simulated agents over real HTTP against the agent API (demo data and benchmarks).

The simulated devices enroll with a fresh enrollment token of the tenant, check in and
upload their inventory and offered updates, exactly as agents do; afterwards they are
marked as simulated so the portal shows them as such. With --follow they stay on: each
checks in every --interval seconds and runs the deployment jobs it is given (the demo).
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

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
        parser.add_argument(
            "--mix", default="debian12", help=f"Comma-separated profiles: {', '.join(fleet.profiles.PROFILES)}."
        )
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
        parser.add_argument(
            "--follow", action="store_true", help="Stay on afterwards: check in and run jobs until stopped."
        )
        parser.add_argument("--interval", type=float, default=15.0, help="Seconds between check-ins with --follow.")
        parser.add_argument("--ready-file", help="With --follow: touch this file once every device has uploaded.")

    def handle(self, *args, **options):
        mix = [m.strip() for m in options["mix"].split(",") if m.strip()]
        unknown = set(mix) - set(fleet.profiles.PROFILES)
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
        if options["follow"]:
            self._follow(options, devices)

    def _follow(self, options, devices):
        stop = threading.Event()
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stop.set())
        if options["ready_file"]:
            Path(options["ready_file"]).touch()
        report = fleet.follow(options["server"], devices, stop, interval=options["interval"])
        if not options["quiet"]:
            self.stdout.write(f"stopped after {report.checkins} check-ins, {len(report.errors)} failed")
