"""The Debian security tracker's JSON (https://security-tracker.debian.org/tracker/data/json).

One object: {source package: {CVE or TEMP id: {description, scope, debianbug, releases:
{codename: {status, fixed_version, urgency, repositories, nodsa, …}}}}}. It is converted
the way osv.dev publishes its DEBIAN-CVE records, into advisories the OSV matcher serves:

* one advisory "DEBIAN-<CVE>" per CVE id, gathering every source package the CVE names;
  TEMP- ids (issues without a CVE yet) are left out;
* one affected entry per (release, source package), ecosystem "Debian:<N>" from the codename;
  sid and other unnumbered suites are no ecosystem a device reports, so they are skipped;
* status "resolved" with a fixed_version: range introduced 0 -> fixed <fixed_version>;
  fixed_version "0" means the release never had the flaw: no entry for it;
  status "open" or "undetermined": every version is affected (introduced 0, nothing fixed);
* urgency gives the entry's severity ("not yet assigned" and "end-of-life" are unknown).

Read: description, debianbug and each release's status, fixed_version and urgency.
`repositories` (which version each suite carries today) changes with every upload and says
nothing about the flaw, so it is neither stored nor hashed: an upload does not rewrite advisories.

A malformed package entry is reported, and its CVE's advisory skipped whole, so the stored
advisory stays as it was rather than losing that package's ranges.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from advisories import versions
from advisories.feeds.base import Document, Feed, RecordError, StoreResult, content_hash
from advisories.feeds.locations import FetchError
from advisories.feeds.osv import highest_severity, word_severity

__all__ = ["RELEASES", "DebianTrackerFeed", "TrackerRecord"]

# Codename -> Debian version, the releases with a number (as distro-info-data lists them).
RELEASES = {
    "wheezy": "7",
    "jessie": "8",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
    "duke": "15",
}
STATUSES = {"resolved", "open", "undetermined"}
CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")
TRACKER_URL = "https://security-tracker.debian.org/tracker/"


class EntryInvalid(ValueError):
    pass


@dataclass
class TrackerRecord:
    key: str  # DEBIAN-CVE-…
    fields: dict
    affected: list[dict]
    hash: str


def _release_entry(package: str, codename: str, release, where: str) -> tuple[dict | None, dict]:
    """(affected entry or None, what is kept of the release) for one release of a package."""
    if not isinstance(release, dict):
        raise EntryInvalid(f"{where}: must be an object")
    status, fixed, urgency = release.get("status"), release.get("fixed_version"), release.get("urgency", "")
    if not isinstance(status, str) or status not in STATUSES:
        raise EntryInvalid(f"{where}.status: {status!r} is not one of {', '.join(sorted(STATUSES))}")
    if not isinstance(urgency, str):
        raise EntryInvalid(f"{where}.urgency: must be a string")
    kept = {k: v for k, v in release.items() if k != "repositories"}
    if status == "resolved":
        if not isinstance(fixed, str) or not fixed:
            raise EntryInvalid(f"{where}.fixed_version: a resolved release needs one")
        try:
            versions.validate("Debian", fixed)
        except ValueError as exc:
            raise EntryInvalid(f"{where}.fixed_version: {exc}") from None
    version = RELEASES.get(codename)
    if version is None or (status == "resolved" and fixed == "0"):
        return None, kept
    events = [{"introduced": "0"}, {"fixed": fixed}] if status == "resolved" else [{"introduced": "0"}]
    entry = {
        "ecosystem": f"Debian:{version}",
        "name": package,
        "purl": f"pkg:deb/debian/{package}?arch=source",
        "ranges": [{"type": "ECOSYSTEM", "events": events}],
        "versions": [],
        "fixed_versions": [fixed] if status == "resolved" else [],
        "severity": word_severity(urgency),
    }
    return entry, kept


def _package_cve(package: str, data) -> tuple[list[dict], dict]:
    """(affected entries, what is kept of the entry) for one CVE of one source package."""
    if not isinstance(data, dict):
        raise EntryInvalid("must be an object")
    releases = data.get("releases") or {}  # the tracker writes [] for a CVE with no release
    if not isinstance(releases, dict):
        raise EntryInvalid("releases: must be an object of codenames")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise EntryInvalid("description: must be a string")
    affected, kept_releases = [], {}
    for codename in sorted(releases, key=lambda name: (int(RELEASES.get(name, "999")), name)):
        entry, kept_releases[codename] = _release_entry(package, codename, releases[codename], f"releases.{codename}")
        if entry is not None:
            affected.append(entry)
    kept = {k: v for k, v in data.items() if k != "releases"}
    kept["releases"] = kept_releases
    return affected, kept


def _advisory(cve_id: str, packages: dict[str, tuple[list[dict], dict]]) -> TrackerRecord:
    raw = {package: kept for package, (_, kept) in sorted(packages.items())}
    affected = [entry for package in sorted(packages) for entry in packages[package][0]]
    description = next((kept["description"] for kept in raw.values() if kept.get("description")), "")
    references = [{"type": "ADVISORY", "url": TRACKER_URL + cve_id}]
    for bug in sorted({kept["debianbug"] for kept in raw.values() if isinstance(kept.get("debianbug"), int)}):
        references.append({"type": "REPORT", "url": f"https://bugs.debian.org/{bug}"})
    fields = {
        "summary": description.strip().split("\n", 1)[0][:500],
        "details": description,
        "aliases": [cve_id],
        "cves": [cve_id],
        "severity": highest_severity(entry["severity"] for entry in affected),
        "cvss_vector": "",
        "cvss_score": None,
        "published": None,  # the tracker gives no dates
        "modified": None,
        "withdrawn": None,
        "references": references,
        "has_git_ranges": False,
        "raw": raw,
    }
    return TrackerRecord(f"DEBIAN-{cve_id}", fields, affected, content_hash(raw))


class DebianTrackerFeed(Feed):
    kind = "debian-tracker"
    touches = "advisory_ids"

    def records(self, document: Document) -> Iterable[TrackerRecord | RecordError]:
        try:
            tracker = json.loads(document.payload)
        except ValueError as exc:
            raise FetchError(f"{document.name}: not JSON ({exc})") from None
        if not isinstance(tracker, dict):
            raise FetchError(f"{document.name}: not the tracker's JSON (an object of source packages)")
        by_cve: dict[str, dict[str, tuple[list[dict], dict]]] = defaultdict(dict)
        broken: set[str] = set()
        for package, cves in tracker.items():
            if not isinstance(cves, dict):
                yield RecordError(package, "must be an object of CVE ids")
                continue
            for cve_id, data in cves.items():
                if cve_id.startswith("TEMP-"):
                    continue
                if not CVE_ID.fullmatch(cve_id):
                    yield RecordError(f"{package}/{cve_id}", "neither a CVE nor a TEMP- id")
                    continue
                try:
                    by_cve[cve_id][package] = _package_cve(package, data)
                except EntryInvalid as exc:
                    broken.add(cve_id)
                    yield RecordError(f"{package}/{cve_id}", f"{exc}; DEBIAN-{cve_id} left as it was")
        for cve_id in sorted(by_cve.keys() - broken):
            yield _advisory(cve_id, by_cve[cve_id])

    def store_batch(self, records: list[TrackerRecord], source) -> StoreResult:
        from advisories.store import store_advisories

        return store_advisories(self.kind, records, source)
