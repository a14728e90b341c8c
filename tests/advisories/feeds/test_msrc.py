"""The Microsoft CVRF adapter: KBs from the January 2024 and February 2026 documents as the XML states
them, a KB in two documents, the MSRC API's updates listing, broken and foreign documents, idempotence."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from advisories.feeds import msrc
from advisories.ingest import ingest, sync_source
from advisories.models import FeedRun, FeedSource, WindowsKb
from advisories.signals import feed_ingested
from tests.fixtures.feed_server import Reply

pytestmark = pytest.mark.django_db

ADVISORIES = Path(__file__).resolve().parents[2] / "fixtures" / "advisories"
JAN_2024 = ADVISORIES / "msrc" / "cvrfDocument-2024-Jan.xml"
FEB_2026 = ADVISORIES / "msrc" / "cvrfDocument-2026-Feb.xml"
MAR_2026 = ADVISORIES / "constructed" / "msrc" / "cvrfDocument-2026-Mar-constructed.xml"
SUSE = ADVISORIES / "constructed" / "msrc" / "suse-cvrf-1.2-constructed.xml"
UPDATES = "/cvrf/v3.0/updates"

# Read from cvrfDocument-2026-Feb.xml: the Vendor Fix remediations with Description 5077181.
KB5077181_PRODUCTS = [
    "Windows 11 Version 24H2 for ARM64-based Systems",  # ProductID 12389
    "Windows 11 Version 24H2 for x64-based Systems",  # 12390
    "Windows 11 Version 25H2 for ARM64-based Systems",  # 20437
    "Windows 11 Version 25H2 for x64-based Systems",  # 20438
]


@pytest.fixture
def signals():
    sent: list[dict] = []

    def receiver(sender, **kwargs):
        sent.append(kwargs)

    feed_ingested.connect(receiver, dispatch_uid="tests.test_msrc.signals")
    yield sent
    feed_ingested.disconnect(dispatch_uid="tests.test_msrc.signals")


def kb(number: str) -> WindowsKb:
    return WindowsKb.objects.get(kb=number)


def test_february_2026_kbs_as_the_document_states_them():
    run = ingest("msrc", str(FEB_2026))

    assert (run.status, run.added, run.skipped) == (FeedRun.Status.SUCCESS, 29, 0)
    # 29 KB numbers among the 549 Vendor Fixes; "Release Notes", "Click to Run" and the
    # "CBL-Mariner Releases" fixes name no KB and make no row.
    assert WindowsKb.objects.count() == 29
    assert all(number.isdigit() for number in WindowsKb.objects.values_list("kb", flat=True))

    cumulative = kb("5077181")
    assert cumulative.products == KB5077181_PRODUCTS
    assert len(cumulative.cves) == 27
    assert {"CVE-2026-21519", "CVE-2026-20846", "CVE-2026-21533"} <= set(cumulative.cves)
    assert cumulative.severity == "Important"  # Important and Moderate CVEs, no Critical one
    assert cumulative.supersedes == ["5073379", "5074109"]  # 5073379 on 24H2 ARM64, 5074109 on the others
    assert cumulative.fixed_builds == ["10.0.26100.7840", "10.0.26200.7840"]
    assert cumulative.restart_required == "Yes"
    assert cumulative.url == "https://catalog.update.microsoft.com/v7/site/Search.aspx?q=KB5077181"
    assert (cumulative.document, cumulative.released) == ("2026-Feb", dt.date(2026, 2, 10))

    hotpatch = kb("5077212")  # the hotpatch for the same Windows 11 versions supersedes nothing
    assert (hotpatch.supersedes, hotpatch.fixed_builds) == ([], ["10.0.26100.7781", "10.0.26200.7781"])
    exchange = kb("5074992")  # ProductID 16792, a download-page URL rather than the catalog
    assert exchange.products == ["Microsoft Exchange Server Subscription Edition RTM"]
    assert (exchange.cves, exchange.supersedes, exchange.fixed_builds) == (
        ["CVE-2026-21527"],
        ["5071876"],
        ["15.02.2562.037"],
    )
    assert exchange.url == "https://www.microsoft.com/en-us/download/details.aspx?id=108556"


def test_january_2024_kbs_with_critical_cves_and_no_supercedence():
    run = ingest("msrc", str(JAN_2024))

    assert (run.status, run.added) == (FeedRun.Status.SUCCESS, 37)
    windows10 = kb("5034122")
    assert windows10.severity == "Critical"
    assert len(windows10.cves) == 34
    assert "Windows 10 Version 22H2 for x64-based Systems" in windows10.products
    assert len(windows10.products) == 6
    assert windows10.supersedes == ["5033372"]
    assert windows10.fixed_builds == ["10.0.19044.3930", "10.0.19045.3930"]
    # A Security Only update: no Supercedence element; some of its CVEs have an empty severity.
    security_only = kb("5034167")
    assert (security_only.supersedes, security_only.severity, len(security_only.cves)) == ([], "Critical", 19)
    dotnet = kb("5034275")
    assert (dotnet.severity, dotnet.restart_required) == ("Important", "Maybe")


def test_a_folder_holds_both_documents():
    source = FeedSource.objects.create(name="MSRC offline", kind="msrc", url=str(FEB_2026.parent))

    run = sync_source(source)

    assert (run.status, run.added) == (FeedRun.Status.SUCCESS, 37 + 29)  # no KB is in both months
    assert set(WindowsKb.objects.values_list("document", flat=True)) == {"2024-Jan", "2026-Feb"}
    source.refresh_from_db()
    assert source.record_count == 66


@pytest.mark.parametrize("order", [(FEB_2026, MAR_2026), (MAR_2026, FEB_2026)], ids=["feb-then-mar", "mar-then-feb"])
def test_a_kb_in_two_documents_keeps_both_cves_and_the_later_documents_metadata(order, signals):
    for document in order:
        ingest("msrc", str(document))

    cumulative = kb("5077181")
    assert len(cumulative.cves) == 28 and "CVE-2099-3001" in cumulative.cves and "CVE-2026-21519" in cumulative.cves
    assert cumulative.products == sorted(
        [*KB5077181_PRODUCTS, "Windows 11 Version 24H2 for x64-based Systems (constructed edition)"]
    )
    assert cumulative.severity == "Critical"  # CVE-2099-3001 is Critical on 24H2
    # March is later, whichever came first: its supersedence, builds, restart and URL.
    assert (cumulative.document, cumulative.released) == ("2026-Mar", dt.date(2026, 3, 10))
    assert cumulative.supersedes == ["5072033", "5073379", "5074109"]  # "5074109; 5073379,5072033"
    assert cumulative.fixed_builds == ["10.0.26100.7841"]
    assert cumulative.restart_required == "Maybe"
    assert cumulative.url.endswith("q=KB5077181&rev=2")
    assert "5077181" in signals[-1]["kbs"]

    empty_supercedence = kb("5099001")  # written "KB5099001", with an empty <Supercedence />
    assert (empty_supercedence.supersedes, empty_supercedence.severity) == ([], "Low")
    assert WindowsKb.objects.count() == 29 + 1


def test_reingesting_a_document_writes_nothing(signals):
    ingest("msrc", str(FEB_2026))
    hashes = dict(WindowsKb.objects.values_list("kb", "content_hash"))

    with CaptureQueriesContext(connection) as queries:
        again = ingest("msrc", str(FEB_2026))

    assert (again.status, again.added, again.updated, again.unchanged) == (FeedRun.Status.SUCCESS, 0, 0, 29)
    assert not [q for q in queries.captured_queries if 'INTO "advisories_windowskb"' in q["sql"]]
    assert not [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "advisories_windowskb"')]
    assert dict(WindowsKb.objects.values_list("kb", "content_hash")) == hashes
    assert len(signals) == 1


def test_a_truncated_document_and_a_foreign_one_are_reported_and_the_other_stored(tmp_path):
    shutil.copy(FEB_2026, tmp_path / "cvrfDocument-2026-Feb.xml")
    truncated = tmp_path / "cvrfDocument-2024-Jan.xml"
    truncated.write_bytes(JAN_2024.read_bytes()[:400_000])
    shutil.copy(SUSE, tmp_path / "suse.xml")

    run = ingest("msrc", str(tmp_path))

    assert (run.status, run.added, run.skipped) == (FeedRun.Status.PARTIAL, 29, 2)
    errors = {e["record"]: e["error"] for e in run.errors}
    assert errors[str(truncated)].startswith("not well-formed XML")
    assert errors[str(tmp_path / "suse.xml")].startswith("not a Microsoft CVRF 1.1 document")
    assert set(WindowsKb.objects.values_list("document", flat=True)) == {"2026-Feb"}
    assert not WindowsKb.objects.filter(kb="5099999").exists()  # the SUSE document's "KB-like" number


def _listed(feed_server, month: str, released: str, revised: str) -> dict:
    return {
        "ID": month,
        "Alias": month,
        "DocumentTitle": f"{month} Security Updates",
        "Severity": None,
        "InitialReleaseDate": released,
        "CurrentReleaseDate": revised,
        "CvrfUrl": feed_server.url(f"/cvrf/v3.0/cvrf/{month}"),
    }


@pytest.fixture
def msrc_api(feed_server, settings, monkeypatch):
    """The updates listing and three documents, on 2026-03-20 with MSRC_MONTHS = 3."""
    settings.MSRC_MONTHS = 3
    monkeypatch.setattr(msrc, "current_time", lambda: dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC))
    listing = {
        "@odata.context": "https://api.msrc.microsoft.com/cvrf/v3.0/$metadata#Updates",
        "value": [
            _listed(feed_server, "2024-Jan", "2024-01-09T08:00:00Z", "2024-01-21T00:00:00Z"),
            _listed(feed_server, "2026-Feb", "2026-02-10T08:00:00Z", "2026-03-01T01:01:55Z"),
            _listed(feed_server, "2026-Mar", "2026-03-10T07:00:00Z", "2026-03-10T07:00:00Z"),
        ],
    }
    feed_server.serve(UPDATES, lambda path, query: Reply(200, json.dumps(listing).encode()))
    for month, file in (("2024-Jan", JAN_2024), ("2026-Feb", FEB_2026), ("2026-Mar", MAR_2026)):
        feed_server.serve_file(f"/cvrf/v3.0/cvrf/{month}", file)
    return listing


@pytest.fixture
def api_source(feed_server):
    return FeedSource.objects.create(name="MSRC", kind="msrc", url=feed_server.url(UPDATES))


def test_the_api_fetches_the_recent_months_as_xml_and_only_what_changed(msrc_api, api_source, feed_server):
    run = sync_source(api_source)

    assert (run.status, run.added) == (FeedRun.Status.SUCCESS, 30), run.error
    paths = [r["path"] for r in feed_server.requests]
    assert paths == [UPDATES, "/cvrf/v3.0/cvrf/2026-Feb", "/cvrf/v3.0/cvrf/2026-Mar"]  # 2024-Jan is too old
    assert feed_server.requests[0]["headers"]["Accept"] == "application/json"
    assert {r["headers"]["Accept"] for r in feed_server.requests[1:]} == {"application/xml"}
    assert kb("5077181").document == "2026-Mar"
    api_source.refresh_from_db()
    assert api_source.cursor == {"documents": {"2026-Feb": "2026-03-01T01:01:55Z", "2026-Mar": "2026-03-10T07:00:00Z"}}

    # Nothing revised: the listing is read and no document fetched.
    feed_server.requests.clear()
    unchanged = sync_source(api_source)
    assert unchanged.status == FeedRun.Status.NOT_MODIFIED
    assert [r["path"] for r in feed_server.requests] == [UPDATES]

    # Microsoft revises February: only February is fetched again, and its KBs are as they were.
    msrc_api["value"][1]["CurrentReleaseDate"] = "2026-03-18T07:00:00Z"
    feed_server.requests.clear()
    revised = sync_source(api_source)
    assert [r["path"] for r in feed_server.requests] == [UPDATES, "/cvrf/v3.0/cvrf/2026-Feb"]
    assert (revised.status, revised.added, revised.updated, revised.unchanged) == (FeedRun.Status.SUCCESS, 0, 0, 29)
    api_source.refresh_from_db()
    assert api_source.cursor["documents"]["2026-Feb"] == "2026-03-18T07:00:00Z"


def test_a_broken_document_from_the_api_is_fetched_again_next_sync(msrc_api, api_source, feed_server):
    feed_server.serve("/cvrf/v3.0/cvrf/2026-Feb", Reply(200, FEB_2026.read_bytes()[:300_000]))

    run = sync_source(api_source)

    assert (run.status, run.skipped, run.added) == (FeedRun.Status.PARTIAL, 1, 2)  # March's two KBs
    assert run.errors[0]["record"] == feed_server.url("/cvrf/v3.0/cvrf/2026-Feb")
    assert run.errors[0]["error"].startswith("not well-formed XML")
    api_source.refresh_from_db()
    assert api_source.cursor == {"documents": {"2026-Mar": "2026-03-10T07:00:00Z"}}

    feed_server.serve_file("/cvrf/v3.0/cvrf/2026-Feb", FEB_2026)
    feed_server.requests.clear()
    retried = sync_source(api_source)

    assert [r["path"] for r in feed_server.requests] == [UPDATES, "/cvrf/v3.0/cvrf/2026-Feb"]
    assert (retried.status, retried.added, retried.updated) == (FeedRun.Status.SUCCESS, 28, 1)  # 5077181 merged
    assert WindowsKb.objects.count() == 30
    assert len(kb("5077181").cves) == 28


def test_an_unreadable_listing_fails_the_run_and_keeps_the_kbs(msrc_api, api_source, feed_server):
    sync_source(api_source)
    feed_server.serve(UPDATES, Reply(200, b"<html>maintenance</html>"))

    run = sync_source(api_source)

    assert run.status == FeedRun.Status.FAILED
    assert "not an MSRC updates listing" in run.error
    assert WindowsKb.objects.count() == 30
