"""Keep findings current: new inventories, offered updates and feed data trigger matching.

Matching runs in Celery tasks, started when the transaction that changed the data commits.
"""

from __future__ import annotations

from django.db import transaction


def _rematch_device(sender, device, **kwargs):
    """Its inventory, offered updates or criticality changed."""
    from patches.tasks import match_device

    transaction.on_commit(lambda: match_device.delay(device.pk, tenant_id=device.tenant_id))


def _on_feed(sender, kind, advisory_ids=(), cve_ids=(), kbs=(), **kwargs):
    from patches.tasks import match_advisories, match_intel, match_windows

    if advisory_ids:
        ids = sorted(advisory_ids)
        transaction.on_commit(lambda: match_advisories.delay(ids))
    if cve_ids:
        cves = sorted(cve_ids)
        transaction.on_commit(lambda: match_intel.delay(cves))
    if kbs:
        transaction.on_commit(lambda: match_windows.delay())


def connect() -> None:
    from advisories.signals import feed_ingested
    from devices.signals import criticality_changed, inventory_changed, updates_changed

    inventory_changed.connect(_rematch_device, dispatch_uid="patches.inventory")
    updates_changed.connect(_rematch_device, dispatch_uid="patches.updates")
    criticality_changed.connect(_rematch_device, dispatch_uid="patches.criticality")
    feed_ingested.connect(_on_feed, dispatch_uid="patches.feed")
