"""Regenerate devices/simulator/debian12_earlier.tsv from the Debian 12 DSAs in OSV form.

For each source package of the simulator's Debian 12 index, the versions that earlier DSAs
fixed and that are older than the index's version: real versions bookworm-security once
shipped, which the simulator gives to machines that have not been patched for a while.

    .venv/bin/python scripts/simulator_earlier_versions.py [DSA_FOLDER]
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisories import versions  # noqa: E402
from devices.simulator.profiles import EARLIER, debian_universe  # noqa: E402

DEFAULT_FOLDER = ROOT / "tests" / "fixtures" / "advisories" / "osv" / "debian12_from_dsa"


def main(folder: Path) -> int:
    fixed: dict[str, set[str]] = {}
    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text())
        for affected in record.get("affected", []):
            if affected.get("package", {}).get("ecosystem") != "Debian:12":
                continue
            for entry in affected.get("ranges", []):
                for event in entry.get("events", []):
                    if "fixed" in event:
                        fixed.setdefault(affected["package"]["name"], set()).add(event["fixed"])
    current = {p.source: p.source_version for p in debian_universe()}
    key = functools.cmp_to_key(lambda a, b: versions.compare("Debian:12", a, b))
    lines = ["# source\tearlier bookworm-security versions, oldest first (see the NOTICE)"]
    for source in sorted(fixed):
        if source not in current:
            continue
        older = sorted((v for v in fixed[source] if versions.compare("Debian:12", v, current[source]) < 0), key=key)
        if older:
            lines.append(f"{source}\t{' '.join(older)}")
    EARLIER.write_text("\n".join(lines) + "\n")
    print(f"{len(lines) - 1} source packages written to {EARLIER.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FOLDER))
