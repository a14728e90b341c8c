"""Updates a device is offered (apt, dnf, Windows Update, winget): hash and diff-apply.

Each distinct update is stored once (devices.Update); a device's set is replaced by
writing only the difference, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from devices.ecosystem import package_ecosystem

__all__ = ["apply_updates", "updates_hash"]

REBOOT_VALUES = ("never", "required", "may")


def updates_hash(updates: list[dict]) -> str:
    items = sorted(json.dumps(u, sort_keys=True, separators=(",", ":")) for u in updates)
    return hashlib.sha256(("[" + ",".join(items) + "]").encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    identity: tuple[str, str, str, str]  # kind, ecosystem, identifier, version
    meta: dict
    arch: str
    installed: bool
    current_version: str


def _entry(device, update: dict) -> Entry:
    kind = update["kind"]
    if kind == "windows":
        released = update.get("released")
        meta = {
            "kb": update.get("kb") or "",
            "title": update.get("title") or "",
            "classification": update.get("classification") or "",
            "severity": update.get("severity") or "",
            "reboot": update.get("reboot") or "",
            "supersedes": list(update.get("supersedes") or []),
            "size": update.get("size"),
            "released": dt.date.fromisoformat(released[:10]) if released else None,
            "security": (update.get("classification") or "").lower().startswith(("security", "critical")),
            "origin": "Windows Update",
        }
        identity = ("windows", "Windows", update["update_id"].lower(), str(update.get("revision") or 0))
        return Entry(identity, meta, "", bool(update.get("installed")), "")
    if kind == "winget":
        meta = {"title": update.get("name") or update["id"], "origin": update.get("source") or "winget"}
        identity = ("winget", "Windows", update["id"], update["available_version"])
        return Entry(identity, meta, "", False, update.get("current_version") or "")
    # apt and dnf: package updates within the device's distribution.
    meta = {
        "title": update["name"],
        "origin": update.get("origin") or update.get("repo") or "",
        "security": bool(update.get("security")),
    }
    ecosystem = package_ecosystem(device.ecosystem, "dpkg")
    identity = (kind, ecosystem, update["name"], update["available_version"])
    return Entry(identity, meta, update.get("arch") or "", False, update.get("current_version") or "")


_META_COLUMNS = (
    "kb",
    "title",
    "classification",
    "severity",
    "reboot",
    "supersedes",
    "size",
    "released",
    "security",
    "origin",
)


def _update_ids(entries: list[Entry], now) -> dict[tuple, int]:
    from devices.models import Update

    distinct = {e.identity: e for e in entries}
    new = [
        Update(
            kind=k,
            ecosystem=eco,
            identifier=ident,
            version=ver,
            first_seen_at=now,
            **{
                c: distinct[(k, eco, ident, ver)].meta.get(c, Update._meta.get_field(c).get_default())
                for c in _META_COLUMNS
            },
        )
        for (k, eco, ident, ver) in distinct
    ]
    Update.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT id, kind, ecosystem, identifier, version FROM devices_update u
            JOIN unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS x(k, e, i, v)
              ON u.kind = x.k AND u.ecosystem = x.e AND u.identifier = x.i AND u.version = x.v
            """,
            [[i[0] for i in distinct], [i[1] for i in distinct], [i[2] for i in distinct], [i[3] for i in distinct]],
        )
        return {(k, e, i, v): pk for pk, k, e, i, v in cursor.fetchall()}


def apply_updates(device, updates: list[dict], digest: str | None = None, now=None) -> dict:
    """Replace the device's offered updates by writing the difference. Caller holds the scope."""
    digest = digest or updates_hash(updates)
    if digest == device.updates_hash:
        return {"status": "unchanged"}
    now = now or timezone.now()
    entries = [_entry(device, u) for u in updates]
    with transaction.atomic():
        ids = _update_ids(entries, now)
        wanted = {(ids[e.identity], e.arch): (e.installed, e.current_version) for e in entries}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT update_id, arch, installed, current_version FROM devices_deviceupdate WHERE device_id = %s",
                [device.pk],
            )
            current = {(u, a): (i, c) for u, a, i, c in cursor.fetchall()}
            removed = [k for k in current if k not in wanted]
            added = [k for k in wanted if k not in current]
            changed = [k for k in wanted if k in current and current[k] != wanted[k]]
            if removed or changed:
                gone = removed + changed
                cursor.execute(
                    """
                    DELETE FROM devices_deviceupdate d USING unnest(%s::bigint[], %s::text[]) AS x(u, a)
                    WHERE d.device_id = %s AND d.update_id = x.u AND d.arch = x.a
                    """,
                    [[u for u, _ in gone], [a for _, a in gone], device.pk],
                )
            if added or changed:
                fresh = added + changed
                cursor.execute(
                    """
                    INSERT INTO devices_deviceupdate (tenant_id, device_id, update_id, arch, installed,
                                                      current_version, first_seen_at)
                    SELECT %s, %s, u, a, i, c, %s FROM unnest(%s::bigint[], %s::text[], %s::bool[], %s::text[])
                        AS x(u, a, i, c)
                    """,
                    [
                        device.tenant_id,
                        device.pk,
                        now,
                        [u for u, _ in fresh],
                        [a for _, a in fresh],
                        [wanted[k][0] for k in fresh],
                        [wanted[k][1] for k in fresh],
                    ],
                )
        type(device).objects.filter(pk=device.pk).update(updates_hash=digest, updates_updated_at=now)
        device.updates_hash = digest
        from devices.signals import updates_changed

        updates_changed.send(sender=type(device), device=device)
    return {
        "status": "applied",
        "total": len(wanted),
        "added": len(added),
        "removed": len(removed),
        "changed": len(changed),
    }
