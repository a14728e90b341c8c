"""Is a version affected by an OSV `affected` entry? The OSV specification's evaluation.

https://ossf.github.io/osv-schema/#evaluation: a version is affected if it is listed in
`versions`, or if some ECOSYSTEM/SEMVER range contains it: walking the range's events in
version order, `introduced` turns "affected" on, `fixed` (at or above) and `last_affected`
(above) turn it off; a range with `limit` events covers only versions below one of them.
GIT ranges name commits and are never evaluated against package versions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from advisories import versions

__all__ = ["AffectedRanges", "Verdict"]

MATCHABLE = ("ECOSYSTEM", "SEMVER")


@dataclass(frozen=True)
class Verdict:
    affected: bool
    fixed_version: str = ""  # the version that ends the range this one falls in ("" if none)


NOT_AFFECTED = Verdict(False)


def _order(ecosystem: str):
    compare = versions.compare

    def cmp(a: tuple[str, str], b: tuple[str, str]) -> int:
        # "introduced: 0" sorts below every version and "limit: *" above every version.
        if a[1] == b[1]:
            return 0
        for event, sign in ((a, -1), (b, 1)):
            if event == ("introduced", "0"):
                return sign
        for event, sign in ((a, 1), (b, -1)):
            if event[1] == "*":
                return sign
        return compare(ecosystem, a[1], b[1])

    return functools.cmp_to_key(cmp)


class AffectedRanges:
    """One `affected` entry, prepared once (events sorted) and then asked about many versions."""

    def __init__(self, ecosystem: str, ranges: list[dict], explicit_versions: list[str]):
        self.ecosystem = ecosystem
        self.explicit = frozenset(explicit_versions or ())
        key = _order(ecosystem)
        self.ranges = []
        for rng in ranges or []:
            if rng.get("type") not in MATCHABLE:
                continue
            events = [next(iter(e.items())) for e in rng.get("events", []) if e]
            limits = tuple(v for kind, v in events if kind == "limit")
            ordered = tuple(sorted((e for e in events if e[0] != "limit"), key=key))
            self.ranges.append((ordered, limits))
        self.fixes = tuple(v for ordered, _ in self.ranges for kind, v in ordered if kind == "fixed")

    def check(self, version: str) -> Verdict:
        if version in self.explicit:
            return Verdict(True, self._first_fix_above(version))
        for ordered, limits in self.ranges:
            verdict = self._in_range(version, ordered, limits)
            if verdict.affected:
                return verdict
        return NOT_AFFECTED

    def _in_range(self, version: str, ordered, limits) -> Verdict:
        compare, eco = versions.compare, self.ecosystem
        if limits and not any(v == "*" or compare(eco, version, v) < 0 for v in limits):
            return NOT_AFFECTED
        affected, fix = False, ""
        for kind, value in ordered:
            if kind == "introduced":
                if value == "0" or compare(eco, version, value) >= 0:
                    affected, fix = True, ""
            elif kind == "fixed":
                if compare(eco, version, value) >= 0:
                    affected = False
                elif affected and not fix:
                    fix = value
            elif kind == "last_affected" and compare(eco, version, value) > 0:
                affected = False
        return Verdict(True, fix) if affected else NOT_AFFECTED

    def _first_fix_above(self, version: str) -> str:
        above = [v for v in self.fixes if versions.compare(self.ecosystem, v, version) > 0]
        return min(above, key=versions.sort_key(self.ecosystem)) if above else ""
