"""What a simulated machine looks like: its OS facts, installed software and offered updates.

Debian machines draw their packages from the real Debian 12 package index; each machine
has a stable core plus a random selection, a random share of its packages already at the
security archive's version, and of the rest a random share still at a version an earlier
security update shipped, so a fleet is neither fully patched nor fully vulnerable.
Windows machines carry common third-party applications and the Windows updates Microsoft
published for their build in February 2026.
"""

from __future__ import annotations

import functools
import gzip
import random
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent / "debian12_packages.tsv.gz"
# Earlier versions bookworm-security shipped per source (scripts/simulator_earlier_versions.py).
EARLIER = Path(__file__).resolve().parent / "debian12_earlier.tsv"


@dataclass(frozen=True)
class DebianPackage:
    name: str
    version: str
    arch: str
    source: str
    source_version: str
    security_version: str
    security_source_version: str


@functools.cache
def debian_universe() -> tuple[DebianPackage, ...]:
    rows = []
    with gzip.open(DATA, "rt", encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                rows.append(DebianPackage(*line.rstrip("\n").split("\t")))
    return tuple(rows)


@functools.cache
def earlier_versions() -> dict[str, tuple[str, ...]]:
    if not EARLIER.exists():
        return {}
    table = {}
    for line in EARLIER.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            source, versions = line.split("\t")
            table[source] = tuple(versions.split())
    return table


@functools.cache
def _debian_core() -> tuple[DebianPackage, ...]:
    """Packages every machine has: the security-maintained ones first, as real systems do."""
    universe = debian_universe()
    secured = [p for p in universe if p.security_version]
    return tuple(secured[:600])


@dataclass
class Profile:
    name: str
    os: dict
    arch: str
    inventory_format: str
    packages: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)


def debian(
    rng: random.Random, packages: int = 1500, patched_share: float | None = None, lag_share: float | None = None
) -> Profile:
    universe = debian_universe()
    core = list(_debian_core())
    chosen = {p.name: p for p in core[: min(len(core), packages)]}
    while len(chosen) < packages:
        p = universe[rng.randrange(len(universe))]
        chosen.setdefault(p.name, p)
    share = rng.uniform(0.2, 0.9) if patched_share is None else patched_share
    lag = rng.uniform(0.2, 0.7) if lag_share is None else lag_share
    earlier = earlier_versions()
    installed, updates = [], []
    for p in sorted(chosen.values(), key=lambda p: p.name):
        patched = rng.random() < share
        version = (p.security_version or p.version) if patched else p.version
        source_version = (p.security_source_version or p.source_version) if patched else p.source_version
        if not patched and p.version == p.source_version and p.source in earlier and rng.random() < lag:
            # Not patched for a while: a version an earlier security update shipped.
            version = source_version = rng.choice(earlier[p.source])
        installed.append(
            {"name": p.name, "version": version, "arch": p.arch, "source": p.source, "source_version": source_version}
        )
        newest = p.security_version or p.version
        if newest != version:
            updates.append(
                {
                    "kind": "apt",
                    "name": p.name,
                    "arch": p.arch,
                    "current_version": version,
                    "available_version": newest,
                    # A fix that a point release has since folded in comes from the main archive.
                    "origin": "Debian-Security:12/stable-security" if p.security_version else "Debian:12/stable",
                    "security": True,
                }
            )
    os_info = {
        "family": "linux",
        "id": "debian",
        "id_like": "",
        "name": "Debian GNU/Linux",
        "version_id": "12",
        "version": "12 (bookworm)",
        "codename": "bookworm",
        "pretty_name": "Debian GNU/Linux 12 (bookworm)",
        "kernel": "6.1.0-28-amd64",
        "pro": False,
        "build": None,
    }
    return Profile("debian12", os_info, "amd64", "dpkg", installed, updates)


_WINDOWS_APPS = [
    ("Google Chrome", "133.0.6943.60", "Google LLC"),
    ("Mozilla Firefox (x64 en-US)", "134.0.2", "Mozilla"),
    ("Microsoft Edge", "133.0.3065.59", "Microsoft Corporation"),
    ("7-Zip 24.08 (x64)", "24.08", "Igor Pavlov"),
    ("Adobe Acrobat Reader - English", "24.005.20320", "Adobe"),
    ("Zoom Workplace (64-bit)", "6.3.5.55350", "Zoom Communications, Inc."),
    ("Microsoft 365 Apps for business - en-us", "16.0.18429.20158", "Microsoft Corporation"),
    ("Notepad++ (64-bit x64)", "8.7.5", "Notepad++ Team"),
    ("VLC media player", "3.0.21", "VideoLAN"),
    ("Microsoft Teams", "25010.205.3404.9287", "Microsoft Corporation"),
]

_WINGET = [
    ("Mozilla.Firefox", "Mozilla Firefox (x64 en-US)", "134.0.2", "135.0"),
    ("Google.Chrome", "Google Chrome", "133.0.6943.60", "133.0.6943.99"),
    ("Notepad++.Notepad++", "Notepad++ (64-bit x64)", "8.7.5", "8.7.7"),
]

# February 2026 updates for Windows 11 24H2 (build 26100): KB numbers from Microsoft's CVRF for
# 2026-Feb; the update ids are made up for the simulation (WUA would report its own GUIDs).
_WINDOWS_UPDATES = [
    {
        "update_id": "6b0f9f4e-2d1c-4bb4-9a9e-5077181a0001",
        "kb": "KB5077181",
        "title": "2026-02 Cumulative Update for Windows 11 Version 24H2 for x64-based Systems (KB5077181)",
        "classification": "Security Updates",
        "severity": "Critical",
        "reboot": "required",
        "size": 812000000,
        "released": "2026-02-10",
    },
    {
        "update_id": "6b0f9f4e-2d1c-4bb4-9a9e-5077212a0002",
        "kb": "KB5077212",
        "title": "2026-02 Security Update for Windows 11 Version 24H2 for x64-based Systems (KB5077212)",
        "classification": "Security Updates",
        "severity": "Important",
        "reboot": "may",
        "size": 94000000,
        "released": "2026-02-10",
    },
]


def windows(rng: random.Random) -> Profile:
    apps = [a for a in _WINDOWS_APPS if rng.random() < 0.8]
    installed = [{"name": n, "version": v, "publisher": p} for n, v, p in apps]
    updates = [
        {"kind": "windows", "revision": 1, "supersedes": [], "installed": rng.random() < 0.3, **u}
        for u in _WINDOWS_UPDATES
    ]
    names = {a[0] for a in apps}
    updates += [
        {"kind": "winget", "id": i, "name": n, "current_version": c, "available_version": a, "source": "winget"}
        for i, n, c, a in _WINGET
        if n in names
    ]
    build = f"10.0.26100.{rng.choice([2894, 3037, 3194])}"
    os_info = {
        "family": "windows",
        "id": "windows",
        "id_like": "",
        "name": "Windows 11 Pro",
        "version_id": "24H2",
        "version": "24H2",
        "codename": "",
        "pretty_name": "Windows 11 Pro 24H2",
        "kernel": build,
        "pro": False,
        "build": build,
    }
    return Profile("windows11", os_info, "amd64", "windows", installed, updates)


PROFILES = {"debian12": debian, "windows11": windows}
