"""Matching runs that could write the same findings take turns.

Two uploads from one device (inventory and updates arrive together) would otherwise start
two `match_devices` at once, and both would insert the same new findings: the second fails on
the findings' identity index. Device runs lock their devices (exclusive) and the fleet
(shared); fleet-wide runs lock the fleet exclusively. The locks end with the transaction.
"""

from __future__ import annotations

from django.db import connection

NAMESPACE = 0x5EED  # "matching", in the two-key advisory-lock space
FLEET = 0


def lock_fleet() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [NAMESPACE, FLEET])


def lock_devices(device_ids) -> None:
    """Shared on the fleet, exclusive on each device, always in id order (no deadlock)."""
    keys = sorted({int(pk) % 2_147_483_647 + 1 for pk in device_ids})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [NAMESPACE, FLEET])
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, key)) FROM unnest(%s::int[]) AS key",
            [NAMESPACE, keys],
        )
