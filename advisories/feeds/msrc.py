"""Microsoft's monthly security update documents, CVRF 1.1 XML: which KB fixes which CVEs on which products.

Format: a cvrf:cvrfdoc in the CVRF 1.1 cvrf, vuln and prod namespaces, published by Microsoft.
Read: DocumentTracking/Identification/ID (e.g. "2026-Feb") and InitialReleaseDate; every
ProductTree FullProductName (ProductID -> name); and per Vulnerability its CVE, its Threats of
Type "Severity" (a word per ProductID: Critical, Important, Moderate, Low) and its Remediations
of Type "Vendor Fix" whose Description is a KB number: ProductIDs, URL, Supercedence (KB numbers
separated by commas or semicolons, or empty), RestartRequired and FixedBuild. Vendor Fixes that
name no KB ("Release Notes", "Click to Run", Linux package names) are not Windows updates here.

One WindowsKb per KB, aggregated over the document: its products, the CVEs it fixes, the highest
severity of those CVEs on those products, the KBs it supersedes, its fixed builds. A KB listed in
two documents keeps the union of both documents' CVEs and products; the later document (by
release date) gives the rest. CVRF documents of other publishers or dialects (SUSE's CVRF 1.2)
are reported as errors naming the document.

Locations: a file or folder of documents, one document's URL, or the MSRC API's updates listing
(https://api.msrc.microsoft.com/cvrf/v3.0/updates): the documents first released in the last
settings.MSRC_MONTHS months (default 3) are fetched as XML, skipping those whose
CurrentReleaseDate is the one already ingested (kept in the source's cursor).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from advisories.feeds.base import Document, Feed, RecordError, StoreResult, content_hash
from advisories.feeds.locations import FeedUnchanged, FetchError, fetch, is_url, read_location

__all__ = ["KbRecord", "MsrcFeed", "kb_records", "parse_cvrf"]

CVRF = "http://www.icasi.org/CVRF/schema/cvrf/1.1"
NS = {
    "cvrf": CVRF,
    "vuln": "http://www.icasi.org/CVRF/schema/vuln/1.1",
    "prod": "http://www.icasi.org/CVRF/schema/prod/1.1",
}
FULL_PRODUCT_NAME = f"{{{NS['prod']}}}FullProductName"
SEVERITY_RANK = {"critical": 4, "important": 3, "moderate": 2, "low": 1}
RESTART_RANK = {"yes": 3, "maybe": 2, "no": 1}
KB_NUMBER = re.compile(r"^(?:KB)?(\d{4,10})$", re.IGNORECASE)
DEFAULT_MONTHS = 3
CURSOR_KEY = "documents"  # {document ID: CurrentReleaseDate ingested}
KB_FIELDS = (
    "document",
    "released",
    "products",
    "cves",
    "severity",
    "supersedes",
    "restart_required",
    "fixed_builds",
    "url",
)


def current_time() -> dt.datetime:
    """The sync's clock (tests fix it to choose which months are recent)."""
    return timezone.now()


class CvrfInvalid(ValueError):
    pass


@dataclass
class KbRecord:
    key: str  # "KB5077181", for errors and logs
    kb: str  # digits only, as WindowsKb stores it
    fields: dict


@dataclass
class _Kb:
    products: set = field(default_factory=set)
    cves: set = field(default_factory=set)
    severity: str = ""
    supersedes: set = field(default_factory=set)
    restart_required: str = ""
    fixed_builds: set = field(default_factory=set)
    url: str = ""


