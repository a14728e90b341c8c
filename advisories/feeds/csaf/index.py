"""Syncing a Red Hat-style CSAF directory from its `changes.csv` index.

https://security.access.redhat.com/data/csaf/v2/advisories/changes.csv has one row per document:
``"PATH","TIMESTAMP"`` (the path relative to the index, e.g. ``2024/rhsa-2024_0010.json``, and
the RFC 3339 time of its last change), newest first. A sync fetches the index with the source's
ETag / Last-Modified (unchanged: 304, and the run ends), then each document changed after the
source's cursor, oldest first. Committing a document moves the cursor to its time, so a run
that fails resumes there; the index's validators are kept only once every listed document has
been committed, or a failed run would be answered 304 next time and never resume.

A row that cannot be read, or a document the server no longer has (404/410, as when Red Hat
withdraws one), is reported and passed over; any other failure to fetch fails the run.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

from advisories.feeds.base import Document
from advisories.feeds.csaf.document import DocumentInvalid, parse_time
from advisories.feeds.locations import TIMEOUT, USER_AGENT, FetchError, fetch, is_url, remember_caching

__all__ = ["CURSOR_KEY", "IndexProblem", "is_index", "read_index"]

CURSOR_KEY = "csaf_changes_since"
GONE = (404, 410)


@dataclass
class IndexProblem(Document):
    """An index entry that yields no document; the feed reports it as a skipped record."""

    problem: str = ""


@dataclass(frozen=True)
class Entry:
    path: str
    url: str
    changed: dt.datetime


def is_index(location: str) -> bool:
    return is_url(location) and urlsplit(location).path.endswith(".csv")


def parse_index(index_url: str, text: str) -> tuple[list[Entry], list[IndexProblem]]:
    entries, problems = [], []
    base = index_url.rsplit("/", 1)[0] + "/"
    for number, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or [c.strip().lower() for c in row] == ["path", "timestamp"]:
            continue
        where = f"{index_url} line {number}"
        if len(row) != 2:
            problems.append(IndexProblem(where, b"", problem=f"expected PATH,TIMESTAMP, got {len(row)} fields"))
            continue
        path, stamp = (cell.strip() for cell in row)
        url = urljoin(base, path)
        # Only documents under the index's own folder: the index must not send us elsewhere.
        if not path.endswith(".json") or not url.startswith(base):
            problems.append(IndexProblem(where, b"", problem=f"{path!r} is not a JSON document under {base}"))
            continue
        try:
            changed = parse_time(stamp, "timestamp")
        except DocumentInvalid as exc:
            changed, why = None, str(exc)
        else:
            why = "timestamp: required"
        if changed is None:
            problems.append(IndexProblem(where, b"", problem=why))
            continue
        entries.append(Entry(path, url, changed))
    return entries, problems


def _get(session: requests.Session, url: str) -> requests.Response | None:
    """The document, None when the server says it is gone; FetchError for any other failure."""
    try:
        response = session.get(url, headers={"User-Agent": USER_AGENT}, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise FetchError(f"GET {url}: {exc}") from exc
    if response.status_code in GONE:
        return None
    if response.status_code != 200:
        raise FetchError(f"GET {url}: HTTP {response.status_code}")
    return response


def read_index(index_url: str, source=None, session=None) -> Iterator[Document]:
    session = session or requests.Session()
    index = fetch(index_url, source=source, session=session)
    entries, problems = parse_index(index_url, index.text)
    yield from problems
    since = parse_time((source.cursor or {}).get(CURSOR_KEY), "cursor") if source is not None else None
    due = sorted((e for e in entries if since is None or e.changed > since), key=lambda e: e.changed)
    for position, entry in enumerate(due):
        # Documents changed at the same instant move the cursor together, after the last of them.
        last_at_its_time = position + 1 == len(due) or due[position + 1].changed != entry.changed
        checkpoint = {CURSOR_KEY: entry.changed.isoformat()} if last_at_its_time else None
        response = _get(session, entry.url)
        if response is None:
            yield IndexProblem(entry.url, b"", checkpoint, problem="listed in the index but gone from the server")
        else:
            yield Document(entry.url, response.content, checkpoint)
    remember_caching(source, index)
