"""Evaluate distinct package versions against advisories' affected entries (PackageMatch rows).

This is the only part of matching that runs in Python, and it runs over distinct versions
(tens of thousands for a whole MSP), never over devices. Everything per device is SQL.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import connection

from advisories.models import AffectedPackage
from patches.catalogue import link_package_patches
from patches.matching.keys import advisory_ecosystems, match_key
from patches.matching.ranges import AffectedRanges

__all__ = ["evaluate_packages"]


def _affected_index(pairs: set[tuple[str, str]] | None, advisory_ids: list[int] | None):
    """(ecosystem, name) -> [(affected id, advisory id, AffectedRanges)] for live advisories."""
    entries = AffectedPackage.objects.filter(advisory__withdrawn__isnull=True).exclude(ecosystem="GIT")
    if advisory_ids is not None:
        entries = entries.filter(advisory_id__in=advisory_ids)
    if pairs is not None:
        # Narrowed by name (indexed); the exact (ecosystem, name) pairs are checked below.
        entries = entries.filter(name__in={name for _, name in pairs})
    index = defaultdict(list)
    for affected_id, advisory_id, ecosystem, name, ranges, explicit in entries.values_list(
        "id", "advisory_id", "ecosystem", "name", "ranges", "versions"
    ):
        if pairs is None or (ecosystem, name) in pairs:
            index[(ecosystem, name)].append((affected_id, advisory_id, AffectedRanges(ecosystem, ranges, explicit)))
    return index


def _packages(package_ids, names) -> list[tuple]:
    """Rows (id, ecosystem, name, version, source_name, source_version) to evaluate."""
    sql = "SELECT id, ecosystem, name, version, source_name, source_version FROM devices_softwarepackage"
    where, params = ["ecosystem <> 'Windows'"], []
    if package_ids is not None:
        where.append("id = ANY(%s)")
        params.append(list(package_ids))
    if names is not None:
        # Either the binary or the source name may be the one advisories use (see keys.py).
        where.append("(name = ANY(%s) OR source_name = ANY(%s))")
        params += [sorted(names), sorted(names)]
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} WHERE {' AND '.join(where)}", params)
        return cursor.fetchall()


# Above this many (ecosystem, name) pairs one unfiltered read of the affected entries is cheaper.
_FILTER_LIMIT = 20_000


def evaluate_packages(package_ids=None, advisory_ids=None) -> int:
    """Recompute PackageMatch for some packages, for some advisories, or for everything.

    Packages evaluated against every advisory are recorded as evaluated, so an inventory
    upload later evaluates only versions the MSP has never seen. Returns the matches stored.
    """
    names = None
    if advisory_ids is not None:
        names = set(AffectedPackage.objects.filter(advisory_id__in=advisory_ids).values_list("name", flat=True))
    packages = _packages(package_ids, names)
    keyed = []
    pairs: set[tuple[str, str]] = set()
    for pk, ecosystem, name, version, source_name, source_version in packages:
        key_name, key_version = match_key(ecosystem, name, version, source_name, source_version)
        targets = advisory_ecosystems(ecosystem)
        keyed.append((pk, key_name, key_version, targets))
        pairs.update((eco, key_name) for eco, _ in targets)
    index = _affected_index(pairs if len(pairs) <= _FILTER_LIMIT else None, advisory_ids)
    rows = []
    for pk, key_name, key_version, targets in keyed:
        for advisory_ecosystem, esm_only in targets:
            for affected_id, advisory_id, ranges in index.get((advisory_ecosystem, key_name), ()):
                try:
                    verdict = ranges.check(key_version)
                except ValueError:
                    continue  # a version its scheme rejects cannot be placed in any range
                if verdict.affected:
                    rows.append((pk, affected_id, advisory_id, verdict.fixed_version, esm_only))
    _replace(rows, [p[0] for p in keyed], advisory_ids)
    return len(rows)


def _replace(rows, evaluated: list[int], advisory_ids) -> None:
    with connection.cursor() as cursor:
        if advisory_ids is not None:
            cursor.execute("DELETE FROM patches_packagematch WHERE advisory_id = ANY(%s)", [list(advisory_ids)])
        else:
            cursor.execute("DELETE FROM patches_packagematch WHERE package_id = ANY(%s)", [evaluated])
        if rows:
            cursor.execute(
                """
                INSERT INTO patches_packagematch (package_id, affected_id, advisory_id, fixed_version, esm_only)
                SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::bool[])
                ON CONFLICT (package_id, affected_id) DO UPDATE
                    SET fixed_version = EXCLUDED.fixed_version, esm_only = EXCLUDED.esm_only
                """,
                [list(c) for c in zip(*rows, strict=True)],
            )
        link_package_patches(cursor)
        if advisory_ids is None:
            cursor.execute(
                """
                INSERT INTO patches_evaluatedpackage (package_id, evaluated_at)
                SELECT unnest(%s::bigint[]), now()
                ON CONFLICT (package_id) DO UPDATE SET evaluated_at = EXCLUDED.evaluated_at
                """,
                [evaluated],
            )
