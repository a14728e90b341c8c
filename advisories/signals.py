"""Signals advisories sends for apps above it (patches re-matches; advisories imports nothing of it)."""

from django.dispatch import Signal

# After an ingest run committed. Arguments: kind, advisory_ids (set of changed advisory ids),
# cve_ids (set of CVEs whose KEV/EPSS/CVSS data changed), kbs (set of changed Windows KBs).
feed_ingested = Signal()

# After a run failed as a whole and its source's outcome was saved. Arguments: run (the
# FeedRun, with .error), source (its FeedSource, or None for a manual import).
feed_failed = Signal()
