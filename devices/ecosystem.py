"""The OSV ecosystem name of a device, from what its agent reports about the OS.

OSV names releases as `Debian:12`, `Ubuntu:22.04:LTS` (`Ubuntu:Pro:22.04:LTS` for
ESM content), `Red Hat:9`, `AlmaLinux:9`, `Rocky Linux:9`, `Alpine:v3.20`,
`SUSE:…`/`openSUSE:…`. Windows devices are keyed by their build (`Windows:10.0.22631`).
"""

from __future__ import annotations

import re

__all__ = ["ecosystem_key", "ecosystems_for", "package_ecosystem"]

# os-release ID -> (OSV name, how many version components the release keeps)
_LINUX = {
    "debian": ("Debian", 1),
    "ubuntu": ("Ubuntu", 2),
    "rhel": ("Red Hat", 1),
    "redhat": ("Red Hat", 1),
    "almalinux": ("AlmaLinux", 1),
    "rocky": ("Rocky Linux", 1),
    "alpine": ("Alpine", 2),
    "sles": ("SUSE", None),
    "sled": ("SUSE", None),
    "opensuse-leap": ("openSUSE", None),
    "opensuse-tumbleweed": ("openSUSE", None),
}
# Derivatives that share their parent's release numbers (CentOS Stream 9 ~ RHEL 9, Raspbian 12
# ~ Debian 12). Ubuntu derivatives (Mint, Pop!_OS) number releases their own way: not mapped.
_LIKE_FALLBACK = {"rhel": "rhel", "centos": "rhel", "fedora": "rhel", "debian": "debian"}


def _release(version_id: str, parts: int | None) -> str:
    numbers = re.findall(r"\d+", version_id or "")
    return ".".join(numbers[:parts]) if parts else (version_id or "")


def _is_ubuntu_lts(release: str) -> bool:
    # Ubuntu LTS releases are the April releases of even years: 20.04, 22.04, 24.04, ...
    match = re.fullmatch(r"(\d+)\.(\d+)", release)
    return bool(match) and int(match.group(1)) % 2 == 0 and match.group(2) == "04"


def ecosystem_key(os_family: str, os_id: str = "", version_id: str = "", id_like: str = "", build: str = "") -> str:
    """The device's primary OSV ecosystem, or "" when the OS is not one advisories cover."""
    if os_family == "windows":
        return f"Windows:{build}" if build else "Windows"
    if os_family != "linux":
        return ""
    os_id = (os_id or "").lower()
    if os_id not in _LINUX:
        like = next((_LIKE_FALLBACK[x] for x in (id_like or "").lower().split() if x in _LIKE_FALLBACK), None)
        if like is None:
            return ""
        os_id = like
    name, parts = _LINUX[os_id]
    release = _release(version_id, parts)
    if not release:
        return name
    if name == "Alpine":
        return f"Alpine:v{release}"
    if name == "Ubuntu":
        return f"Ubuntu:{release}:LTS" if _is_ubuntu_lts(release) else f"Ubuntu:{release}"
    return f"{name}:{release}"


def ecosystems_for(ecosystem: str, ubuntu_pro: bool = False) -> list[str]:
    """All ecosystems whose advisories apply to a device: Ubuntu Pro adds the ESM stream."""
    if ubuntu_pro and ecosystem.startswith("Ubuntu:"):
        return [ecosystem, "Ubuntu:Pro:" + ecosystem.removeprefix("Ubuntu:")]
    return [ecosystem] if ecosystem else []


def package_ecosystem(device_ecosystem: str, inventory_format: str) -> str:
    """Where a device's installed packages are filed: Windows applications share one bucket."""
    if inventory_format == "windows":
        return "Windows"
    return device_ecosystem
