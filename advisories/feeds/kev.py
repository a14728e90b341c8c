"""CISA's Known Exploited Vulnerabilities catalog (known_exploited_vulnerabilities.json).

The catalog is one JSON object: `catalogVersion`, `dateReleased`, `count` and
`vulnerabilities`, a list of entries. Fields read from each entry: `cveID`, `vendorProject`,
`product`, `vulnerabilityName`, `dateAdded` and `dueDate` (YYYY-MM-DD), `shortDescription`,
`requiredAction`, `knownRansomwareCampaignUse` ("Known"/"Unknown"), `notes` and `cwes`.

Each entry becomes a KevEntry with a hash of what is stored, so a re-ingest of the daily
catalog writes only the entries CISA added or changed, in one bulk upsert per batch.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from advisories.feeds.base import Document, Feed, RecordError, StoreResult, content_hash
from advisories.feeds.locations import FetchError
from advisories.models import KevEntry

__all__ = ["KevFeed", "KevRecord", "parse_entry"]

CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")
# Entry field -> KevEntry field, for the plain text fields.
TEXT_FIELDS = {
    "vendorProject": "vendor",
    "product": "product",
    "vulnerabilityName": "name",
    "knownRansomwareCampaignUse": "ransomware",
    "shortDescription": "description",
    "requiredAction": "required_action",
    "notes": "notes",
}
STORED_FIELDS = [*TEXT_FIELDS.values(), "date_added", "due_date", "cwes", "content_hash"]
LIMITS = {field: KevEntry._meta.get_field(field).max_length for field in TEXT_FIELDS.values()}


class EntryInvalid(ValueError):
    pass


@dataclass
class KevRecord:
    key: str  # the CVE id
    fields: dict
    hash: str


def _date(value, name: str, required: bool) -> dt.date | None:
    if value in (None, ""):
        if required:
            raise EntryInvalid(f"{name}: required")
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise EntryInvalid(f"{name}: not a YYYY-MM-DD date: {value!r}") from None


def _text(entry: dict, name: str, field: str) -> str:
    value = entry.get(name) or ""
    if not isinstance(value, str):
        raise EntryInvalid(f"{name}: must be a string")
    limit = LIMITS[field]
    if limit and len(value) > limit:
        # Rejected rather than cut: a truncated name or vendor would be stored as if true.
        raise EntryInvalid(f"{name}: longer than {limit} characters")
    return value


def parse_entry(entry) -> KevRecord:
    if not isinstance(entry, dict):
        raise EntryInvalid("an entry must be a JSON object")
    cve_id = entry.get("cveID")
    if not isinstance(cve_id, str) or not CVE_ID.fullmatch(cve_id.strip()):
        raise EntryInvalid(f"cveID: not a CVE id: {cve_id!r}")
    cwes = entry.get("cwes") or []
    if not isinstance(cwes, list) or not all(isinstance(c, str) for c in cwes):
        raise EntryInvalid("cwes: must be a list of strings")
    fields = {field: _text(entry, name, field) for name, field in TEXT_FIELDS.items()}
    fields["date_added"] = _date(entry.get("dateAdded"), "dateAdded", required=True)
    fields["due_date"] = _date(entry.get("dueDate"), "dueDate", required=False)
    fields["cwes"] = cwes
    # The hash covers what is stored, so fields we do not keep cannot cause rewrites.
    return KevRecord(cve_id.strip(), fields, content_hash(fields))


class KevFeed(Feed):
    kind = "kev"
    touches = "cve_ids"
    batch_size = 2000  # the whole catalog (about 1,400 entries) in one query

    def records(self, document: Document) -> Iterable[KevRecord | RecordError]:
        try:
            catalog = json.loads(document.payload)
        except ValueError as exc:
            raise FetchError(f"{document.name}: not JSON ({exc})") from None
        entries = catalog.get("vulnerabilities") if isinstance(catalog, dict) else None
        if not isinstance(entries, list):
            raise FetchError(f"{document.name}: not a KEV catalog (no 'vulnerabilities' list)")
        for index, entry in enumerate(entries):
            try:
                yield parse_entry(entry)
            except EntryInvalid as exc:
                cve_id = entry.get("cveID") if isinstance(entry, dict) else None
                name = cve_id if isinstance(cve_id, str) and cve_id else f"vulnerabilities[{index}]"
                yield RecordError(name, str(exc))

    def store_batch(self, records: list[KevRecord], source) -> StoreResult:
        result = StoreResult()
        by_cve = {r.key: r for r in records}  # the last copy of a duplicated id wins
        stored = dict(KevEntry.objects.filter(cve_id__in=by_cve).values_list("cve_id", "content_hash"))
        writes = []
        for cve_id, record in by_cve.items():
            if stored.get(cve_id) == record.hash:
                result.unchanged += 1
                continue
            if cve_id in stored:
                result.updated += 1
            else:
                result.added += 1
            result.touched.add(cve_id)
            writes.append(KevEntry(cve_id=cve_id, content_hash=record.hash, **record.fields))
        if writes:
            KevEntry.objects.bulk_create(
                writes, update_conflicts=True, unique_fields=["cve_id"], update_fields=STORED_FIELDS
            )
        return result

    def count_for(self, source) -> int:
        # The catalog is one list for the whole site, whichever source brought it.
        return KevEntry.objects.count()
