"""OSV records (https://ossf.github.io/osv-schema/): single files, folders and zip archives.

Every range type and event is kept as published: ECOSYSTEM and SEMVER ranges with
`introduced`, `fixed`, `last_affected` and `limit` events, explicit `versions`, and GIT
ranges (stored and shown, never used to match package versions: they name commits).
A record is checked before it is stored: a malformed one is reported and skipped.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.dateparse import parse_datetime

from advisories import versions
from advisories.feeds.base import Document, Feed, RecordError, StoreResult, content_hash
from advisories.scoring import parse_vector, severity_for_score

__all__ = ["OsvFeed", "OsvRecord", "highest_severity", "parse_record", "word_severity"]

RANGE_TYPES = {"ECOSYSTEM", "SEMVER", "GIT"}
EVENT_KINDS = {"introduced", "fixed", "last_affected", "limit"}
# CVSS versions in order of preference: v3.x ranks findings elsewhere too (Cve.cvss_score).
CVSS_PREFERENCE = ("CVSS_V3", "CVSS_V4", "CVSS_V2")
# Debian's urgency, Ubuntu's priority and GHSA's severity words, mapped to our buckets.
_WORD_SEVERITY = {
    "critical": "critical",
    "high": "high",
    "important": "high",
    "moderate": "medium",
    "medium": "medium",
    "low": "low",
    "unimportant": "low",
    "negligible": "low",
}


class RecordInvalid(ValueError):
    pass


def word_severity(word) -> str:
    """Our bucket for a severity word; Debian marks urgencies it derived itself with "**" ("high**")."""
    return _WORD_SEVERITY.get(str(word or "").strip().rstrip("*").strip().lower(), "")


@dataclass
class OsvRecord:
    key: str
    fields: dict | None  # None: recognised as stored unchanged, so never parsed
    affected: list[dict]
    hash: str


def _time(value, where):
    if value in (None, ""):
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well-formed but impossible, e.g. February 30th
        parsed = None
    if parsed is None:
        raise RecordInvalid(f"{where}: not an RFC 3339 time: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _object(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordInvalid(f"{where}: must be an object")
    return value


def _strings(value, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecordInvalid(f"{where}: must be a list of strings")
    return value


@functools.cache
def _comparable(ecosystem: str) -> bool:
    """Whether we know the ecosystem's version scheme; others are stored but never matched."""
    try:
        versions.family(ecosystem)
    except ValueError:
        return False
    return True


def _validate_version(ecosystem: str, version: str, where: str) -> None:
    if not isinstance(version, str) or not version:
        raise RecordInvalid(f"{where}: a version must be a non-empty string")
    if not _comparable(ecosystem):
        return
    try:
        versions.validate(ecosystem, version)
    except ValueError as exc:
        raise RecordInvalid(f"{where}: {exc}") from None


def _ranges(affected: dict, ecosystem: str, where: str) -> list[dict]:
    ranges = affected.get("ranges") or []
    if not isinstance(ranges, list):
        raise RecordInvalid(f"{where}.ranges: must be a list")
    out = []
    for r_index, rng in enumerate(ranges):
        here = f"{where}.ranges[{r_index}]"
        if not isinstance(rng, dict) or rng.get("type") not in RANGE_TYPES:
            raise RecordInvalid(f"{here}.type: must be one of {', '.join(sorted(RANGE_TYPES))}")
        events = rng.get("events")
        if not isinstance(events, list) or not events:
            raise RecordInvalid(f"{here}.events: must be a non-empty list")
        clean = []
        for e_index, event in enumerate(events):
            if not isinstance(event, dict) or len(event) != 1 or next(iter(event)) not in EVENT_KINDS:
                raise RecordInvalid(f"{here}.events[{e_index}]: must be one of {', '.join(sorted(EVENT_KINDS))}")
            kind, value = next(iter(event.items()))
            if not isinstance(value, str) or not value:
                raise RecordInvalid(f"{here}.events[{e_index}].{kind}: must be a non-empty string")
            if (
                rng["type"] != "GIT"
                and not (kind == "introduced" and value == "0")
                and not (kind == "limit" and value == "*")
            ):
                _validate_version(ecosystem, value, f"{here}.events[{e_index}].{kind}")
            clean.append({kind: value})
        if not any("introduced" in e for e in clean):
            raise RecordInvalid(f"{here}.events: a range needs an 'introduced' event")
        entry = {"type": rng["type"], "events": clean}
        if rng.get("repo"):
            entry["repo"] = rng["repo"]
        out.append(entry)
    return out


_RANK = {"critical": 5, "high": 4, "medium": 3, "low": 2, "none": 1, "": 0}


def highest_severity(buckets) -> str:
    """The worst of some severity buckets; "" (unknown) when there are none."""
    return max(buckets, key=_RANK.get, default="")


