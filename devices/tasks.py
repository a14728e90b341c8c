"""Scheduled device work: fold buffered check-ins into the database, trim history."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from devices import presence
from devices.models import DeviceCheckIn


@shared_task(atomic_scope=False, ignore_result=True)
def flush_presence() -> int:
    return presence.flush()


@shared_task(ignore_result=True)
def trim_checkin_history(now=None) -> int:
    now = timezone.now() if now is None else timezone.datetime.fromisoformat(now)
    cutoff = now - timedelta(days=settings.CHECKIN_HISTORY_DAYS)
    deleted, _ = DeviceCheckIn.objects.filter(hour__lt=cutoff).delete()
    return deleted
