"""The NVD CVE API 2.0 adapter: the fixture page stored with NVD's values; paging and lastModified
windows against a stand-in for the API; resuming after a failed page; malformed items; idempotence."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from advisories.feeds import nvd
from advisories.ingest import ingest, sync_source
from advisories.models import Cve, FeedRun, FeedSource
from advisories.signals import feed_ingested
from tests.fixtures.feed_server import Reply

pytestmark = pytest.mark.django_db

ADVISORIES = Path(__file__).resolve().parents[2] / "fixtures" / "advisories"
PAGE_38 = ADVISORIES / "nvd" / "nvd_cve_api2_page_38_records.json"
SINGLE = ADVISORIES / "nvd" / "nvd_cve_api2_single_entry.json"
CONSTRUCTED_PAGE = ADVISORIES / "constructed" / "nvd" / "nvd_cve_api2_constructed_page.json"
API_PATH = "/rest/json/cves/2.0"

# The fixture page was produced on 2023-10-18; its records were modified that day between 15:06 and 18:04.
NOW = dt.datetime(2023, 10, 18, 18, 30, tzinfo=dt.UTC)
SINCE = "2023-06-01T00:00:00+00:00"
WINDOW_1 = ("2023-06-01T00:00:00.000+00:00", "2023-09-29T00:00:00.000+00:00")  # 120 days, no records
WINDOW_2 = ("2023-09-29T00:00:00.000+00:00", "2023-10-18T18:30:00.000+00:00")  # all 38 records


def fixture_records() -> list[dict]:
    return json.loads(PAGE_38.read_bytes())["vulnerabilities"]


def _utc(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class FakeNvdApi:
    """NVD's paging and lastModified filtering over a list of records, `cap` records a page at most.

    Like the API, it answers `resultsPerPage` with the count it actually returned, so a client
    has to page by what it received, not by what it asked for.
    """

    def __init__(self, records: list[dict], cap: int = 15):
        self.records, self.cap = records, cap
        self.failing: dict[int, int] = {}  # startIndex -> HTTP status to answer instead
        self.after_page = None  # called (startIndex, totalResults) after a page, to change the data

    def __call__(self, path: str, query: dict) -> Reply:
        index = int(query["startIndex"][0])
        if index in self.failing:
            return Reply(self.failing[index], b"temporarily unavailable")
        start, end = _utc(query["lastModStartDate"][0]), _utc(query["lastModEndDate"][0])
        if end - start > dt.timedelta(days=120):
            return Reply(404, b"the date range may not exceed 120 days")  # what NVD answers
        matching = [r for r in self.records if start <= _utc(r["cve"]["lastModified"]) <= end]
        page = matching[index : index + min(self.cap, int(query["resultsPerPage"][0]))]
        body = {
            "resultsPerPage": len(page),
            "startIndex": index,
            "totalResults": len(matching),
            "format": "NVD_CVE",
            "version": "2.0",
            "timestamp": "2023-10-18T18:30:00.000",
            "vulnerabilities": page,
        }
        if self.after_page:
            self.after_page(index, len(matching))
        return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})


def asked(feed_server) -> list[tuple[str, str, str]]:
    """(lastModStartDate, lastModEndDate, startIndex) of each request the stand-in API received."""
    return [
        (r["query"]["lastModStartDate"][0], r["query"]["lastModEndDate"][0], r["query"]["startIndex"][0])
        for r in feed_server.requests
    ]


@pytest.fixture
def api(feed_server, settings, monkeypatch):
    settings.NVD_INITIAL_SINCE = SINCE
    settings.NVD_REQUEST_DELAY = 0
    settings.NVD_API_KEY = ""
    monkeypatch.setattr(nvd, "current_time", lambda: NOW)
    fake = FakeNvdApi(fixture_records())
    feed_server.serve(API_PATH, fake)
    return fake


@pytest.fixture
def source(feed_server):
    return FeedSource.objects.create(name="NVD", kind="nvd", url=feed_server.url(API_PATH))


@pytest.fixture
def signals():
    sent: list[dict] = []

    def receiver(sender, **kwargs):
        sent.append(kwargs)

    feed_ingested.connect(receiver, dispatch_uid="tests.test_nvd.signals")
    yield sent
    feed_ingested.disconnect(dispatch_uid="tests.test_nvd.signals")


def test_the_38_record_page_is_stored_with_nvds_values(caplog):
    with caplog.at_level(logging.WARNING, logger="advisories.feeds.nvd"):
        run = ingest("nvd", str(PAGE_38))

    assert (run.status, run.added, run.skipped) == (FeedRun.Status.SUCCESS, 38, 0)
    assert Cve.objects.count() == 38
    ontap = Cve.objects.get(cve_id="CVE-2023-27314")
    assert ontap.description.startswith("ONTAP 9 versions prior to 9.8P19, 9.9.1P16")  # the English one
    assert ontap.published == dt.datetime(2023, 10, 12, 19, 15, 11, 747000, tzinfo=dt.UTC)
    assert ontap.last_modified == dt.datetime(2023, 10, 18, 18, 0, 24, 900000, tzinfo=dt.UTC)
    assert ontap.status == "Analyzed"
    assert ontap.cvss3_vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"
    assert (ontap.cvss3_score, ontap.cvss3_severity) == (Decimal("7.5"), "high")
    # NVD's own weakness is NVD-CWE-noinfo, which names none; NetApp's CWE-400 is the CWE.
    assert ontap.cwes == ["CWE-400"]
    assert (ontap.cvss4_vector, ontap.cvss4_score) == ("", None)
    # NVD's Primary 8.8 wins over Patchstack's Secondary 5.4.
    whitepage = Cve.objects.get(cve_id="CVE-2023-45109")
    assert whitepage.cvss3_vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H"
    assert whitepage.cvss3_score == Decimal("8.8")
    # Not analysed yet: the CNA's Secondary score is all there is, and it is kept.
    tweeple = Cve.objects.get(cve_id="CVE-2023-30781")
    assert tweeple.status == "Awaiting Analysis"
    assert (tweeple.cvss3_score, tweeple.cvss3_severity) == (Decimal("7.1"), "high")
    unscored = Cve.objects.get(cve_id="CVE-2023-43250")
    assert (unscored.cvss3_vector, unscored.cvss3_score, unscored.cwes) == ("", None, [])
    assert Cve.objects.get(cve_id="CVE-2023-5642").cvss3_severity == "critical"
    # Every stated base score in the fixture is the one its vector computes to.
    assert [r for r in caplog.records if r.name == "advisories.feeds.nvd"] == []


def test_a_folder_of_pages_is_read_file_by_file():
    source = FeedSource.objects.create(name="NVD offline", kind="nvd", url=str(PAGE_38.parent))

    run = sync_source(source)

    assert (run.status, run.added) == (FeedRun.Status.SUCCESS, 39)
    single = Cve.objects.get(cve_id="CVE-2022-1576")  # from the single-entry page; its CVSS v2 is not read
    assert (single.cvss3_score, single.cvss3_severity, single.cwes) == (Decimal("6.5"), "medium", ["CWE-352"])
    assert single.status == "Modified"
    source.refresh_from_db()
    assert source.record_count == 39


def test_cvss_30_and_40_a_disagreeing_score_and_malformed_items(caplog):
    with caplog.at_level(logging.WARNING, logger="advisories.feeds.nvd"):
        run = ingest("nvd", str(CONSTRUCTED_PAGE))

    assert (run.status, run.added, run.skipped) == (FeedRun.Status.PARTIAL, 3, 4)
    assert sorted(Cve.objects.values_list("cve_id", flat=True)) == ["CVE-2099-0001", "CVE-2099-0002", "CVE-2099-0006"]
    both = Cve.objects.get(cve_id="CVE-2099-0001")
    assert (both.cvss3_vector, both.cvss3_score, both.cvss3_severity) == (
        "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        Decimal("9.8"),
        "critical",
    )
    assert (both.cvss4_vector, both.cvss4_score, both.cvss4_severity) == (
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        Decimal("9.3"),
        "critical",
    )
    assert both.cvss_score == Decimal("9.8")
    assert both.description == "A vulnerability written for the tests, scored in CVSS 3.0 and 4.0."
    assert both.cwes == ["CWE-120", "CWE-787"]
    # NVD's Primary 3.0 score is kept over the CNA's Secondary 3.1 one.
    primary = Cve.objects.get(cve_id="CVE-2099-0006")
    assert (primary.cvss3_vector[:8], primary.cvss3_score, primary.cwes) == ("CVSS:3.0", Decimal("7.8"), [])
    # The vector computes 9.8; NVD says 9.1: NVD's score is stored and the difference logged.
    assert Cve.objects.get(cve_id="CVE-2099-0002").cvss3_score == Decimal("9.1")
    mismatches = [r for r in caplog.records if r.getMessage() == "NVD base score differs from the vector's"]
    assert [(r.cve, r.stated, r.computed) for r in mismatches] == [("CVE-2099-0002", "9.1", "9.8")]

    errors = {e["record"]: e["error"] for e in run.errors}
    assert "not an ISO 8601 time" in errors["CVE-2099-0003"] and "published" in errors["CVE-2099-0003"]
    assert 'Unknown value "X"' in errors["CVE-2099-0005"]
    assert errors[f"{CONSTRUCTED_PAGE} vulnerabilities[3]"] == "id: not a CVE id: None"
    assert errors[f"{CONSTRUCTED_PAGE} vulnerabilities[6]"] == "cve: must be an object"


def test_api_is_paged_within_lastmodified_windows_and_the_cursor_follows(api, source, feed_server, monkeypatch):
    run = sync_source(source)

    assert (run.status, run.added, run.skipped) == (FeedRun.Status.SUCCESS, 38, 0), run.error
    assert Cve.objects.count() == 38
    # An empty window costs one request; the full one is paged by what the server returned (15 a
    # page, though 2,000 were asked for) until totalResults (38), and not a page further.
    assert asked(feed_server) == [(*WINDOW_1, "0"), (*WINDOW_2, "0"), (*WINDOW_2, "15"), (*WINDOW_2, "30")]
    assert {r["query"]["resultsPerPage"][0] for r in feed_server.requests} == {"2000"}
    source.refresh_from_db()
    assert source.cursor == {"last_mod_end": "2023-10-18T18:30:00+00:00"}
    assert source.record_count == 38

    # Six hours later: one window from where the last sync ended, nothing new, nothing written.
    feed_server.requests.clear()
    monkeypatch.setattr(nvd, "current_time", lambda: NOW + dt.timedelta(hours=6))
    with CaptureQueriesContext(connection) as queries:
        again = sync_source(source)

    assert asked(feed_server) == [("2023-10-18T18:30:00.000+00:00", "2023-10-19T00:30:00.000+00:00", "0")]
    assert (again.status, again.added, again.updated) == (FeedRun.Status.SUCCESS, 0, 0)
    assert not [q for q in queries.captured_queries if 'INTO "advisories_cve"' in q["sql"]]
    source.refresh_from_db()
    assert source.cursor == {"last_mod_end": "2023-10-19T00:30:00+00:00"}


def test_api_key_is_sent_as_the_apikey_header_when_configured(api, source, feed_server, settings):
    sync_source(source)
    assert feed_server.requests and all("apikey" not in {h.lower() for h in r["headers"]} for r in feed_server.requests)

    feed_server.requests.clear()
    source.cursor = {}
    source.save()
    settings.NVD_API_KEY = "nvd-key-for-tests"
    sync_source(source)

    assert len(feed_server.requests) == 4
    assert all(r["headers"].get("apiKey") == "nvd-key-for-tests" for r in feed_server.requests)


def test_requests_are_spaced_by_the_configured_delay(api, source, feed_server, settings):
    settings.NVD_REQUEST_DELAY = 0.2
    times: list[float] = []

    def timed(path, query):
        times.append(time.monotonic())
        return api(path, query)

    feed_server.serve(API_PATH, timed)

    sync_source(source)

    assert len(times) == 4
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.19


def test_a_sync_failing_half_way_keeps_what_it_stored_and_resumes(api, source, feed_server, signals):
    api.failing = {15: 500}  # the second page of the second window

    failed = sync_source(source)

    assert failed.status == FeedRun.Status.FAILED
    assert "HTTP 500" in failed.error
    assert asked(feed_server) == [(*WINDOW_1, "0"), (*WINDOW_2, "0"), (*WINDOW_2, "15")]
    # The first page committed; the cursor passed the complete window and not the incomplete one.
    first_page = {r["cve"]["id"] for r in fixture_records()[:15]}
    assert set(Cve.objects.values_list("cve_id", flat=True)) == first_page
    source.refresh_from_db()
    assert source.cursor == {"last_mod_end": "2023-09-29T00:00:00+00:00"}
    assert source.last_failure_at is not None and "HTTP 500" in source.last_error
    assert signals[-1]["cve_ids"] == first_page

    api.failing = {}
    feed_server.requests.clear()
    resumed = sync_source(source)

    assert (resumed.status, resumed.added, resumed.unchanged) == (FeedRun.Status.SUCCESS, 23, 15)
    assert asked(feed_server) == [(*WINDOW_2, "0"), (*WINDOW_2, "15"), (*WINDOW_2, "30")]
    assert Cve.objects.count() == 38
    source.refresh_from_db()
    assert source.cursor == {"last_mod_end": "2023-10-18T18:30:00+00:00"}
    assert source.healthy


def test_a_window_that_changes_while_it_is_read_is_read_again(api, source, feed_server):
    def modify_first_cve_again(index, total):
        # After the first page of the full window, NVD modifies CVE-2023-27314 again: it leaves the
        # window and every later record moves up one place, so page 2 would start one record too late.
        if index == 0 and total == 38:
            api.records[0] = json.loads(json.dumps(api.records[0]))
            api.records[0]["cve"]["lastModified"] = "2023-10-18T18:45:00.000"
            api.after_page = None

    api.after_page = modify_first_cve_again

    run = sync_source(source)

    assert run.status == FeedRun.Status.SUCCESS, run.error
    assert Cve.objects.count() == 38
    window_2 = [start for (*_, start) in asked(feed_server)[1:]]
    assert window_2 == ["0", "15", "30", "0", "15", "30"]  # the first read ran short, so it was read again
    source.refresh_from_db()
    assert source.cursor == {"last_mod_end": "2023-10-18T18:30:00+00:00"}


def test_reingesting_unchanged_data_writes_nothing_and_a_change_touches_only_that_cve(tmp_path, signals):
    ingest("nvd", str(PAGE_38))
    stamps = dict(Cve.objects.values_list("cve_id", "updated_at"))
    assert len(signals[-1]["cve_ids"]) == 38

    with CaptureQueriesContext(connection) as queries:
        again = ingest("nvd", str(PAGE_38))

    assert (again.status, again.added, again.updated, again.unchanged) == (FeedRun.Status.SUCCESS, 0, 0, 38)
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith(("INSERT", "UPDATE"))]
    assert not [sql for sql in writes if '"advisories_cve"' in sql]
    assert dict(Cve.objects.values_list("cve_id", "updated_at")) == stamps
    assert len(signals) == 1  # nothing changed, nothing to re-match

    page = json.loads(PAGE_38.read_bytes())
    ontap = page["vulnerabilities"][0]["cve"]
    ontap["lastModified"] = "2023-10-19T09:00:00.000"
    ontap["metrics"]["cvssMetricV31"][0]["cvssData"].update(
        vectorString="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:H", baseScore=8.2, baseSeverity="HIGH"
    )
    changed_page = tmp_path / "changed.json"
    changed_page.write_text(json.dumps(page))

    changed = ingest("nvd", str(changed_page))

    assert (changed.added, changed.updated, changed.unchanged) == (0, 1, 37)
    assert signals[-1]["cve_ids"] == {"CVE-2023-27314"}
    assert Cve.objects.get(cve_id="CVE-2023-27314").cvss3_score == Decimal("8.2")
    assert Cve.objects.get(cve_id="CVE-2023-45109").updated_at == stamps["CVE-2023-45109"]


def test_a_page_that_is_not_json_is_reported_by_name(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_bytes(PAGE_38.read_bytes()[:5000])

    run = ingest("nvd", str(tmp_path))

    # Nothing usable at all: the run failed, and says which file and why.
    assert (run.status, run.skipped, Cve.objects.count()) == (FeedRun.Status.FAILED, 1, 0)
    assert run.errors[0]["record"] == str(broken)
    assert run.error.startswith(f"no usable record in 1 read; first: {broken}: Expecting")

    # Beside a good page, the broken one is skipped and reported; the good one lands.
    (tmp_path / "good.json").write_bytes(PAGE_38.read_bytes())
    run = ingest("nvd", str(tmp_path))
    assert (run.status, run.skipped, run.added, Cve.objects.count()) == (FeedRun.Status.PARTIAL, 1, 38, 38)
    assert run.errors[0]["record"] == str(broken)
