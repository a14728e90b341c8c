"""Load the advisory data bundled with the project, for the demo (no network needed).

The same public data the tests use (tests/fixtures/advisories, see its NOTICE): Debian 12
DSAs as OSV, Ubuntu and language-ecosystem OSV samples, the CISA KEV catalog, an EPSS sample,
NVD pages, two Microsoft Patch Tuesday CVRF documents and Red Hat CSAF advisories.
Ingesting again changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from advisories.ingest import ingest

DATA = Path(settings.BASE_DIR) / "tests" / "fixtures" / "advisories"
DEMO_SETS = [
    ("osv", "osv/debian12_from_dsa"),
    ("osv", "osv/ubuntu"),
    ("osv", "osv/github_advisory_database"),
    ("kev", "kev/known_exploited_vulnerabilities.json"),
    ("epss", "epss/epss_scores_sample.csv"),
    ("nvd", "nvd"),
    ("msrc", "msrc"),
    ("csaf", "csaf/redhat"),
]


class Command(BaseCommand):
    help = "Ingest the advisory data bundled with the project (demo and offline trials)."

    def handle(self, *args, **options):
        for kind, relative in DEMO_SETS:
            run = ingest(kind, str(DATA / relative))
            self.stdout.write(
                f"{kind:<6} {relative:<45} {run.status}: +{run.added} ~{run.updated} ={run.unchanged}"
                f" skipped {run.skipped}"
            )
