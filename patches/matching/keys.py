"""Which name and version of an installed package an advisory speaks of, per ecosystem family.

Debian and Ubuntu advisories name source packages, so a binary is matched by its source
package and source version (a binNMU'd binary `1.2-3+b1` belongs to source `1.2-3`). Red
Hat's CSAF names binary RPMs, so rpm systems match the binary name and its EVR. Alpine's
advisories name the origin (source) package, versioned like its binaries.
"""

from __future__ import annotations

import functools

from advisories import versions

__all__ = ["advisory_ecosystems", "match_key"]


@functools.cache
def family(ecosystem: str) -> str:
    try:
        return versions.family(ecosystem)
    except ValueError:
        return ""


def match_key(ecosystem: str, name: str, version: str, source_name: str, source_version: str) -> tuple[str, str]:
    kind = family(ecosystem)
    if kind == "dpkg":
        return source_name or name, source_version or version
    if kind == "apk":
        return source_name or name, version
    return name, version


# Advisories of another ecosystem that apply to packages filed under this one, and whether
# they apply only to devices with Ubuntu Pro (ESM) enabled.
def advisory_ecosystems(ecosystem: str) -> list[tuple[str, bool]]:
    found = [(ecosystem, False)]
    if ecosystem.startswith("Ubuntu:") and not ecosystem.startswith("Ubuntu:Pro:"):
        found.append(("Ubuntu:Pro:" + ecosystem.removeprefix("Ubuntu:"), True))
    # AlmaLinux and Rocky Linux rebuild RHEL with the same package versions: Red Hat's
    # advisories apply to them (as their own errata are published later, if at all).
    for rebuild in ("AlmaLinux:", "Rocky Linux:"):
        if ecosystem.startswith(rebuild):
            found.append(("Red Hat:" + ecosystem.removeprefix(rebuild), False))
    return found
