"""Running a feed: documents in transactions, records in savepoints, the run recorded.

* Documents (files, archive members, API pages) are stored in transactions of up to a few
  hundred documents; a document with a checkpoint closes its transaction and the checkpoint
  is saved with it, so a run that fails half-way keeps what it committed and the next run
  resumes there. Nothing is ever deleted because a feed lacks it.
* Records are stored in batches inside savepoints; a batch that fails is retried record
  by record, so one bad record is reported and skipped while the rest lands.
* An HTTP 304 (ETag / Last-Modified unchanged) ends the run at once as "not modified".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import DatabaseError, transaction
from django.utils import timezone

from advisories.feeds.base import Document, RecordError, StoreResult
from advisories.feeds.locations import FeedUnchanged, FetchError
from advisories.feeds.registry import feed_for
from advisories.models import FeedRun, FeedSource
from advisories.signals import feed_failed, feed_ingested

__all__ = ["ingest", "sync_source"]

log = logging.getLogger(__name__)
MAX_REPORTED_ERRORS = 500
# Documents per transaction: a zip of one-record files commits every few hundred records,
# not after each one; a group also closes when its payloads pass GROUP_BYTES.
GROUP_DOCUMENTS = 500
GROUP_BYTES = 32 * 1024 * 1024


class _Tally:
    """Counts of one run; a document's counts join the run only once its transaction committed."""

    def __init__(self, run: FeedRun):
        self.run = run
        self.touched: dict[str, set] = {"advisory_ids": set(), "cve_ids": set(), "kbs": set()}
        self.pending = self._empty()

    @staticmethod
    def _empty() -> dict:
        return {"added": 0, "updated": 0, "unchanged": 0, "touched": set()}

    def add(self, result: StoreResult, touched_kind: str) -> None:
        self.pending["added"] += result.added
        self.pending["updated"] += result.updated
        self.pending["unchanged"] += result.unchanged
        self.pending["touched"] |= {(touched_kind, key) for key in result.touched}

    def commit_document(self) -> None:
        self.run.added += self.pending["added"]
        self.run.updated += self.pending["updated"]
        self.run.unchanged += self.pending["unchanged"]
        for kind, key in self.pending["touched"]:
            self.touched[kind].add(key)
        self.pending = self._empty()

    def discard_document(self) -> None:
        self.pending = self._empty()

    def skip(self, error: RecordError) -> None:
        self.run.skipped += 1
        if len(self.run.errors) < MAX_REPORTED_ERRORS:
            self.run.errors.append({"record": error.record, "error": error.error})
        log.warning("feed record skipped", extra={"record": error.record, "error": error.error})


def _groups(documents: Iterable[Document]) -> Iterable[list[Document]]:
    group, size = [], 0
    iterator = iter(documents)
    while True:
        try:
            document = next(iterator)
        except StopIteration:
            break
        except Exception:
            if group:  # what was read before the location failed still lands
                yield group
            raise
        group.append(document)
        size += len(document.payload)
        if document.checkpoint is not None or len(group) >= GROUP_DOCUMENTS or size >= GROUP_BYTES:
            yield group
            group, size = [], 0
    if group:
        yield group


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _store(feed, records: list, source, tally: _Tally) -> None:
    for batch in _chunks(records, feed.batch_size):
        try:
            with transaction.atomic():
                tally.add(feed.store_batch(batch, source), feed.touches)
            continue
        except (DatabaseError, ValueError, TypeError, KeyError) as exc:
            if len(batch) == 1:
                tally.skip(RecordError(feed.record_key(batch[0]), f"{type(exc).__name__}: {exc}"))
                continue
        for record in batch:  # isolate the bad record(s)
            try:
                with transaction.atomic():
                    tally.add(feed.store_batch([record], source), feed.touches)
            except (DatabaseError, ValueError, TypeError, KeyError) as exc:
                tally.skip(RecordError(feed.record_key(record), f"{type(exc).__name__}: {exc}"))


def ingest(kind: str, location: str, source: FeedSource | None = None, now=None) -> FeedRun:
    """Read `location` with the `kind` adapter and store what it holds; returns the run."""
    feed = feed_for(kind)
    now = now or timezone.now()
    run = FeedRun.objects.create(source=source, kind=kind, location=location[:500], started_at=now)
    tally = _Tally(run)
    status = FeedRun.Status.SUCCESS
    validators = (source.etag, source.last_modified) if source is not None else None
    try:
        for group in _groups(feed.documents(location, source=source)):
            try:
                with transaction.atomic():
                    feed.prescreen(group)
                    good = []
                    for document in group:
                        for item in feed.records(document):
                            if isinstance(item, RecordError):
                                tally.skip(item)
                            else:
                                good.append(item)
                    _store(feed, good, source, tally)
                    checkpoint = group[-1].checkpoint
                    if source is not None and checkpoint is not None:
                        source.cursor = {**source.cursor, **checkpoint}
                        source.save(update_fields=["cursor"])
            except BaseException:
                tally.discard_document()
                raise
            tally.commit_document()
    except FeedUnchanged:
        status = FeedRun.Status.NOT_MODIFIED
    except FetchError as exc:
        status, run.error = FeedRun.Status.FAILED, str(exc)
    except DatabaseError as exc:  # the document's transaction rolled back; earlier ones stay
        status, run.error = FeedRun.Status.FAILED, f"database error: {exc}"
    except Exception as exc:
        log.exception("feed run failed", extra={"kind": kind, "location": location})
        status, run.error = FeedRun.Status.FAILED, f"{type(exc).__name__}: {exc}"
    if status == FeedRun.Status.SUCCESS and run.skipped and not (run.added or run.updated or run.unchanged):
        # Not one usable record (an HTML error page, a truncated file): the feed failed, even
        # though each record was reported and skipped like a single bad one would be.
        first = run.errors[0] if run.errors else {}
        status = FeedRun.Status.FAILED
        run.error = f"no usable record in {run.skipped} read; first: {first.get('record')}: {first.get('error')}"
    if status == FeedRun.Status.FAILED and validators is not None:
        # Keep the old ETag/Last-Modified: a 304 next time must not hide what this run failed to store.
        source.etag, source.last_modified = validators
    if status == FeedRun.Status.SUCCESS and run.skipped:
        status = FeedRun.Status.PARTIAL
    run.status, run.finished_at = status, timezone.now()
    run.save()
    if source is not None:
        _record_outcome(source, run, feed)
    if any(tally.touched.values()):
        feed_ingested.send(sender=type(feed), kind=kind, **tally.touched)
    if run.status == FeedRun.Status.FAILED:
        # Robust: an alerting problem must not fail the run that it reports.
        feed_failed.send_robust(sender=type(feed), run=run, source=source)
    return run


def _record_outcome(source: FeedSource, run: FeedRun, feed) -> None:
    source.last_attempt_at = run.started_at
    fields = ["last_attempt_at", "etag", "last_modified", "record_count"]
    if run.status == FeedRun.Status.FAILED:
        source.last_failure_at, source.last_error = run.finished_at, run.error
        fields += ["last_failure_at", "last_error"]
    else:
        source.last_success_at, source.last_error = run.finished_at, ""
        fields += ["last_success_at", "last_error"]
    source.record_count = feed.count_for(source)
    source.save(update_fields=fields)


def sync_source(source: FeedSource, now=None) -> FeedRun:
    return ingest(source.kind, source.url, source=source, now=now)
