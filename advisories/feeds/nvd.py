"""NVD's CVE API 2.0 (https://nvd.nist.gov/developers/vulnerabilities): CVSS, CWEs and descriptions per CVE.

Format: a response page is {"resultsPerPage", "startIndex", "totalResults", "timestamp",
"vulnerabilities": [{"cve": {...}}]}. Fields read from each `cve`: id, published,
lastModified (UTC times without an offset), vulnStatus, descriptions[] (the English one),
metrics.cvssMetricV31 / cvssMetricV30 / cvssMetricV40[] (type "Primary" before "Secondary";
cvssData.vectorString, baseScore, baseSeverity) and weaknesses[].description[].value (the
CWE-n ids; NVD-CWE-noinfo and NVD-CWE-Other name no weakness). CVSS v2 is not read.

Locations: a file or folder of saved response pages (air-gapped sites), or the API URL.
From the API a sync walks lastModified windows of at most 120 days (the API's limit) from
the source's cursor, or settings.NVD_INITIAL_SINCE for an empty source, up to now, 2,000
records a page. Only the last page of a window carries a checkpoint (the window's end), so
a sync that fails half-way resumes at the last completed window. Settings: NVD_API_KEY (sent
as the apiKey header), NVD_REQUEST_DELAY (seconds between requests; NVD asks for 6 without a
key), NVD_INITIAL_SINCE (ISO date or time).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from advisories.feeds.base import Document, Feed, RecordError, StoreResult, content_hash
from advisories.feeds.locations import FetchError, fetch, is_url, read_location
from advisories.scoring import parse_vector, severity_for_score

__all__ = ["CveRecord", "NvdFeed", "parse_cve"]

log = logging.getLogger(__name__)

PAGE_SIZE = 2000  # the API's maximum for the CVE endpoint
WINDOW = dt.timedelta(days=120)  # the API's longest lastModStartDate..lastModEndDate range
DEFAULT_INITIAL_SINCE = "1999-01-01T00:00:00+00:00"  # before the first CVE: a full mirror
DEFAULT_REQUEST_DELAY = 6.0  # NVD's advice without an API key
CURSOR_KEY = "last_mod_end"
# The window may shrink while it is read (a CVE modified again leaves it); re-read it this often.
WINDOW_ATTEMPTS = 3

CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$")
CWE_ID = re.compile(r"^CWE-\d+$")
CVSS3_KEYS = ("cvssMetricV31", "cvssMetricV30")
CVSS4_KEYS = ("cvssMetricV40",)
STORED_FIELDS = (
    "description",
    "published",
    "last_modified",
    "status",
    "cvss3_vector",
    "cvss3_score",
    "cvss3_severity",
    "cvss4_vector",
    "cvss4_score",
    "cvss4_severity",
    "cwes",
)


def current_time() -> dt.datetime:
    """The sync's clock (tests fix it to get deterministic windows)."""
    return timezone.now()


class RecordInvalid(ValueError):
    pass


@dataclass
class CveRecord:
    key: str
    fields: dict
    hash: str


@dataclass
class NvdPage(Document):
    """An API page, kept parsed: paging needs its totals and records() need not parse it again."""

    data: dict | None = None


