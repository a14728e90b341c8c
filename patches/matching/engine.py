"""Entry points of matching: everything, some devices, some advisories, or new threat intel.

Callers hold the database scope (the Celery task base, or system_scope()); each entry point
runs in one transaction so a failure leaves the findings as they were.
"""

from __future__ import annotations

import time

from django.db import transaction
from django.utils import timezone

from patches.matching import locks
from patches.matching.materialize import Scope, materialize, refresh_intel
from patches.matching.packages import evaluate_packages

__all__ = ["match_advisories", "match_devices", "match_everything", "match_intel", "match_windows"]


@transaction.atomic
def match_everything(now=None) -> dict:
    locks.lock_fleet()
    now = now or timezone.now()
    started = time.perf_counter()
    matches = evaluate_packages()
    evaluated = time.perf_counter() - started
    stats = materialize(Scope.everything(), now)
    stats["seconds"]["evaluate"] = round(evaluated, 3)
    return {"package_matches": matches, **stats}


@transaction.atomic
def match_devices(device_ids, now=None) -> dict:
    """After an inventory or updates upload: evaluate versions never seen before, then the devices."""
    from django.db import connection

    locks.lock_devices(device_ids)
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT ds.package_id FROM devices_devicesoftware ds
            WHERE ds.device_id = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM patches_evaluatedpackage e WHERE e.package_id = ds.package_id)
            """,
            [list(device_ids)],
        )
        new_packages = [row[0] for row in cursor.fetchall()]
    if new_packages:
        evaluate_packages(package_ids=new_packages)
    return materialize(Scope(device_ids=tuple(device_ids)), now)


@transaction.atomic
def match_advisories(advisory_keys, now=None) -> dict:
    """After advisories were added or changed: only the versions they name, only their findings."""
    from advisories.models import Advisory

    locks.lock_fleet()
    now = now or timezone.now()
    advisories = Advisory.objects.filter(advisory_id__in=list(advisory_keys))
    ids = tuple(advisories.values_list("id", flat=True))
    if not ids:
        return {}
    # A withdrawn advisory was never true: its findings go, rather than turning "fixed".
    from patches.models import Finding

    Finding.objects.filter(advisory__in=advisories.filter(withdrawn__isnull=False)).delete()
    started = time.perf_counter()
    matches = evaluate_packages(advisory_ids=ids)
    evaluated = time.perf_counter() - started
    stats = materialize(Scope(advisory_ids=ids), now)
    stats["seconds"]["evaluate"] = round(evaluated, 3)
    return {"package_matches": matches, **stats}


@transaction.atomic
def match_intel(cve_ids, now=None) -> None:
    refresh_intel(Scope(cves=tuple(cve_ids)), now or timezone.now())


@transaction.atomic
def match_windows(now=None) -> dict:
    """After Microsoft's CVRF changed: Windows findings of every device."""
    from devices.models import Device

    locks.lock_fleet()
    ids = tuple(Device.objects.filter(os_family="windows").values_list("id", flat=True))
    return materialize(Scope(device_ids=ids, kbs=True), now or timezone.now()) if ids else {}
