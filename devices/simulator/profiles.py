"""What a simulated machine looks like: its OS facts, installed software and offered updates.

Debian machines draw their packages from the real Debian 12 package index; each machine
has a stable core plus a random selection, a random share of its packages already at the
security archive's version, and of the rest a random share still at a version an earlier
security update shipped, so a fleet is neither fully patched nor fully vulnerable.
Windows machines carry common third-party applications and the Windows updates Microsoft
published for their build in February 2026. Ubuntu 22.04 and RHEL 9 machines carry a small
base system at versions those releases shipped, some of them older than the fixes in the
Ubuntu OSV and Red Hat CSAF advisories bundled with the tests (wayland, sudo, tigervnc).
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
    # The builds below are older than February's cumulative update, so it is never installed
    # (an installed one would contradict the build, which Microsoft's advisories match on).
    updates = [
        {"kind": "windows", "revision": 1, "supersedes": [], "installed": rng.random() < 0.3, **u}
        for u in _WINDOWS_UPDATES
    ]
    updates[0]["installed"] = False
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


# Ubuntu 22.04 "jammy": (binary, version, source, source version); versions from the jammy
# and jammy-updates/-security archives. wayland 1.20.0-1 is fixed by USN-5614-1 (1.20.0-1ubuntu0.1).
_UBUNTU_BASE = [
    ("apt", "2.4.12", "apt", "2.4.12"),
    ("bash", "5.1-6ubuntu1.1", "bash", "5.1-6ubuntu1.1"),
    ("curl", "7.81.0-1ubuntu1.16", "curl", "7.81.0-1ubuntu1.16"),
    ("libcurl4", "7.81.0-1ubuntu1.16", "curl", "7.81.0-1ubuntu1.16"),
    ("libc6", "2.35-0ubuntu3.6", "glibc", "2.35-0ubuntu3.6"),
    ("libssl3", "3.0.2-0ubuntu1.15", "openssl", "3.0.2-0ubuntu1.15"),
    ("openssl", "3.0.2-0ubuntu1.15", "openssl", "3.0.2-0ubuntu1.15"),
    ("openssh-server", "1:8.9p1-3ubuntu0.10", "openssh", "1:8.9p1-3ubuntu0.10"),
    ("python3.10", "3.10.12-1~22.04.3", "python3.10", "3.10.12-1~22.04.3"),
    ("sudo", "1.9.9-1ubuntu2.4", "sudo", "1.9.9-1ubuntu2.4"),
    ("systemd", "249.11-0ubuntu3.12", "systemd", "249.11-0ubuntu3.12"),
    ("tzdata", "2024a-0ubuntu0.22.04", "tzdata", "2024a-0ubuntu0.22.04"),
    ("zlib1g", "1:1.2.11.dfsg-2ubuntu9.2", "zlib", "1:1.2.11.dfsg-2ubuntu9.2"),
]
_UBUNTU_WAYLAND = ("1.20.0-1", "1.20.0-1ubuntu0.1")  # installed, fixed by the security update
_UBUNTU_OPTIONAL = [("sssd", "2.6.3-1ubuntu3.3", "sssd", "2.6.3-1ubuntu3.3")]


def ubuntu(rng: random.Random) -> Profile:
    rows = list(_UBUNTU_BASE) + [p for p in _UBUNTU_OPTIONAL if rng.random() < 0.5]
    old, fixed = _UBUNTU_WAYLAND
    wayland = fixed if rng.random() < 0.25 else old
    rows += [(name, wayland, "wayland", wayland) for name in ("libwayland-client0", "libwayland-server0")]
    installed = [
        {"name": n, "version": v, "arch": "amd64", "source": s, "source_version": sv} for n, v, s, sv in sorted(rows)
    ]
    updates = []
    if wayland == old:
        updates = [
            {
                "kind": "apt",
                "name": name,
                "arch": "amd64",
                "current_version": old,
                "available_version": fixed,
                "origin": "Ubuntu:22.04/jammy-security",
                "security": True,
            }
            for name in ("libwayland-client0", "libwayland-server0")
        ]
    os_info = {
        "family": "linux",
        "id": "ubuntu",
        "id_like": "debian",
        "name": "Ubuntu",
        "version_id": "22.04",
        "version": "22.04.4 LTS (Jammy Jellyfish)",
        "codename": "jammy",
        "pretty_name": "Ubuntu 22.04.4 LTS",
        "kernel": "5.15.0-105-generic",
        "pro": False,
        "build": None,
    }
    return Profile("ubuntu2204", os_info, "amd64", "dpkg", installed, updates)


# RHEL 9.3: (name, epoch:version-release, arch, source RPM). sudo 1.9.5p2-9.el9 is fixed by
# RHSA-2024:0811 (1.9.5p2-10.el9_3), tigervnc 1.13.1-3.el9 by RHSA-2024:0010 (1.13.1-3.el9_3.3).
_RHEL_BASE = [
    ("bash", "0:5.1.8-6.el9_1", "x86_64", "bash-5.1.8-6.el9_1.src.rpm"),
    ("curl", "0:7.76.1-26.el9_3.2", "x86_64", "curl-7.76.1-26.el9_3.2.src.rpm"),
    ("dnf", "0:4.14.0-8.el9", "noarch", "dnf-4.14.0-8.el9.src.rpm"),
    ("glibc", "0:2.34-83.el9_3.7", "x86_64", "glibc-2.34-83.el9_3.7.src.rpm"),
    ("kernel", "0:5.14.0-362.8.1.el9_3", "x86_64", "kernel-5.14.0-362.8.1.el9_3.src.rpm"),
    ("openssh-server", "0:8.7p1-34.el9", "x86_64", "openssh-8.7p1-34.el9.src.rpm"),
    ("openssl", "1:3.0.7-24.el9", "x86_64", "openssl-3.0.7-24.el9.src.rpm"),
    ("python3", "0:3.9.18-1.el9_3", "x86_64", "python3.9-3.9.18-1.el9_3.src.rpm"),
    ("systemd", "0:252-18.el9", "x86_64", "systemd-252-18.el9.src.rpm"),
    ("tzdata", "0:2023c-1.el9", "noarch", "tzdata-2023c-1.el9.src.rpm"),
]
_RHEL_SUDO = ("0:1.9.5p2-9.el9", "0:1.9.5p2-10.el9_3")
_RHEL_TIGERVNC = ("0:1.13.1-3.el9", "0:1.13.1-3.el9_3.3")


def rhel(rng: random.Random) -> Profile:
    rows = list(_RHEL_BASE)
    offered = []
    sudo = _RHEL_SUDO[1] if rng.random() < 0.25 else _RHEL_SUDO[0]
    rows.append(("sudo", sudo, "x86_64", f"sudo-{sudo.split(':', 1)[1]}.src.rpm"))
    if sudo == _RHEL_SUDO[0]:
        offered.append(("sudo", "x86_64", *_RHEL_SUDO, "rhel-9-for-x86_64-baseos-rpms"))
    if rng.random() < 0.5:  # a VNC server on about half of them
        old, fixed = _RHEL_TIGERVNC
        source = f"tigervnc-{old.split(':', 1)[1]}.src.rpm"
        rows += [
            ("tigervnc-server", old, "x86_64", source),
            ("tigervnc-license", old, "noarch", source),
            ("tigervnc-selinux", old, "noarch", source),
        ]
        for name, arch in (
            ("tigervnc-server", "x86_64"),
            ("tigervnc-license", "noarch"),
            ("tigervnc-selinux", "noarch"),
        ):
            offered.append((name, arch, old, fixed, "rhel-9-for-x86_64-appstream-rpms"))
    installed = [{"name": n, "version": v, "arch": a, "source_rpm": s} for n, v, a, s in sorted(rows)]
    updates = [
        {
            "kind": "dnf",
            "name": name,
            "arch": arch,
            "current_version": current,
            "available_version": available,
            "repo": repo,
            "security": True,
        }
        for name, arch, current, available, repo in offered
    ]
    os_info = {
        "family": "linux",
        "id": "rhel",
        "id_like": "fedora",
        "name": "Red Hat Enterprise Linux",
        "version_id": "9.3",
        "version": "9.3 (Plow)",
        "codename": "Plow",
        "pretty_name": "Red Hat Enterprise Linux 9.3 (Plow)",
        "kernel": "5.14.0-362.8.1.el9_3.x86_64",
        "pro": False,
        "build": None,
    }
    return Profile("rhel9", os_info, "x86_64", "rpm", installed, updates)


PROFILES = {"debian12": debian, "windows11": windows, "ubuntu2204": ubuntu, "rhel9": rhel}
