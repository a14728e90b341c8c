"""FIRST's daily EPSS scores (epss_scores-YYYY-MM-DD.csv.gz, or the plain .csv).

The file opens with a comment line, `#model_version:v2023.03.01,score_date:2025-02-20T00:00:00+0000`,
then a header `cve,epss,percentile`, then one row per CVE (about 280,000 of them). Read: the
model version and the score date from the comment, and each row's CVE id, score (0..1) and
percentile (0..1). Rows are parsed one at a time and stored in large bulk upserts.

A row is written only when its score, percentile or model version changed, so `scored_on`
is the date of the file that last changed the score; a file older than what is stored never
overwrites newer scores.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from django.db import connection

from advisories.feeds.base import Document, Feed, RecordError, StoreResult
from advisories.feeds.locations import FetchError
from advisories.models import EpssScore

__all__ = ["EpssFeed", "EpssRow"]

CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")
COLUMNS = ("cve", "epss", "percentile")


class EpssRow(NamedTuple):
    """One score; a tuple because a daily file holds a few hundred thousand of them."""

    key: str  # the CVE id
    score: float
    percentile: float
    scored_on: dt.date
    model_version: str


def _header(line: str, name: str) -> tuple[str, dt.date]:
    """(model version, score date) from the `#model_version:…,score_date:…` comment line."""
    if not line.startswith("#"):
        raise FetchError(f"{name}: no '#model_version:…,score_date:…' line before the header")
    values = dict(part.split(":", 1) for part in line[1:].strip().split(",") if ":" in part)
    try:
        scored_on = dt.date.fromisoformat(values.get("score_date", "")[:10])
    except ValueError:
        raise FetchError(f"{name}: no valid score_date in {line.strip()!r}") from None
    return values.get("model_version", "").strip()[:40], scored_on


def _probability(text: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column}: not a number: {text!r}") from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{column}: {text} is outside 0..1")
    return value


def _rows(lines: Iterator[str], name: str) -> Iterator[EpssRow | RecordError]:
    model_version, scored_on = _header(next(lines, ""), name)
    reader = csv.reader(lines)
    header = [column.strip().lower() for column in next(reader, [])]
    if not set(COLUMNS) <= set(header):
        raise FetchError(f"{name}: the header must name the columns {', '.join(COLUMNS)}; it is {header}")
    at = {column: header.index(column) for column in COLUMNS}
    width = len(header)
    for row in reader:
        if not row:
            continue
        line = f"line {reader.line_num + 1}"  # +1: the comment line was read before the reader
        if len(row) != width:
            yield RecordError(row[0] if row[0] else line, f"{line}: {len(row)} columns, expected {width}")
            continue
        cve_id = row[at["cve"]].strip()
        if not CVE_ID.fullmatch(cve_id):
            yield RecordError(cve_id or line, f"{line}: not a CVE id: {cve_id!r}")
            continue
        try:
            score = _probability(row[at["epss"]], "epss")
            percentile = _probability(row[at["percentile"]], "percentile")
        except ValueError as exc:
            yield RecordError(cve_id, f"{line}: {exc}")
            continue
        yield EpssRow(cve_id, score, percentile, scored_on, model_version)


# Each column travels as one array parameter: with thousands of rows per batch, Django's
# IN (%s, %s, …) lists and per-row model instances cost several times the database's work.
def _stored(cve_ids: list[str]) -> dict[str, tuple]:
    """CVE id -> (score, percentile, model version, scored on) of the rows already stored."""
    table = connection.ops.quote_name(EpssScore._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT cve_id, score, percentile, model_version, scored_on FROM {table} WHERE cve_id = ANY(%s)",  # noqa: S608
            [cve_ids],
        )
        return {cve_id: tuple(values) for cve_id, *values in cursor.fetchall()}


def _upsert(rows: list[EpssRow]) -> None:
    table = connection.ops.quote_name(EpssScore._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (cve_id, score, percentile, scored_on, model_version) "  # noqa: S608
            "SELECT * FROM unnest(%s::text[], %s::float8[], %s::float8[], %s::date[], %s::text[]) "
            "ON CONFLICT (cve_id) DO UPDATE SET score = EXCLUDED.score, percentile = EXCLUDED.percentile, "
            "scored_on = EXCLUDED.scored_on, model_version = EXCLUDED.model_version",
            [list(column) for column in zip(*rows, strict=True)],  # EpssRow's fields, in the columns' order
        )


class EpssFeed(Feed):
    kind = "epss"
    touches = "cve_ids"
    suffixes = (".csv", ".csv.gz")
    # Big batches: a daily file is a few hundred thousand rows and rows rarely fail.
    batch_size = 5000

    def records(self, document: Document) -> Iterable[EpssRow | RecordError]:
        text = io.TextIOWrapper(io.BytesIO(document.payload), encoding="utf-8-sig", newline="")  # a BOM is not data
        try:
            yield from _rows(iter(text), document.name)
        except UnicodeDecodeError as exc:
            raise FetchError(f"{document.name}: not UTF-8 text ({exc})") from None

    def store_batch(self, records: list[EpssRow], source) -> StoreResult:
        result = StoreResult()
        by_cve = {r.key: r for r in records}
        stored = _stored(list(by_cve))
        writes = []
        for cve_id, row in by_cve.items():
            current = stored.get(cve_id)
            if current is None:
                result.added += 1
            elif current[3] > row.scored_on or current[:3] == (row.score, row.percentile, row.model_version):
                result.unchanged += 1  # a newer file set it, or the score is what it was
                continue
            else:
                result.updated += 1
            result.touched.add(cve_id)
            writes.append(row)
        if writes:
            _upsert(writes)
        return result

    def count_for(self, source) -> int:
        return EpssScore.objects.count()
