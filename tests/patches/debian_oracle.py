"""Expected findings computed without the project's code: OSV JSON read directly, dpkg decides.

For every installed (`ii`) package, each Debian 12 DSA naming its source package affects it
when `dpkg --compare-versions <source version> lt <fixed version>` says so (the DSA records
have one range each: introduced 0, fixed F, as their README explains).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

DSA_FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "advisories" / "osv" / "debian12_from_dsa"


def dsa_fixes() -> dict[str, list[tuple[str, str]]]:
    """source package -> [(DSA id, fixed version)] for Debian:12."""
    fixes: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(DSA_FOLDER.glob("*.json")):
        record = json.loads(path.read_text())
        for affected in record.get("affected", []):
            if affected["package"]["ecosystem"] != "Debian:12":
                continue
            for rng in affected["ranges"]:
                events = rng["events"]
                assert events[0] == {"introduced": "0"} and len(events) == 2, record["id"]
                fixes.setdefault(affected["package"]["name"], []).append((record["id"], events[1]["fixed"]))
    return fixes


def dpkg_lt(a: str, b: str) -> bool:
    result = subprocess.run(["dpkg", "--compare-versions", a, "lt", b], capture_output=True, text=True)
    if result.returncode not in (0, 1):
        raise AssertionError(f"dpkg could not compare {a!r} and {b!r}: {result.stderr}")
    return result.returncode == 0


def installed(dpkg_query_output: str) -> list[tuple[str, str, str, str]]:
    """(binary name, binary version, source, source version) of the `ii` lines."""
    rows = []
    for line in dpkg_query_output.splitlines():
        status, binary, version, _arch, source, source_version = line.split("\t")
        if status.strip() == "ii":
            name = binary.split(":")[0]
            rows.append((name, version, source or name, source_version or version))
    return rows


def expected_findings(dpkg_query_output: str) -> set[tuple[str, str, str, str]]:
    """{(DSA id, binary name, installed binary version, fixed version)}."""
    fixes = dsa_fixes()
    expected = set()
    for name, version, source, source_version in installed(dpkg_query_output):
        for dsa, fixed in fixes.get(source, []):
            if dpkg_lt(source_version, fixed):
                expected.add((dsa, name, version, fixed))
    return expected