def _severity_items(value, where: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise RecordInvalid(f"{where}: must be a list of objects")
    return value


def _rated(items: list[dict]) -> tuple[str, str, object]:
    """(bucket, CVSS vector, score) from OSV `severity` items: the preferred readable CVSS
    vector, else Ubuntu's priority word (type "Ubuntu")."""
    cvss = sorted(
        (i for i in items if i.get("type") in CVSS_PREFERENCE), key=lambda i: CVSS_PREFERENCE.index(i["type"])
    )
    for item in cvss:
        try:
            _, score = parse_vector(str(item.get("score", "")))
        except ValueError:
            continue
        return severity_for_score(score), str(item["score"]), score
    for item in items:
        if item.get("type") == "Ubuntu" and word_severity(item.get("score")):
            return word_severity(item.get("score")), "", None
    return "", "", None


def _package_severity(entry: dict, where: str) -> str:
    """An affected entry's own severity: its `severity` items, else its urgency or severity word."""
    bucket, _, _ = _rated(_severity_items(entry.get("severity"), f"{where}.severity"))
    specific = _object(entry.get("ecosystem_specific"), f"{where}.ecosystem_specific")
    return bucket or word_severity(specific.get("urgency")) or word_severity(specific.get("severity"))


def _severity(record: dict, package_buckets: list[str]) -> tuple[str, str, object]:
    """(bucket, CVSS vector, score) of the record: its `severity`, else database_specific's
    word, else the highest of its packages' own severities."""
    bucket, vector, score = _rated(_severity_items(record.get("severity"), "severity"))
    specific = _object(record.get("database_specific"), "database_specific")
    if bucket:
        return bucket, vector, score
    return word_severity(specific.get("severity")) or highest_severity(package_buckets), "", None


def _git_only(entry: dict) -> bool:
    ranges = entry.get("ranges")
    return (
        bool(ranges)
        and isinstance(ranges, list)
        and all(isinstance(r, dict) and r.get("type") == "GIT" and r.get("repo") for r in ranges)
    )


def parse_record(data) -> OsvRecord:
    if not isinstance(data, dict):
        raise RecordInvalid("a record must be a JSON object")
    advisory_id = data.get("id")
    if not isinstance(advisory_id, str) or not advisory_id.strip():
        raise RecordInvalid("id: required")
    modified = _time(data.get("modified"), "modified")
    if modified is None:
        raise RecordInvalid("modified: required")
    affected_in = data.get("affected") or []
    if not isinstance(affected_in, list):
        raise RecordInvalid("affected: must be a list")
    affected, has_git = [], False
    for index, entry in enumerate(affected_in):
        where = f"affected[{index}]"
        if not isinstance(entry, dict):
            raise RecordInvalid(f"{where}: must be an object")
        package = entry.get("package")
        if package is None and _git_only(entry):
            # OSV allows a repository-only entry: GIT ranges and no package. Kept under the repo.
            package = {"ecosystem": "GIT", "name": entry["ranges"][0].get("repo", "")}
        if not isinstance(package, dict) or not all(
            isinstance(package.get(key), str) and package[key] for key in ("ecosystem", "name")
        ):
            raise RecordInvalid(f"{where}.package: needs an ecosystem and a name")
        ecosystem = package["ecosystem"]
        ranges = _ranges(entry, ecosystem, where)
        explicit = _strings(entry.get("versions"), f"{where}.versions")
        has_git = has_git or any(r["type"] == "GIT" for r in ranges)
        fixed = [next(iter(e.values())) for r in ranges if r["type"] != "GIT" for e in r["events"] if "fixed" in e]
        affected.append(
            {
                "ecosystem": ecosystem,
                "name": package["name"],
                "purl": str(package.get("purl") or ""),
                "ranges": ranges,
                "versions": explicit,
                "fixed_versions": fixed,
                "severity": _package_severity(entry, where),
            }
        )
    aliases = _strings(data.get("aliases"), "aliases")
    upstream = _strings(data.get("upstream"), "upstream")
    cves = sorted({x for x in [advisory_id, *aliases, *upstream] if x.startswith("CVE-")})
    severity, vector, score = _severity(data, [a["severity"] for a in affected])
    details = str(data.get("details") or "")
    summary = str(data.get("summary") or details.strip().split("\n", 1)[0])[:500]
    fields = {
        "summary": summary,
        "details": details,
        "aliases": aliases,
        "cves": cves,
        "severity": severity,
        "cvss_vector": vector,
        "cvss_score": score,
        "published": _time(data.get("published"), "published"),
        "modified": modified,
        "withdrawn": _time(data.get("withdrawn"), "withdrawn"),
        "references": [r for r in (data.get("references") or []) if isinstance(r, dict)][:50],
        "has_git_ranges": has_git,
        "raw": data,
    }
    return OsvRecord(advisory_id.strip(), fields, affected, content_hash(data))


class OsvFeed(Feed):
    kind = "osv"

    def __init__(self):
        self._loaded: dict[int, object] = {}
        self._known: dict[str, str] = {}

    def prescreen(self, documents: list[Document]) -> None:
        """Read the documents' JSON and fetch the stored hashes of their ids in one query."""
        from advisories.models import Advisory

        self._loaded, ids = {}, set()
        for document in documents:
            try:
                data = json.loads(document.payload)
            except ValueError:
                continue  # records() reports it
            self._loaded[id(document)] = data
            for item in data if isinstance(data, list) else [data]:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    ids.add(item["id"].strip())
        self._known = dict(Advisory.objects.filter(advisory_id__in=ids).values_list("advisory_id", "content_hash"))

    def records(self, document: Document) -> Iterable[OsvRecord | RecordError]:
        data = self._loaded.pop(id(document), None)
        if data is None:
            try:
                data = json.loads(document.payload)
            except ValueError as exc:
                yield RecordError(document.name, f"not JSON: {exc}")
                return
        for item in data if isinstance(data, list) else [data]:
            key = item.get("id", document.name) if isinstance(item, dict) else document.name
            if isinstance(key, str) and key.strip() in self._known:
                digest = content_hash(item)
                if self._known[key.strip()] == digest:
                    # Stored exactly so: no need to parse and validate it again.
                    yield OsvRecord(key.strip(), None, [], digest)
                    continue
            try:
                yield parse_record(item)
            except RecordInvalid as exc:
                yield RecordError(str(key), str(exc))

    def store_batch(self, records: list[OsvRecord], source) -> StoreResult:
        from advisories.store import store_advisories

        return store_advisories(self.kind, records, source)
