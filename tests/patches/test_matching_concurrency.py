"""Matching runs that would write the same findings wait for each other instead of failing."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from devices.inventory import apply_inventory
from patches.matching import engine, locks
from patches.models import Finding
from portal.db_scope import system_scope
from tests.factories import DeviceFactory
from tests.fixtures.worker_process import wait_until
from tests.patches.test_matching import NOW, osv, pkg, publish

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(target, errors):
    def run():
        try:
            with system_scope():
                target()
        except Exception as exc:  # noqa: BLE001 - reported to the test thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0] > 0


def _holding_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
        return cursor.fetchone()[0] > 0


def test_two_matches_of_one_device_take_turns_and_both_succeed(world):
    publish(osv("DSA-9101-1", "openssl", "3.0.16-1~deb12u1"), osv("DSA-9102-1", "curl", "7.88.1-10+deb12u9"))
    device = DeviceFactory(tenant=world.tenant_a, hostname="twice")
    apply_inventory(device, "dpkg", [pkg("openssl", "3.0.14-1"), pkg("curl", "7.88.1-10+deb12u5")])
    release = threading.Event()
    errors: list[Exception] = []

    def holder():  # the first upload's match, still inside its transaction
        with transaction.atomic():
            engine.match_devices([device.pk], now=NOW)
            release.wait(30)

    def second():  # the second upload's match, started while the first holds the device
        engine.match_devices([device.pk], now=NOW)

    first = _in_thread(holder, errors)
    wait_until(_holding_a_lock, what="the first match to hold the device")
    follower = _in_thread(second, errors)
    wait_until(_waiting_for_a_lock, timeout=30, what="the second match to wait for the first")
    release.set()
    first.join(30)
    follower.join(30)

    assert errors == []
    assert sorted(Finding.objects.filter(device=device, state="open").values_list("reference", flat=True)) == [
        "DSA-9101-1",
        "DSA-9102-1",
    ]


def test_a_fleet_wide_match_waits_for_device_matches():
    errors: list[Exception] = []
    release = threading.Event()

    def device_run():
        with transaction.atomic():
            locks.lock_devices([1, 2])
            release.wait(30)

    holder = _in_thread(device_run, errors)
    fleet = None
    try:
        wait_until(_holding_a_lock, what="the device run to hold its locks")
        fleet = _in_thread(lambda: engine.match_everything(now=NOW), errors)
        wait_until(_waiting_for_a_lock, timeout=30, what="the fleet run to wait")
        assert fleet.is_alive(), errors
    finally:
        release.set()
        holder.join(30)
        if fleet is not None:
            fleet.join(60)
    assert errors == []
