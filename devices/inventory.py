"""Installed-software inventory: the canonical hash and applying an upload as a diff.

An upload whose hash equals the stored one changes nothing. Otherwise the distinct
package versions are upserted once for the whole MSP and only the difference to the
device's previous links is written, in one transaction, with set-based SQL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from devices.ecosystem import package_ecosystem

__all__ = ["FORMAT_FIELDS", "InventoryResult", "apply_inventory", "inventory_hash", "normalise"]

# Field order per format; PROTOCOL.md defines the hash over exactly these.
FORMAT_FIELDS = {
    "dpkg": ("name", "version", "arch", "source", "source_version"),
    "rpm": ("name", "version", "arch", "source_rpm"),
    "apk": ("name", "version", "arch", "origin"),
    "windows": ("name", "version", "publisher"),
}


def inventory_hash(fmt: str, packages: list[dict]) -> str:
    fields = FORMAT_FIELDS[fmt]
    lines = sorted("\t".join(p.get(f) or "" for f in fields) + "\n" for p in packages)
    return hashlib.sha256((fmt + "\n" + "".join(lines)).encode()).hexdigest()


@dataclass(frozen=True)
class Row:
    """A package as stored: identity (name, version), what advisories match on, and its arch."""

    name: str
    version: str
    source_name: str
    source_version: str
    publisher: str
    arch: str


def _source_rpm_name(source_rpm: str) -> str:
    # "openssl-3.0.7-27.el9.src.rpm" -> "openssl": strip ".src.rpm", then version and release.
    stem = source_rpm.removesuffix(".rpm").removesuffix(".src").removesuffix(".nosrc")
    parts = stem.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else stem


def normalise(fmt: str, packages: list[dict]) -> list[Row]:
    """Turn validated upload entries into storage rows, per format."""
    rows = []
    for p in packages:
        if fmt == "dpkg":
            rows.append(
                Row(
                    p["name"],
                    p["version"],
                    p.get("source") or p["name"],
                    p.get("source_version") or p["version"],
                    "",
                    p.get("arch") or "",
                )
            )
        elif fmt == "rpm":
            source_rpm = p.get("source_rpm") or ""
            rows.append(
                Row(
                    p["name"],
                    p["version"],
                    _source_rpm_name(source_rpm) if source_rpm else p["name"],
                    source_rpm,
                    "",
                    p.get("arch") or "",
                )
            )
        elif fmt == "apk":
            rows.append(
                Row(p["name"], p["version"], p.get("origin") or p["name"], p["version"], "", p.get("arch") or "")
            )
        else:
            rows.append(Row(p["name"], p["version"], "", "", p.get("publisher") or "", ""))
    return rows


@dataclass(frozen=True)
class InventoryResult:
    status: str
    total: int = 0
    added: int = 0
    removed: int = 0
    changed: int = 0
    added_package_ids: tuple[int, ...] = ()
    removed_package_ids: tuple[int, ...] = ()

    def as_json(self) -> dict:
        if self.status != "applied":
            return {"status": self.status}
        return {
            "status": "applied",
            "total": self.total,
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
        }


def _package_ids(ecosystem: str, rows: list[Row]) -> dict[tuple[str, str], int]:
    """Insert the versions nobody had before and return ids for all of them."""
    distinct = {(r.name, r.version): r for r in rows}
    names = [k[0] for k in distinct]
    versions = [k[1] for k in distinct]
    sources = [distinct[k].source_name for k in distinct]
    source_versions = [distinct[k].source_version for k in distinct]
    publishers = [distinct[k].publisher for k in distinct]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO devices_softwarepackage (ecosystem, name, version, source_name, source_version, publisher)
            SELECT %s, n, v, s, sv, p FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
                AS u(n, v, s, sv, p)
            ON CONFLICT (ecosystem, name, version) DO NOTHING
            """,
            [ecosystem, names, versions, sources, source_versions, publishers],
        )
        cursor.execute(
            """
            SELECT p.id, p.name, p.version FROM devices_softwarepackage p
            JOIN unnest(%s::text[], %s::text[]) AS u(n, v) ON p.name = u.n AND p.version = u.v
            WHERE p.ecosystem = %s
            """,
            [names, versions, ecosystem],
        )
        return {(name, version): pk for pk, name, version in cursor.fetchall()}


def apply_inventory(device, fmt: str, packages: list[dict], digest: str | None = None, now=None) -> InventoryResult:
    """Store a device's installed software, writing only what changed. Caller holds the scope."""
    digest = digest or inventory_hash(fmt, packages)
    if digest == device.inventory_hash and fmt == device.inventory_format:
        return InventoryResult("unchanged", total=device.package_count)
    now = now or timezone.now()
    ecosystem = package_ecosystem(device.ecosystem, fmt)
    rows = normalise(fmt, packages)
    with transaction.atomic():
        ids = _package_ids(ecosystem, rows)
        wanted = {(ids[(r.name, r.version)], r.arch) for r in rows}
        with connection.cursor() as cursor:
            cursor.execute("SELECT package_id, arch FROM devices_devicesoftware WHERE device_id = %s", [device.pk])
            current = set(cursor.fetchall())
            to_add, to_remove = wanted - current, current - wanted
            if to_remove:
                cursor.execute(
                    """
                    DELETE FROM devices_devicesoftware d USING unnest(%s::bigint[], %s::text[]) AS u(p, a)
                    WHERE d.device_id = %s AND d.package_id = u.p AND d.arch = u.a
                    """,
                    [[p for p, _ in to_remove], [a for _, a in to_remove], device.pk],
                )
            if to_add:
                cursor.execute(
                    """
                    INSERT INTO devices_devicesoftware (tenant_id, device_id, package_id, arch)
                    SELECT %s, %s, p, a FROM unnest(%s::bigint[], %s::text[]) AS u(p, a)
                    """,
                    [device.tenant_id, device.pk, [p for p, _ in to_add], [a for _, a in to_add]],
                )
        type(device).objects.filter(pk=device.pk).update(
            inventory_format=fmt, inventory_hash=digest, inventory_updated_at=now, package_count=len(wanted)
        )
        device.inventory_format, device.inventory_hash, device.package_count = fmt, digest, len(wanted)
        changed = _changed_count(to_add, to_remove)
        added_ids = tuple(sorted({p for p, _ in to_add}))
        removed_ids = tuple(sorted({p for p, _ in to_remove}))
        from devices.signals import inventory_changed

        inventory_changed.send(sender=type(device), device=device, added=added_ids, removed=removed_ids)
    return InventoryResult(
        "applied",
        total=len(wanted),
        added=len(to_add) - changed,
        removed=len(to_remove) - changed,
        changed=changed,
        added_package_ids=added_ids,
        removed_package_ids=removed_ids,
    )


def _changed_count(to_add, to_remove) -> int:
    """Upgrades: a package name and arch both removed and added (at another version)."""
    if not to_add or not to_remove:
        return 0
    from devices.models import SoftwarePackage

    names = dict(SoftwarePackage.objects.filter(pk__in={p for p, _ in to_add | to_remove}).values_list("id", "name"))
    added = {(names[p], a) for p, a in to_add}
    removed = {(names[p], a) for p, a in to_remove}
    return len(added & removed)