def _natural(value: str) -> list:
    """Sort key that puts CVE-2026-9999 before CVE-2026-10000 and build 10.0.9 before 10.0.10."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", value)]


def _higher(first: str, second: str, ranks: dict) -> str:
    return max(first, second, key=lambda word: (ranks.get(word.lower(), 0), bool(word)))


def parse_cvrf(payload: bytes) -> ET.Element:
    """The document's root element, if it is Microsoft's CVRF 1.1; CvrfInvalid says why not."""
    try:
        # Python's bundled expat (2.4+) refuses entity-expansion bombs and ElementTree loads no
        # external entities, so a hostile document cannot reach beyond its own bytes.
        root = ET.fromstring(payload)  # noqa: S314
    except ET.ParseError as exc:
        raise CvrfInvalid(f"not well-formed XML: {exc}") from None
    if root.tag != f"{{{CVRF}}}cvrfdoc":
        raise CvrfInvalid(f"not a Microsoft CVRF 1.1 document: the root element is {root.tag}")
    publisher = root.find("cvrf:DocumentPublisher", NS)
    if publisher is None or "microsoft" not in " ".join(publisher.itertext()).lower():
        raise CvrfInvalid("not a Microsoft CVRF 1.1 document: DocumentPublisher does not name Microsoft")
    if not (root.findtext("cvrf:DocumentTracking/cvrf:Identification/cvrf:ID", "", NS) or "").strip():
        raise CvrfInvalid("DocumentTracking/Identification/ID: required")
    return root


def _date(value: str | None) -> dt.date | None:
    parsed = parse_datetime(value.strip()) if value else None
    return parsed.date() if parsed else None


def _severities(vulnerability: ET.Element) -> dict[str | None, str]:
    """ProductID -> MSRC severity word; None holds a severity stated for every product."""
    found: dict[str | None, str] = {}
    for threat in vulnerability.findall("vuln:Threats/vuln:Threat[@Type='Severity']", NS):
        word = (threat.findtext("vuln:Description", "", NS) or "").strip()
        products = [p.text.strip() for p in threat.findall("vuln:ProductID", NS) if p.text] or [None]
        for product in products:
            found[product] = _higher(found.get(product, ""), word, SEVERITY_RANK)
    return found


def _kb_numbers(text: str | None) -> set[str]:
    numbers = set()
    for token in re.split(r"[,;\s]+", text or ""):
        match = KB_NUMBER.match(token)
        if match:
            numbers.add(match.group(1))
    return numbers


def kb_records(root: ET.Element) -> list[KbRecord]:
    """The document's KBs, each aggregated over every Vulnerability that lists it as a Vendor Fix."""
    document = root.findtext("cvrf:DocumentTracking/cvrf:Identification/cvrf:ID", "", NS).strip()
    released = _date(root.findtext("cvrf:DocumentTracking/cvrf:InitialReleaseDate", None, NS))
    names = {p.get("ProductID"): (p.text or "").strip() for p in root.iter(FULL_PRODUCT_NAME)}
    kbs: dict[str, _Kb] = {}
    for vulnerability in root.findall("vuln:Vulnerability", NS):
        cve = (vulnerability.findtext("vuln:CVE", "", NS) or "").strip()
        severities = _severities(vulnerability)
        for remediation in vulnerability.findall("vuln:Remediations/vuln:Remediation[@Type='Vendor Fix']", NS):
            match = KB_NUMBER.match((remediation.findtext("vuln:Description", "", NS) or "").strip())
            if not match:
                continue
            kb = kbs.setdefault(match.group(1), _Kb())
            product_ids = [p.text.strip() for p in remediation.findall("vuln:ProductID", NS) if p.text]
            # An id the ProductTree does not name has no name to show; the KB and CVE still count.
            kb.products.update(names[p] for p in product_ids if names.get(p))
            if cve:
                kb.cves.add(cve)
                for product in product_ids:
                    kb.severity = _higher(
                        kb.severity, severities.get(product) or severities.get(None, ""), SEVERITY_RANK
                    )
            kb.supersedes |= _kb_numbers(remediation.findtext("vuln:Supercedence", "", NS))
            restart = (remediation.findtext("vuln:RestartRequired", "", NS) or "").strip()
            kb.restart_required = _higher(kb.restart_required, restart, RESTART_RANK)
            kb.fixed_builds.update(b.text.strip() for b in remediation.findall("vuln:FixedBuild", NS) if b.text)
            kb.url = kb.url or (remediation.findtext("vuln:URL", "", NS) or "").strip()
    return [
        KbRecord(
            f"KB{number}",
            number,
            {
                "document": document[:40],
                "released": released,
                "products": sorted(kb.products),
                "cves": sorted(kb.cves, key=_natural),
                "severity": kb.severity[:20],
                "supersedes": sorted(kb.supersedes - {number}, key=_natural),
                "restart_required": kb.restart_required[:20],
                "fixed_builds": sorted(kb.fixed_builds, key=_natural),
                "url": kb.url[:300],
            },
        )
        for number, kb in sorted(kbs.items())
    ]


def merge(stored: dict, incoming: dict) -> dict:
    """A KB seen in two documents: the union of CVEs and products, the rest from the later document."""

    def released(fields):
        return fields["released"] or dt.date.min

    later = incoming if released(incoming) >= released(stored) else stored
    return {
        **later,
        "cves": sorted(set(stored["cves"]) | set(incoming["cves"]), key=_natural),
        "products": sorted(set(stored["products"]) | set(incoming["products"])),
        "severity": _higher(stored["severity"], incoming["severity"], SEVERITY_RANK),
    }


