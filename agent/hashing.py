"""The inventory and updates hashes, exactly as PROTOCOL.md defines them.

The server recomputes both, so any deviation here makes every full upload fail with 400.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

# Field order per inventory format; it is part of the hash definition.
INVENTORY_FIELDS = {
    "dpkg": ("name", "version", "arch", "source", "source_version"),
    "rpm": ("name", "version", "arch", "source_rpm"),
    "apk": ("name", "version", "arch", "origin"),
    "windows": ("name", "version", "publisher"),
}


def inventory_line(fmt: str, package: Mapping[str, object]) -> str:
    """One package as the TAB-joined line the hash is built from (missing or null fields are empty)."""
    return "\t".join(str(package.get(field) or "") for field in INVENTORY_FIELDS[fmt]) + "\n"


def inventory_hash(fmt: str, packages: Iterable[Mapping[str, object]]) -> str:
    lines = sorted(inventory_line(fmt, package) for package in packages)
    return hashlib.sha256((fmt + "\n" + "".join(lines)).encode("utf-8")).hexdigest()


def canonical_update(update: Mapping[str, object]) -> str:
    """One update serialised the way the hash needs it: sorted keys, no whitespace."""
    return json.dumps(update, sort_keys=True, separators=(",", ":"))


def updates_hash(updates: Iterable[Mapping[str, object]]) -> str:
    items = sorted(canonical_update(update) for update in updates)
    return hashlib.sha256(("[" + ",".join(items) + "]").encode("utf-8")).hexdigest()
