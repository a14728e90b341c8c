"""Load advisories by hand from a file, a folder of records, a zip archive or a URL.

For air-gapped MSPs: download the feeds elsewhere, carry them over, and ingest them here.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from advisories.ingest import ingest
from advisories.models import FeedKind, FeedRun, FeedSource


class Command(BaseCommand):
    help = "Ingest an advisory feed from a file, folder, zip archive or URL."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=[k.value for k in FeedKind])
        parser.add_argument("location", help="Path to a file, folder or zip, or an http(s) URL.")
        parser.add_argument("--source", help="Name of a configured feed source to attribute the records to.")

    def handle(self, *args, **options):
        source = None
        if options["source"]:
            source = FeedSource.objects.filter(name=options["source"]).first()
            if source is None:
                raise CommandError(f"No feed source named {options['source']!r}.")
        # Documents commit one by one; feed tables are MSP-wide, matching opens its own scope.
        run = ingest(options["kind"], options["location"], source=source)
        self.stdout.write(
            f"{run.get_status_display()}: {run.added} added, {run.updated} updated, {run.unchanged} unchanged, "
            f"{run.skipped} skipped"
        )
        for error in run.errors[:50]:
            self.stderr.write(f"  skipped {error['record']}: {error['error']}")
        if run.status == FeedRun.Status.FAILED:
            raise CommandError(run.error)
