"""The fleet simulator's Debian machines: real versions, some patched, some left behind."""

from __future__ import annotations

import random
import subprocess
from collections import defaultdict

from devices.simulator import profiles


def index_entries() -> dict[str, list[profiles.DebianPackage]]:
    """The index's entries per package name (a few names appear more than once)."""
    entries = defaultdict(list)
    for package in profiles.debian_universe():
        entries[package.name].append(package)
    return entries


def dpkg_lt(a: str, b: str) -> bool:
    return subprocess.run(["dpkg", "--compare-versions", a, "lt", b], check=False).returncode == 0


def test_a_machine_left_behind_runs_versions_earlier_security_updates_shipped():
    earlier, entries = profiles.earlier_versions(), index_entries()
    machine = profiles.debian(random.Random(1), packages=1500, patched_share=0.0, lag_share=1.0)

    behind = [p for p in machine.packages if p["version"] not in {e.version for e in entries[p["name"]]}]
    assert len(behind) >= 10
    offered = {u["name"]: u for u in machine.updates}
    for package in behind:
        (entry,) = [e for e in entries[package["name"]] if e.source == package["source"]][:1]
        assert package["version"] in earlier[package["source"]]
        assert package["source_version"] == package["version"]
        assert dpkg_lt(package["version"], entry.version)
        # apt offers the newest version of it
        update = offered[package["name"]]
        assert (update["current_version"], update["available_version"]) == (
            package["version"],
            entry.security_version or entry.version,
        )


def test_a_fully_patched_machine_runs_the_newest_versions():
    entries = index_entries()
    machine = profiles.debian(random.Random(2), packages=800, patched_share=1.0, lag_share=1.0)

    for package in machine.packages:
        assert package["version"] in {e.security_version or e.version for e in entries[package["name"]]}
    assert machine.updates == []


def test_security_versions_in_the_index_are_newer_than_the_main_archive_ones():
    for entry in profiles.debian_universe():
        if entry.security_version:
            assert dpkg_lt(entry.version, entry.security_version), entry
