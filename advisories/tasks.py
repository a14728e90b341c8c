"""Beat syncs the feed sources that are due; each sync is its own task."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from advisories.ingest import sync_source
from advisories.models import FeedSource


@shared_task(ignore_result=True)
def sync_due_feeds() -> list[int]:
    now = timezone.now()
    due = [s.pk for s in FeedSource.objects.filter(enabled=True) if s.is_due(now)]
    for pk in due:
        sync_feed.delay(pk)
    return due


# A sync commits document by document, so it runs outside the task's single transaction;
# the feed tables are MSP-wide (no row-level security) and re-matching opens its own scope.
@shared_task(atomic_scope=False, ignore_result=True, soft_time_limit=3000, time_limit=3600)
def sync_feed(source_id: int) -> str:
    return sync_source(FeedSource.objects.get(pk=source_id)).status
