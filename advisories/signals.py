"""Signals advisories sends for apps above it (patches re-matches; advisories imports nothing of it)."""

from django.dispatch import Signal

# After an ingest run committed. Arguments: kind, advisory_ids (set of changed advisory ids),
# cve_ids (set of CVEs whose KEV/EPSS/CVSS data changed), kbs (set of changed Windows KBs).
feed_ingested = Signal()
