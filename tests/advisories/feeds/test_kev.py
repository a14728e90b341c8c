"""The CISA KEV adapter: the full catalog, idempotent re-ingests, changed and broken entries, HTTP caching."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from advisories.ingest import ingest, sync_source
from advisories.models import FeedSource, KevEntry

from .conftest import ADVISORY_FIXTURES, writes_to

pytestmark = pytest.mark.django_db

CATALOG = ADVISORY_FIXTURES / "kev" / "known_exploited_vulnerabilities.json"


def catalog() -> dict:
    return json.loads(CATALOG.read_text())


def stored() -> dict:
    return {e.cve_id: (e.pk, e.content_hash, e.due_date) for e in KevEntry.objects.all()}


def counts(run) -> tuple:
    return run.status, run.added, run.updated, run.unchanged, run.skipped


def test_the_full_catalog_is_stored(ingested_signals):
    run = ingest("kev", str(CATALOG))

    assert counts(run) == ("success", 1404, 0, 0, 0)
    assert KevEntry.objects.count() == 1404
    log4shell = KevEntry.objects.get(cve_id="CVE-2021-44228")
    assert (log4shell.vendor, log4shell.product) == ("Apache", "Log4j2")
    assert log4shell.name == "Apache Log4j2 Remote Code Execution Vulnerability"
    assert (log4shell.date_added, log4shell.due_date) == (dt.date(2021, 12, 10), dt.date(2021, 12, 24))
    assert log4shell.ransomware == "Known" and log4shell.ransomware_known
    assert log4shell.cwes == ["CWE-20", "CWE-400", "CWE-502"]
    assert log4shell.notes == "https://nvd.nist.gov/vuln/detail/CVE-2021-44228"
    assert log4shell.required_action.startswith("For all affected software assets for which updates exist")
    git = KevEntry.objects.get(cve_id="CVE-2025-48384")
    assert (git.date_added, git.due_date, git.ransomware) == (dt.date(2025, 8, 25), dt.date(2025, 9, 15), "Unknown")
    assert not git.ransomware_known
    assert git.cwes[0] == "CWE-59"
    assert KevEntry.objects.filter(ransomware="Known").count() == 293
    assert KevEntry.objects.filter(ransomware="Unknown").count() == 1111
    assert ingested_signals[-1]["cve_ids"] == {v["cveID"] for v in catalog()["vulnerabilities"]}


def test_a_second_ingest_of_the_same_catalog_writes_nothing(ingested_signals):
    ingest("kev", str(CATALOG))
    before = stored()
    ingested_signals.clear()

    with writes_to("advisories_keventry") as writes:
        run = ingest("kev", str(CATALOG))

    assert counts(run) == ("success", 0, 0, 1404, 0)
    assert writes == []
    assert stored() == before
    assert ingested_signals == []


def test_a_changed_entry_is_updated_and_only_it_is_touched(tmp_path, ingested_signals):
    ingest("kev", str(CATALOG))
    before = stored()
    data = catalog()
    changed = next(v for v in data["vulnerabilities"] if v["cveID"] == "CVE-2021-44228")
    changed["dueDate"] = "2022-01-07"
    changed["knownRansomwareCampaignUse"] = "Unknown"
    data["vulnerabilities"].append(
        changed | {"cveID": "CVE-2099-0001", "vendorProject": "Example", "dateAdded": "2099-01-01"}
    )
    (tmp_path / "kev.json").write_text(json.dumps(data))

    run = ingest("kev", str(tmp_path / "kev.json"))

    assert counts(run) == ("success", 1, 1, 1403, 0)
    assert ingested_signals[-1]["cve_ids"] == {"CVE-2021-44228", "CVE-2099-0001"}
    log4shell = KevEntry.objects.get(cve_id="CVE-2021-44228")
    assert (log4shell.pk, log4shell.due_date, log4shell.ransomware) == (
        before["CVE-2021-44228"][0],
        dt.date(2022, 1, 7),
        "Unknown",
    )
    assert KevEntry.objects.get(cve_id="CVE-2099-0001").vendor == "Example"
    after = stored()
    del after["CVE-2021-44228"], after["CVE-2099-0001"], before["CVE-2021-44228"]
    assert after == before


def test_broken_entries_are_named_and_skipped_while_the_rest_lands(tmp_path):
    data = catalog()
    entries = data["vulnerabilities"]
    del entries[0]["cveID"]
    entries[1]["dateAdded"] = "2025-02-30"
    entries[2]["dueDate"] = "next week"
    entries[3]["cveID"] = "CVE-2025-12"
    entries[4]["cwes"] = "CWE-79"
    entries[5]["vendorProject"] = "x" * 201
    broken = [entries[i].get("cveID") for i in range(1, 6)]
    (tmp_path / "kev.json").write_text(json.dumps(data))

    run = ingest("kev", str(tmp_path / "kev.json"))

    assert counts(run) == ("partial", 1398, 0, 0, 6)
    errors = {e["record"]: e["error"] for e in run.errors}
    assert errors == {
        "vulnerabilities[0]": "cveID: not a CVE id: None",
        broken[0]: "dateAdded: not a YYYY-MM-DD date: '2025-02-30'",
        broken[1]: "dueDate: not a YYYY-MM-DD date: 'next week'",
        "CVE-2025-12": "cveID: not a CVE id: 'CVE-2025-12'",
        broken[3]: "cwes: must be a list of strings",
        broken[4]: "vendorProject: longer than 200 characters",
    }
    assert KevEntry.objects.count() == 1398
    assert not KevEntry.objects.filter(cve_id__in=[broken[0], broken[1], broken[3], broken[4]]).exists()


def test_a_file_that_is_not_a_catalog_fails_and_deletes_nothing(tmp_path):
    ingest("kev", str(CATALOG))
    before = stored()
    (tmp_path / "kev.json").write_text(json.dumps({"title": "CISA Catalog", "vulnerabilities": None}))

    run = ingest("kev", str(tmp_path / "kev.json"))

    assert run.status == "failed"
    assert "not a KEV catalog" in run.error
    assert stored() == before


def test_a_sync_over_http_stores_the_validators_and_then_gets_304(feed_server):
    url = feed_server.serve_file("feeds/known_exploited_vulnerabilities.json", CATALOG)
    source = FeedSource.objects.create(name="CISA KEV", kind="kev", url=url)

    first = sync_source(source)

    assert counts(first) == ("success", 1404, 0, 0, 0)
    source.refresh_from_db()
    assert source.etag and source.last_modified and source.record_count == 1404
    before = stored()

    with writes_to("advisories_keventry") as writes:
        second = sync_source(source)

    assert counts(second) == ("not_modified", 0, 0, 0, 0)
    assert feed_server.requests[-1]["headers"]["If-None-Match"] == source.etag
    assert writes == []
    assert stored() == before
