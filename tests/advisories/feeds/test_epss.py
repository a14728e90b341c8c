"""The FIRST EPSS adapter: plain and gzip CSV, the score date from the comment line, bad rows,
idempotent and incremental re-ingests."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil

import pytest

from advisories.ingest import ingest, sync_source
from advisories.models import EpssScore, FeedSource

from .conftest import ADVISORY_FIXTURES, writes_to

pytestmark = pytest.mark.django_db

SAMPLE = ADVISORY_FIXTURES / "epss" / "epss_scores_sample.csv"
SAMPLE_SCORES = {
    "CVE-1999-0001": (0.00383, 0.73075),
    "CVE-1999-0002": (0.01328, 0.85996),
    "CVE-1999-0003": (0.04409, 0.92440),
    "CVE-1999-0004": (0.00917, 0.82963),
    "CVE-1999-0005": (0.91963, 0.99214),
}
HEADER = "#model_version:v2025.03.14,score_date:2025-03-01T00:00:00+0000\ncve,epss,percentile\n"


def scores() -> dict:
    return {s.cve_id: (s.score, s.percentile) for s in EpssScore.objects.all()}


def stored() -> dict:
    return {s.cve_id: (s.pk, s.score, s.percentile, s.scored_on, s.model_version) for s in EpssScore.objects.all()}


def counts(run) -> tuple:
    return run.status, run.added, run.updated, run.unchanged, run.skipped


def gzipped(source, target):
    target.write_bytes(gzip.compress(source.read_bytes()))
    return target


def test_the_plain_csv_is_stored_with_the_date_and_model_of_its_comment_line(ingested_signals):
    run = ingest("epss", str(SAMPLE))

    assert counts(run) == ("success", 5, 0, 0, 0)
    assert scores() == SAMPLE_SCORES
    assert set(EpssScore.objects.values_list("scored_on", "model_version")) == {(dt.date(2025, 2, 20), "v2023.03.01")}
    assert ingested_signals[-1]["cve_ids"] == set(SAMPLE_SCORES)


def test_a_gzipped_csv_is_read_the_same(tmp_path):
    run = ingest("epss", str(gzipped(SAMPLE, tmp_path / "epss_scores-2025-02-20.csv.gz")))

    assert counts(run) == ("success", 5, 0, 0, 0)
    assert scores() == SAMPLE_SCORES
    assert set(EpssScore.objects.values_list("scored_on", flat=True)) == {dt.date(2025, 2, 20)}


def test_a_folder_holds_both_kinds_and_nothing_else_is_read(tmp_path):
    shutil.copy(SAMPLE, tmp_path / "a.csv")
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress((HEADER + "CVE-2024-3094,0.86,0.99\n").encode()))
    (tmp_path / "notes.txt").write_text("CVE-2000-0001,0.5,0.5\n")

    run = ingest("epss", str(tmp_path))

    assert counts(run) == ("success", 6, 0, 0, 0)
    assert EpssScore.objects.get(cve_id="CVE-2024-3094").scored_on == dt.date(2025, 3, 1)


def test_bad_rows_are_named_and_skipped_while_the_rest_lands(tmp_path):
    (tmp_path / "scores.csv").write_text(
        HEADER
        + "CVE-2024-0001,0.5,0.6\n"
        + "CVE-2024-0002,high,0.6\n"
        + "CVE-2024-0003,1.5,0.6\n"
        + "CVE-2024-0004,0.5,-0.1\n"
        + "CVE-2024-0005,nan,0.6\n"
        + "GHSA-1234,0.5,0.6\n"
        + "CVE-2024-0006,0.5\n"
        + "\n"
        + "CVE-2024-0007,0.00001,0.0\n"
    )

    run = ingest("epss", str(tmp_path / "scores.csv"))

    assert counts(run) == ("partial", 2, 0, 0, 6)
    assert {e["record"]: e["error"] for e in run.errors} == {
        "CVE-2024-0002": "line 4: epss: not a number: 'high'",
        "CVE-2024-0003": "line 5: epss: 1.5 is outside 0..1",
        "CVE-2024-0004": "line 6: percentile: -0.1 is outside 0..1",
        "CVE-2024-0005": "line 7: epss: nan is outside 0..1",
        "GHSA-1234": "line 8: not a CVE id: 'GHSA-1234'",
        "CVE-2024-0006": "line 9: 2 columns, expected 3",
    }
    assert scores() == {"CVE-2024-0001": (0.5, 0.6), "CVE-2024-0007": (0.00001, 0.0)}


def test_a_file_without_its_comment_line_fails_and_deletes_nothing(tmp_path):
    ingest("epss", str(SAMPLE))
    before = stored()
    (tmp_path / "scores.csv").write_text("cve,epss,percentile\nCVE-1999-0001,0.9,0.9\n")

    run = ingest("epss", str(tmp_path / "scores.csv"))

    assert run.status == "failed"
    assert "score_date" in run.error
    assert stored() == before


def test_a_second_ingest_of_the_same_file_writes_nothing(ingested_signals):
    ingest("epss", str(SAMPLE))
    before = stored()
    ingested_signals.clear()

    with writes_to("advisories_epssscore") as writes:
        run = ingest("epss", str(SAMPLE))

    assert counts(run) == ("success", 0, 0, 5, 0)
    assert writes == []
    assert stored() == before
    assert ingested_signals == []


def test_the_next_days_file_updates_only_the_scores_that_changed(tmp_path, ingested_signals):
    ingest("epss", str(SAMPLE))
    before = stored()
    next_day = SAMPLE.read_text().replace("2025-02-20", "2025-02-21").replace("0.91963,0.99214", "0.95000,0.99500")
    (tmp_path / "next.csv").write_text(next_day)

    run = ingest("epss", str(tmp_path / "next.csv"))

    assert counts(run) == ("success", 0, 1, 4, 0)
    assert ingested_signals[-1]["cve_ids"] == {"CVE-1999-0005"}
    changed = EpssScore.objects.get(cve_id="CVE-1999-0005")
    assert (changed.score, changed.percentile, changed.scored_on) == (0.95, 0.995, dt.date(2025, 2, 21))
    after = stored()
    del after["CVE-1999-0005"], before["CVE-1999-0005"]
    assert after == before  # the unchanged rows keep the date of the file that set their score


def test_an_older_file_never_overwrites_newer_scores(tmp_path):
    newer = SAMPLE.read_text().replace("2025-02-20", "2025-02-21").replace("0.91963", "0.95000")
    (tmp_path / "newer.csv").write_text(newer)
    ingest("epss", str(tmp_path / "newer.csv"))
    before = stored()

    run = ingest("epss", str(SAMPLE))

    assert counts(run) == ("success", 0, 0, 5, 0)
    assert stored() == before


def test_a_sync_over_http_reads_gzip_and_then_gets_304(feed_server, tmp_path):
    url = feed_server.serve_file("epss_scores-current.csv.gz", gzipped(SAMPLE, tmp_path / "current.csv.gz"))
    source = FeedSource.objects.create(name="EPSS", kind="epss", url=url)

    first = sync_source(source)

    assert counts(first) == ("success", 5, 0, 0, 0)
    source.refresh_from_db()
    assert source.record_count == 5 and source.etag
    second = sync_source(source)
    assert counts(second) == ("not_modified", 0, 0, 0, 0)
    assert feed_server.requests[-1]["headers"]["If-None-Match"] == source.etag
