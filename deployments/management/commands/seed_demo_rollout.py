"""Rings, maintenance windows and a blackout for the demo tenants (DEMO_MODE only; idempotent).

Pilot takes the devices tagged "pilot", Early the rest of one site's machines by tag, Broad
everything else; each tenant gets the kind of windows an MSP would set up for it. Fabrikam
wants fixes out fast: its rings do not soak, so the demo shows a rollout finish in minutes.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from deployments.models import BlackoutPeriod, MaintenanceWindow, Ring, WindowPurpose, WindowRecurrence
from portal.db_scope import system_scope
from tenants import audit
from tenants.models import Tenant

RINGS = [
    {"name": "Pilot", "position": 0, "tags": ["pilot"], "soak_hours": 24, "gate_min_devices": 1},
    {"name": "Early", "position": 1, "tags": ["early"], "soak_hours": 48, "gate_min_devices": 2},
    {"name": "Broad", "position": 2, "catch_all": True, "soak_hours": 0, "gate_min_devices": 0},
]

# Per tenant, ring name -> soak hours instead of the default above.
SOAK = {"fabrikam": {"Pilot": 0, "Early": 0}}

# (tenant slug, name, purpose, recurrence fields, start, minutes)
WINDOWS = [
    ("northwind", "Weeknights", WindowPurpose.INSTALL, {"weekdays": [1, 2, 3]}, dt.time(22, 0), 240),
    ("northwind", "Reboots before dawn", WindowPurpose.REBOOT, {"weekdays": [2, 3, 4]}, dt.time(2, 0), 120),
    (
        "contoso",
        "Patch Tuesday + 3 days",
        WindowPurpose.INSTALL,
        {"recurrence": WindowRecurrence.PATCH_TUESDAY, "offset_days": 3},
        dt.time(20, 0),
        6 * 60,
    ),
    ("contoso", "Saturday reboots", WindowPurpose.REBOOT, {"weekdays": [5]}, dt.time(6, 0), 180),
    (
        "fabrikam",
        "Last Friday of the month",
        WindowPurpose.INSTALL,
        {"recurrence": WindowRecurrence.MONTHLY_NTH, "nth": -1, "nth_weekday": 4},
        dt.time(19, 0),
        8 * 60,
    ),
]


class Command(BaseCommand):
    help = "Rings, maintenance windows and a blackout for the demo tenants."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("seed_demo_rollout runs only with DEMO_MODE=true.")
        with system_scope(), audit.acting_as(audit.Actor(None, "seed_demo", "cli")):
            tenants = {t.slug: t for t in Tenant.objects.filter(slug__in={w[0] for w in WINDOWS})}
            for tenant in tenants.values():
                for spec in RINGS:
                    fields = {k: v for k, v in spec.items() if k != "name"}
                    fields["soak_hours"] = SOAK.get(tenant.slug, {}).get(spec["name"], spec["soak_hours"])
                    Ring.objects.get_or_create(tenant=tenant, name=spec["name"], defaults=fields)
            for slug, name, purpose, recurrence, start, minutes in WINDOWS:
                if slug not in tenants:
                    continue
                fields = {"recurrence": WindowRecurrence.WEEKLY, **recurrence}
                MaintenanceWindow.objects.get_or_create(
                    tenant=tenants[slug],
                    name=name,
                    defaults={"purpose": purpose, "start_time": start, "duration_minutes": minutes, **fields},
                )
            if "contoso" in tenants:
                today = dt.date.today()
                month_end = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
                BlackoutPeriod.objects.get_or_create(
                    tenant=tenants["contoso"],
                    reason="Month-end close",
                    defaults={"starts_on": month_end - dt.timedelta(days=2), "ends_on": month_end},
                )
        self.stdout.write(f"rings and windows for {len(tenants)} demo tenants")