def _months_before(moment: dt.datetime, months: int) -> dt.datetime:
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _is_listing(url: str) -> bool:
    return urlsplit(url).path.rstrip("/").endswith("/updates")


@dataclass
class _Listed:
    id: str
    url: str
    released: dt.datetime
    revision: str  # CurrentReleaseDate: changes when Microsoft revises the document


def _listing(url: str, response: requests.Response) -> list[_Listed]:
    try:
        entries = response.json()["value"]
        if not isinstance(entries, list):
            raise TypeError("'value' is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise FetchError(f"{url}: not an MSRC updates listing ({exc})") from exc
    listed = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        released = parse_datetime(str(entry.get("InitialReleaseDate") or ""))
        if not entry.get("ID") or not entry.get("CvrfUrl") or released is None:
            continue  # nothing to fetch or to date it by
        listed.append(
            _Listed(
                str(entry["ID"]),
                urljoin(url, str(entry["CvrfUrl"])),
                released if released.tzinfo else released.replace(tzinfo=dt.UTC),
                str(entry.get("CurrentReleaseDate") or ""),
            )
        )
    return sorted(listed, key=lambda e: e.released)


class MsrcFeed(Feed):
    kind = "msrc"
    touches = "kbs"
    suffixes = (".xml",)

    def documents(self, location: str, source=None, session=None, now=None) -> Iterator[Document]:
        if not is_url(location):
            yield from read_location(location, source=source, session=session, suffixes=self.suffixes)
            return
        session = session or requests.Session()
        if _is_listing(location):
            yield from self._sync(location, source, session, now)
            return
        session.headers["Accept"] = "application/xml"
        yield from read_location(location, source=source, session=session, suffixes=self.suffixes)

    def _sync(self, url: str, source, session, now) -> Iterator[Document]:
        since = _months_before(now or current_time(), int(getattr(settings, "MSRC_MONTHS", DEFAULT_MONTHS)))
        session.headers["Accept"] = "application/json"
        recent = [e for e in _listing(url, fetch(url, session=session, conditional=False)) if e.released >= since]
        seen = dict((source.cursor or {}).get(CURSOR_KEY) or {}) if source is not None else {}
        done = {e.id: seen[e.id] for e in recent if e.id in seen}  # older months drop out of the cursor
        due = [e for e in recent if done.get(e.id) != e.revision]
        if not due:
            raise FeedUnchanged(url)
        session.headers["Accept"] = "application/xml"
        for entry in due:
            payload = fetch(entry.url, session=session, conditional=False).content
            try:
                parse_cvrf(payload)
            except CvrfInvalid:
                # records() reports it; no checkpoint, so the next sync fetches it again.
                yield Document(entry.url, payload)
                continue
            done[entry.id] = entry.revision
            yield Document(entry.url, payload, {CURSOR_KEY: dict(done)})

    def records(self, document: Document) -> Iterable[KbRecord | RecordError]:
        try:
            root = parse_cvrf(document.payload)
        except CvrfInvalid as exc:
            return [RecordError(document.name, str(exc))]
        return kb_records(root)

    def record_key(self, record: KbRecord) -> str:
        return f"{record.key} ({record.fields['document']})"

    def store_batch(self, records: list[KbRecord], source) -> StoreResult:
        from advisories.models import WindowsKb

        result = StoreResult()
        by_kb: dict[str, dict] = {}
        for record in records:  # one document lists a KB once; several documents in a batch are merged
            by_kb[record.kb] = merge(by_kb[record.kb], record.fields) if record.kb in by_kb else record.fields
        existing = {row.kb: row for row in WindowsKb.objects.filter(kb__in=by_kb)}
        new, changed = [], []
        for kb, incoming in by_kb.items():
            row = existing.get(kb)
            fields = incoming if row is None else merge({name: getattr(row, name) for name in KB_FIELDS}, incoming)
            digest = content_hash(fields)
            if row is not None and row.content_hash == digest:
                result.unchanged += 1
                continue
            if row is None:
                row = WindowsKb(kb=kb)
                new.append(row)
            else:
                changed.append(row)
            for name, value in fields.items():
                setattr(row, name, value)
            row.content_hash = digest
            result.touched.add(kb)
        WindowsKb.objects.bulk_create(new, batch_size=500)
        WindowsKb.objects.bulk_update(changed, [*KB_FIELDS, "content_hash"], batch_size=500)
        result.added, result.updated = len(new), len(changed)
        return result

    def count_for(self, source) -> int:
        from advisories.models import WindowsKb

        return WindowsKb.objects.count()