def _time(value, where: str) -> dt.datetime:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise RecordInvalid(f"{where}: not an ISO 8601 time: {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _english(descriptions) -> str:
    for item in descriptions if isinstance(descriptions, list) else []:
        if isinstance(item, dict) and item.get("lang") == "en" and isinstance(item.get("value"), str):
            return item["value"]
    return ""


def _cwes(weaknesses) -> list[str]:
    found = set()
    for weakness in weaknesses if isinstance(weaknesses, list) else []:
        for item in (weakness.get("description") or []) if isinstance(weakness, dict) else []:
            value = item.get("value") if isinstance(item, dict) else None
            if isinstance(value, str) and CWE_ID.match(value):
                found.add(value)
    return sorted(found, key=lambda cwe: int(cwe[4:]))


def _chosen_metric(metrics: dict, keys: tuple[str, ...]) -> tuple[str, dict] | None:
    """NVD's own ("Primary") assessment first, then the newest CVSS version, then the CNA's."""
    entries = []
    for rank, key in enumerate(keys):
        listed = metrics.get(key) or []
        if not isinstance(listed, list):
            raise RecordInvalid(f"metrics.{key}: must be a list")
        for position, entry in enumerate(listed):
            if not isinstance(entry, dict):
                raise RecordInvalid(f"metrics.{key}[{position}]: must be an object")
            entries.append((entry.get("type") != "Primary", rank, f"metrics.{key}[{position}]", entry))
    if not entries:
        return None
    _, _, where, entry = min(entries, key=lambda e: e[:2])
    return where, entry


def _cvss(cve_id: str, metrics: dict, keys: tuple[str, ...], versions: tuple[str, ...]) -> tuple[str, object, str]:
    """(vector, base score, severity) of the chosen metric; NVD's stated score is kept."""
    chosen = _chosen_metric(metrics, keys)
    if chosen is None:
        return "", None, ""
    where, entry = chosen
    data = entry.get("cvssData")
    if not isinstance(data, dict) or not isinstance(data.get("vectorString"), str):
        raise RecordInvalid(f"{where}.cvssData.vectorString: required")
    vector = data["vectorString"]
    try:
        version, computed = parse_vector(vector)
    except ValueError as exc:
        raise RecordInvalid(f"{where}: {exc}") from None
    if version not in versions:
        raise RecordInvalid(f"{where}: a CVSS {version} vector where {'/'.join(versions)} was expected")
    try:
        stated = Decimal(str(data.get("baseScore")))
    except InvalidOperation:
        raise RecordInvalid(f"{where}.cvssData.baseScore: not a number: {data.get('baseScore')!r}") from None
    if not stated.is_finite() or not 0 <= stated <= 10:
        raise RecordInvalid(f"{where}.cvssData.baseScore: not a CVSS score: {data.get('baseScore')!r}")
    if computed != stated:
        # NVD's score is the published one; a difference is worth knowing, not worth dropping the CVE.
        log.warning(
            "NVD base score differs from the vector's",
            extra={"cve": cve_id, "vector": vector, "stated": str(stated), "computed": str(computed)},
        )
    severity = str(data.get("baseSeverity") or "").lower() or severity_for_score(stated)
    return vector, stated, severity


def parse_cve(cve) -> CveRecord:
    """One `vulnerabilities[].cve` object -> the Cve row's fields; RecordInvalid says what is wrong."""
    if not isinstance(cve, dict):
        raise RecordInvalid("cve: must be an object")
    cve_id = cve.get("id")
    if not isinstance(cve_id, str) or not CVE_ID.match(cve_id):
        raise RecordInvalid(f"id: not a CVE id: {cve_id!r}")
    metrics = cve.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise RecordInvalid("metrics: must be an object")
    cvss3_vector, cvss3_score, cvss3_severity = _cvss(cve_id, metrics, CVSS3_KEYS, ("3.1", "3.0"))
    cvss4_vector, cvss4_score, cvss4_severity = _cvss(cve_id, metrics, CVSS4_KEYS, ("4.0",))
    fields = {
        "description": _english(cve.get("descriptions")),
        "published": _time(cve.get("published"), "published"),
        "last_modified": _time(cve.get("lastModified"), "lastModified"),
        "status": str(cve.get("vulnStatus") or "")[:40],
        "cvss3_vector": cvss3_vector,
        "cvss3_score": cvss3_score,
        "cvss3_severity": cvss3_severity,
        "cvss4_vector": cvss4_vector,
        "cvss4_score": cvss4_score,
        "cvss4_severity": cvss4_severity,
        "cwes": _cwes(cve.get("weaknesses")),
    }
    return CveRecord(cve_id, fields, content_hash(fields))


def _page_records(data) -> list:
    if not isinstance(data, dict) or not isinstance(data.get("vulnerabilities"), list):
        raise ValueError("not an NVD CVE API 2.0 response: no 'vulnerabilities' list")
    return data["vulnerabilities"]


def _api_time(moment: dt.datetime) -> str:
    """The API's extended ISO 8601 form, e.g. 2024-04-01T13:00:00.000+00:00."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def _since(value, what: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        moment = parse_datetime(str(value))  # takes a bare date too: midnight
        if moment is None:
            raise FetchError(f"{what}: not a date or time: {value!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class _Pacer:
    """Waits the configured pause between requests (not before the first)."""

    def __init__(self, delay: float):
        self.delay, self.last = delay, None

    def wait(self) -> None:
        if self.last is not None and self.delay > 0:
            time.sleep(max(0.0, self.delay - (time.monotonic() - self.last)))
        self.last = time.monotonic()


class NvdFeed(Feed):
    kind = "nvd"
    touches = "cve_ids"
    suffixes = (".json", ".json.gz")

    def documents(self, location: str, source=None, session=None, now=None) -> Iterator[Document]:
        if not is_url(location):
            yield from read_location(location, source=source, session=session, suffixes=self.suffixes)
            return
        yield from self._sync(location, source, session, now)

    def _sync(self, url: str, source, session, now) -> Iterator[NvdPage]:
        now = (now or current_time()).astimezone(dt.UTC).replace(microsecond=0)
        session = session or requests.Session()
        api_key = getattr(settings, "NVD_API_KEY", "")
        if api_key:
            session.headers["apiKey"] = api_key
        pacer = _Pacer(float(getattr(settings, "NVD_REQUEST_DELAY", DEFAULT_REQUEST_DELAY)))
        cursor = (source.cursor or {}).get(CURSOR_KEY) if source is not None else None
        if cursor:
            start = _since(cursor, f"source cursor {CURSOR_KEY}")
        else:
            start = _since(getattr(settings, "NVD_INITIAL_SINCE", DEFAULT_INITIAL_SINCE), "NVD_INITIAL_SINCE")
        while start < now:
            end = min(start + WINDOW, now)
            yield from self._window(url, start, end, session, pacer)
            start = end

    def _window(self, url: str, start, end, session, pacer: _Pacer) -> Iterator[NvdPage]:
        """The pages of one lastModified window; the last carries the window's end as checkpoint."""
        window = {"lastModStartDate": _api_time(start), "lastModEndDate": _api_time(end)}
        for _attempt in range(WINDOW_ATTEMPTS):
            index, first_total, stable = 0, None, True
            while True:
                pacer.wait()
                params = {**window, "startIndex": index, "resultsPerPage": PAGE_SIZE}
                response = fetch(url, session=session, params=params, conditional=False)
                name = f"{url} {window['lastModStartDate']}..{window['lastModEndDate']} startIndex={index}"
                try:
                    data = json.loads(response.content)
                    records = _page_records(data)
                    total = int(data["totalResults"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise FetchError(f"{name}: not an NVD CVE API 2.0 page ({exc})") from exc
                first_total = total if first_total is None else first_total
                stable = stable and total == first_total
                index += len(records)
                complete = index >= total
                if not complete and not records:
                    raise FetchError(f"{name}: an empty page before totalResults {total}")
                # A total that changed means records moved between pages: the window is read again.
                checkpoint = {CURSOR_KEY: end.isoformat()} if complete and stable else None
                yield NvdPage(name, response.content, checkpoint, data)
                if complete:
                    break
            if checkpoint is not None:
                return
            log.warning("NVD window changed while it was read; reading it again", extra={"window": window})
        raise FetchError(f"{url}: the window {window} kept changing while it was read; it is retried next sync")

    def records(self, document: Document) -> Iterable[CveRecord | RecordError]:
        try:
            data = document.data if isinstance(document, NvdPage) else json.loads(document.payload)
            items = _page_records(data)
        except ValueError as exc:
            yield RecordError(document.name, str(exc))
            return
        for index, item in enumerate(items):
            cve = item.get("cve") if isinstance(item, dict) else None
            cve_id = cve.get("id") if isinstance(cve, dict) else None
            key = cve_id if isinstance(cve_id, str) and cve_id else f"{document.name} vulnerabilities[{index}]"
            try:
                yield parse_cve(cve)
            except RecordInvalid as exc:
                yield RecordError(key, str(exc))

    def record_key(self, record: CveRecord) -> str:
        return record.key

    def store_batch(self, records: list[CveRecord], source) -> StoreResult:
        from advisories.models import Cve

        result = StoreResult()
        by_id = {r.key: r for r in records}  # the last copy of a repeated CVE wins
        existing = {c.cve_id: c for c in Cve.objects.filter(cve_id__in=by_id).only("cve_id", "content_hash")}
        now = timezone.now()
        new, changed = [], []
        for cve_id, record in by_id.items():
            row = existing.get(cve_id)
            if row is not None and row.content_hash == record.hash:
                result.unchanged += 1
                continue
            if row is None:
                row = Cve(cve_id=cve_id)
                new.append(row)
            else:
                changed.append(row)
            for name, value in record.fields.items():
                setattr(row, name, value)
            row.content_hash, row.updated_at = record.hash, now
            result.touched.add(cve_id)
        Cve.objects.bulk_create(new, batch_size=500)
        Cve.objects.bulk_update(changed, [*STORED_FIELDS, "content_hash", "updated_at"], batch_size=500)
        result.added, result.updated = len(new), len(changed)
        return result

    def count_for(self, source) -> int:
        from advisories.models import Cve

        return Cve.objects.count()
