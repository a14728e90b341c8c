"""What an MSP admin does to feed sources, audited: add, change, remove, and sync now."""

from __future__ import annotations

from django.db import transaction

from advisories.models import FeedSource
from tenants import audit

__all__ = ["record_change", "record_removal", "request_sync"]


def request_sync(source: FeedSource) -> None:
    """Queue a sync once the request's transaction commits (the worker must see the source)."""
    from advisories.tasks import sync_feed

    audit.record("feed_sync_requested", source, message=f"{source.kind} {source.url}")
    transaction.on_commit(lambda: sync_feed.delay(source.pk))


def record_change(source: FeedSource, created: bool, changes: dict) -> None:
    audit.record("feed_source_created" if created else "feed_source_updated", source, changes=changes)


def record_removal(source: FeedSource) -> None:
    audit.record("feed_source_deleted", source, message=f"{source.kind} {source.url}")
