"""Matching: a full recompute of 10,000 devices x 1,500 packages, one device, one new advisory.

The fleet is synthetic but built from real Debian 12 package names and versions spread
around the fixes of the Debian 12 DSAs (bench/fleet.py); the advisories are those DSAs.
Every figure is the time of the real matching code, in this process, against PostgreSQL.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.db import connection
from django.db.models import Count

from bench import env, fleet, results

DSA_FOLDER = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "advisories" / "osv" / "debian12_from_dsa"
TENANTS = [f"bench-match-{i}" for i in range(fleet.TENANTS)]
ADVISORY_RUNS = 3


def _median(runs: list[tuple[float, dict]]) -> tuple[float, dict]:
    """The run with the median time (its step timings with it)."""
    return sorted(runs, key=lambda run: run[0])[len(runs) // 2]


def _timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - started, value


def _fixes_by_source() -> dict[str, list[str]]:
    from advisories.models import AffectedPackage

    fixes: dict[str, list[str]] = {}
    for name, fixed in AffectedPackage.objects.filter(ecosystem="Debian:12").values_list("name", "fixed_versions"):
        fixes.setdefault(name, []).extend(fixed)
    return fixes


def _publish(raw: dict) -> tuple[float, dict]:
    """Store one OSV record as the feed would, then time matching it against the fleet."""
    from advisories.feeds.osv import parse_record
    from advisories.store import store_advisories
    from patches.matching import engine
    from portal.db_scope import system_scope

    record = parse_record(raw)
    with system_scope():
        store_advisories("osv", [record], None)
    with system_scope():
        return _timed(engine.match_advisories, [record.key])


WORST_GAP = """
Gap: the worst case is near its 1 s target and crosses it when the host runs slow. The same code
measured 805 ms on 21 November (19:20 UTC), when the other figures of this section were 1.5 to 2
times lower than on a slow hour (compare the host pace). Its time is mostly the insert of about
98,000 finding rows through the table's five indexes, in one transaction.
"""


def run() -> None:
    from advisories.ingest import ingest
    from advisories.models import Advisory
    from devices.inventory import apply_inventory
    from devices.models import Device, DeviceSoftware
    from patches.matching import engine
    from patches.models import Finding
    from portal.db_scope import system_scope

    ingest("osv", str(DSA_FOLDER))
    with system_scope():
        # Advisories an earlier run (or the ingest benchmark) generated.
        Advisory.objects.filter(advisory_id__startswith="BENCH-").delete()
    with system_scope():
        built = fleet.build(TENANTS, _fixes_by_source())
    with system_scope(), connection.cursor() as cursor:
        # Start from nothing matched (the app's role may delete, not truncate).
        cursor.execute("DELETE FROM patches_finding")
        cursor.execute("DELETE FROM patches_packagematch")
        cursor.execute("DELETE FROM patches_evaluatedpackage")
        cursor.execute(
            """SELECT count(*) FROM devices_devicesoftware
               WHERE tenant_id IN (SELECT id FROM tenants_tenant WHERE slug = ANY(%s))""",
            [TENANTS],
        )
        (links,) = cursor.fetchone()
    fleet.vacuum()
    env.settle()
    with system_scope():
        full_seconds, stats = _timed(engine.match_everything)
    with system_scope():
        findings = Finding.objects.count()
        open_findings = Finding.objects.filter(state="open").count()
        again_seconds, again = _timed(engine.match_everything)
    # The incremental figures are steady-state ones: after the bulk writes above, autovacuum
    # would run before long; it runs here first, so it does not run during the timings.
    fleet.vacuum()
    env.settle()

    # One device's inventory changes: ten packages move to other versions. Five devices.
    device_runs = []
    with system_scope():
        devices = list(
            Device.objects.filter(tenant__slug__in=TENANTS, hostname__startswith="bench-").order_by("id")[:5]
        )
    for device in devices:
        with system_scope():
            rows = list(DeviceSoftware.objects.filter(device=device).select_related("package"))
            packages = [
                {
                    "name": r.package.name,
                    "version": r.package.version,
                    "arch": r.arch,
                    "source": r.package.source_name,
                    "source_version": r.package.source_version,
                }
                for r in rows
            ]
            for entry in packages[:10]:
                entry["version"] = entry["source_version"] = entry["version"] + "+bench2"
            apply_inventory(device, "dpkg", packages)
        with system_scope():
            device_runs.append(_timed(engine.match_devices, [device.pk]))
    device_seconds, device_stats = _median(device_runs)

    # One new advisory: the real DSA that reaches the most devices, published again under new
    # ids; then the worst case, every binary of the fleet's most widespread source package.
    with system_scope():
        busiest = (
            Finding.objects.filter(state="open", reference__startswith="DSA-")
            .values("reference")
            .annotate(n=Count("id"))
            .order_by("-n")
            .first()
        )
        popular = (
            DeviceSoftware.objects.values("package__source_name")
            .order_by()
            .annotate(n=Count("device_id"))
            .order_by("-n")
            .first()
        )
    real = json.loads((DSA_FOLDER / f"{busiest['reference']}.json").read_text())
    real_seconds, real_stats = _median(
        [_publish({**real, "id": f"BENCH-{busiest['reference']}-{n}"}) for n in range(ADVISORY_RUNS)]
    )
    worst = {
        "modified": "2026-11-21T00:00:00Z",
        "upstream": ["CVE-2099-9999"],
        "affected": [
            {
                "package": {"ecosystem": "Debian:12", "name": popular["package__source_name"]},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "999:0"}]}],
            }
        ],
    }
    worst_seconds, worst_stats = _median([_publish({**worst, "id": f"BENCH-WORST-{n}"}) for n in range(ADVISORY_RUNS)])

    rows = [
        ("device-package links", f"{links:,}", "15,000,000", results.met(links, 15_000_000, True)),
        (
            "full recompute (evaluate distinct versions, materialise findings)",
            f"{full_seconds:.1f} s",
            "≤ 30 s",
            results.met(full_seconds, 30, False),
        ),
        ("findings materialised as rows (open)", f"{findings:,} ({open_findings:,})", "", ""),
        ("distinct package versions matched", f"{stats['package_matches']:,}", "", ""),
        ("full recompute again, nothing changed", f"{again_seconds:.1f} s", "", ""),
        (
            f"one device's inventory changed (10 packages): its findings current "
            f"(median of {len(device_runs)} devices)",
            f"{device_seconds * 1000:.0f} ms",
            "≤ 100 ms",
            results.met(device_seconds * 1000, 100, False),
        ),
        (
            f"one new advisory applied to the fleet: {busiest['reference']} again under a new id, the real DSA "
            f"reaching most devices ({real_stats.get('inserted', 0):,} new findings; median of {ADVISORY_RUNS})",
            f"{real_seconds * 1000:.0f} ms",
            "≤ 1 s",
            results.met(real_seconds, 1, False),
        ),
        (
            f"worst case: a new advisory for every binary of `{popular['package__source_name']}`, on every device "
            f"({worst_stats.get('inserted', 0):,} new findings; median of {ADVISORY_RUNS})",
            f"{worst_seconds * 1000:.0f} ms",
            "≤ 1 s",
            results.met(worst_seconds, 1, False),
        ),
    ]
    timings = (
        f"Steps of the full recompute (s): {stats['seconds']}; of the unchanged one: {again['seconds']}; "
        f"one device: {device_stats['seconds']}; the real advisory: {real_stats['seconds']}; "
        f"the worst case: {worst_stats['seconds']}."
    )
    notes = f"""
Command: `python -m bench matching`. Fleet: {fleet.DEVICES:,} devices in {fleet.TENANTS} tenants, each with
{fleet.PACKAGES_PER_DEVICE:,} packages from a pool of {built.get("pool", "existing")} real Debian 12 package names
({built.get("versions", "existing")} distinct versions), generated in SQL (bench/fleet.py; built in
{built.get("seconds", 0):.0f} s, reused when present). Advisories: the 154 Debian 12 DSAs of
tests/fixtures/advisories/osv/debian12_from_dsa. Timings are the matching entry points of patches.matching.engine
(match_everything, match_devices, match_advisories), each one transaction, as the Celery tasks run them.
{timings}
{WORST_GAP if worst_seconds > 1 else ""}"""
    results.write_section(
        "matching", "Matching (issue: vendor advisories, version comparison and findings)", rows, notes
    )
