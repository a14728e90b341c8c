"""What every feed adapter provides, and the plumbing they share.

A feed turns a location (URL, file, folder or zip) into documents, a document into records,
and stores each record idempotently. The runner in advisories.ingest adds the rest: a
transaction per group of documents, a savepoint per batch of records (a bad record is reported and
skipped while the others land), run bookkeeping and HTTP caching.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Document", "Feed", "RecordError", "content_hash"]


@dataclass
class Document:
    """A unit the runner commits at once: a file, an archive member, an API page."""

    name: str
    payload: bytes
    # Feed-specific state to save on the source after this document is committed
    # (e.g. NVD's next lastModified window), so a failed run resumes where it stopped.
    checkpoint: dict | None = None


@dataclass
class RecordError:
    record: str
    error: str


@dataclass
class StoreResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    touched: set[str] = field(default_factory=set)  # ids whose matching must be redone


def content_hash(value: Any) -> str:
    """A stable fingerprint of a record: unchanged input means an unchanged hash."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


class Feed:
    """Base class of the feed adapters (advisories.feeds.*)."""

    kind: str = ""
    # Records handed to store_batch at once; a failing batch is retried record by record.
    batch_size: int = 500
    # Which ids StoreResult.touched holds, for the feed_ingested signal: advisory_ids,
    # cve_ids (KEV, EPSS, NVD) or kbs (Microsoft).
    touches: str = "advisory_ids"

    def documents(self, location: str, source=None, session=None) -> Iterator[Document]:
        """Yield the documents at `location`. Most feeds read files, folders, zips and URLs alike."""
        from advisories.feeds.locations import read_location

        yield from read_location(location, source=source, session=session, suffixes=self.suffixes)

    suffixes: tuple[str, ...] = (".json",)

    def prescreen(self, documents: list[Document]) -> None:
        """Called with the documents of a transaction before their records are read.

        A feed may look up what it already holds for them at once here, to skip parsing
        records that have not changed.
        """

    def records(self, document: Document) -> Iterable[Any | RecordError]:
        """Parse a document into records; a record that cannot be parsed is a RecordError."""
        raise NotImplementedError

    def record_key(self, record: Any) -> str:
        """How errors and logs name a record."""
        return getattr(record, "key", str(record)[:80])

    def store_batch(self, records: list[Any], source) -> StoreResult:
        """Store records idempotently (unchanged ones are not written); raise to reject the batch."""
        raise NotImplementedError

    def count_for(self, source) -> int:
        """How many records this source holds, for the feed status page."""
        from advisories.models import Advisory

        return Advisory.objects.filter(source=source).count()
