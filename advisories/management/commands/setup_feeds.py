"""Create the standard feed sources (idempotent); disabled with --disabled for offline sites."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from advisories.defaults import DEFAULT_FEEDS
from advisories.models import FeedSource


class Command(BaseCommand):
    help = "Create the standard advisory feed sources if they do not exist yet."

    def add_arguments(self, parser):
        parser.add_argument("--disabled", action="store_true", help="Create them disabled (air-gapped or demo).")

    def handle(self, *args, **options):
        created = 0
        for name, kind, url, minutes in DEFAULT_FEEDS:
            _, made = FeedSource.objects.get_or_create(
                name=name,
                defaults={"kind": kind, "url": url, "interval_minutes": minutes, "enabled": not options["disabled"]},
            )
            created += made
        self.stdout.write(f"{created} feed sources created, {len(DEFAULT_FEEDS) - created} already there")
