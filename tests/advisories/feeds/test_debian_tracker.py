"""The Debian security tracker adapter: DEBIAN-CVE advisories as osv.dev publishes them, open,
resolved and never-affected releases, malformed package entries, idempotent re-ingests."""

from __future__ import annotations

import copy
import json

import pytest

from advisories.ingest import ingest, sync_source
from advisories.models import Advisory, AffectedPackage, FeedSource

from .conftest import ADVISORY_FIXTURES, writes_to

pytestmark = pytest.mark.django_db

TRACKER = ADVISORY_FIXTURES / "debian_tracker"
EXCERPT = TRACKER / "vunnel_security_tracker_data_json_excerpt.json"
MOCK = TRACKER / "osvdev_debian_security_tracker_MOCK.json"
ADVISORY_TABLES = ("advisories_advisory", "advisories_affectedpackage")


def fixed_in(version: str) -> list[dict]:
    return [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": version}]}]


EVERY_VERSION = [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]


def affected(advisory_id: str) -> list[tuple]:
    return [
        (a.ecosystem, a.name, a.ranges, a.fixed_versions, a.severity)
        for a in AffectedPackage.objects.filter(advisory__advisory_id=advisory_id).order_by("pk")
    ]


def snapshot() -> dict:
    rows = {a.advisory_id: [a.pk, a.content_hash, a.ingested_at] for a in Advisory.objects.all()}
    for advisory_id, pk in AffectedPackage.objects.order_by("pk").values_list("advisory__advisory_id", "pk"):
        rows[advisory_id].append(pk)
    return rows


def counts(run) -> tuple:
    return run.status, run.added, run.updated, run.unchanged, run.skipped


def write(tmp_path, data, name="json") -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_the_excerpt_becomes_one_advisory_per_cve():
    run = ingest("debian-tracker", str(EXCERPT))

    assert counts(run) == ("success", 7, 0, 0, 0)
    assert set(Advisory.objects.values_list("advisory_id", flat=True)) == {
        "DEBIAN-CVE-2005-3111",
        "DEBIAN-CVE-2007-2383",
        "DEBIAN-CVE-2008-7220",
        "DEBIAN-CVE-2013-1444",
        "DEBIAN-CVE-2022-0358",
        "DEBIAN-CVE-2022-0456",
        "DEBIAN-CVE-2025-53603",
    }
    advisory = Advisory.objects.get(advisory_id="DEBIAN-CVE-2008-7220")
    assert (advisory.kind, advisory.aliases, advisory.cves) == ("debian-tracker", ["CVE-2008-7220"], ["CVE-2008-7220"])
    assert advisory.details.startswith("Unspecified vulnerability in Prototype JavaScript framework (prototypejs)")
    assert advisory.summary == advisory.details
    assert advisory.severity == "high"  # urgency "high**"
    assert advisory.references == [
        {"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/CVE-2008-7220"},
        {"type": "REPORT", "url": "https://bugs.debian.org/555217"},
    ]
    # jessie, stretch and buster; sid is no release a device runs.
    assert affected("DEBIAN-CVE-2008-7220") == [
        ("Debian:8", "prototypejs", fixed_in("1.6.0.2-1"), ["1.6.0.2-1"], "high"),
        ("Debian:9", "prototypejs", fixed_in("1.6.0.2-1"), ["1.6.0.2-1"], "high"),
        ("Debian:10", "prototypejs", fixed_in("1.6.0.2-1"), ["1.6.0.2-1"], "high"),
    ]
    assert AffectedPackage.objects.get(advisory=advisory, ecosystem="Debian:10").purl == (
        "pkg:deb/debian/prototypejs?arch=source"
    )
    assert affected("DEBIAN-CVE-2025-53603") == [
        ("Debian:11", "sope", fixed_in("5.0.1-2+deb11u1"), ["5.0.1-2+deb11u1"], ""),
        ("Debian:12", "sope", fixed_in("5.8.0-1+deb12u1"), ["5.8.0-1+deb12u1"], ""),
        ("Debian:13", "sope", fixed_in("5.12.1-2"), ["5.12.1-2"], ""),
    ]
    assert affected("DEBIAN-CVE-2013-1444")[2] == ("Debian:10", "txt2man", fixed_in("1.5.5-4.1"), ["1.5.5-4.1"], "low")
    assert Advisory.objects.get(advisory_id="DEBIAN-CVE-2005-3111").severity == "medium"


def test_open_releases_are_affected_in_every_version_and_resolved_ones_up_to_the_fix():
    ingest("debian-tracker", str(EXCERPT))

    assert affected("DEBIAN-CVE-2022-0456") == [
        ("Debian:9", "chromium", EVERY_VERSION, [], ""),  # open, end-of-life
        ("Debian:10", "chromium", EVERY_VERSION, [], ""),
        ("Debian:11", "chromium", fixed_in("98.0.4758.80-1~deb11u1"), ["98.0.4758.80-1~deb11u1"], ""),
        ("Debian:12", "chromium", fixed_in("98.0.4758.80-1"), ["98.0.4758.80-1"], ""),
    ]
    assert Advisory.objects.get(advisory_id="DEBIAN-CVE-2022-0456").severity == ""  # "not yet assigned"


def test_fixed_version_zero_means_the_release_was_never_affected():
    ingest("debian-tracker", str(EXCERPT))
    ingest("debian-tracker", str(MOCK))

    # Kept, with nothing affected: a later "not affected" must replace earlier ranges.
    assert affected("DEBIAN-CVE-2007-2383") == []
    assert affected("DEBIAN-CVE-2014-1424") == []
    assert affected("DEBIAN-CVE-2022-0358") == []  # the tracker lists no release at all
    assert affected("DEBIAN-CVE-2016-1585") == [
        ("Debian:10", "apparmor", EVERY_VERSION, [], "low"),  # open, unimportant
        ("Debian:11", "apparmor", EVERY_VERSION, [], "low"),
        ("Debian:12", "apparmor", EVERY_VERSION, [], "low"),
        ("Debian:13", "apparmor", fixed_in("3.0.12-1"), ["3.0.12-1"], "low"),
    ]


def test_undetermined_is_every_version_and_temp_ids_are_left_out(tmp_path):
    data = json.loads(MOCK.read_text())
    data["apparmor"]["CVE-2017-6507"]["releases"]["bookworm"] = {"status": "undetermined", "urgency": "medium"}
    data["apparmor"]["TEMP-0000000-4A2D3B"] = copy.deepcopy(data["apparmor"]["CVE-2016-1585"])

    run = ingest("debian-tracker", write(tmp_path, data))

    assert counts(run) == ("success", 3, 0, 0, 0)
    assert ("Debian:12", "apparmor", EVERY_VERSION, [], "medium") in affected("DEBIAN-CVE-2017-6507")
    assert not Advisory.objects.filter(advisory_id__contains="TEMP").exists()


def test_a_cve_of_several_source_packages_is_one_advisory(tmp_path):
    data = json.loads(EXCERPT.read_text())
    data["prototypejs"]["CVE-2013-1444"] = copy.deepcopy(data["txt2man"]["CVE-2013-1444"])
    data["prototypejs"]["CVE-2013-1444"]["releases"]["buster"]["fixed_version"] = "1.7.1-4"

    ingest("debian-tracker", write(tmp_path, data))

    buster = [(name, fixed) for eco, name, _, fixed, _ in affected("DEBIAN-CVE-2013-1444") if eco == "Debian:10"]
    assert buster == [("prototypejs", ["1.7.1-4"]), ("txt2man", ["1.5.5-4.1"])]
    assert Advisory.objects.filter(cves__contains=["CVE-2013-1444"]).count() == 1


def test_a_malformed_package_entry_is_named_and_its_cve_left_as_it_was(tmp_path):
    ingest("debian-tracker", str(EXCERPT))
    before = snapshot()
    data = json.loads(EXCERPT.read_text())
    # A second package for CVE-2013-1444 whose entry is broken: txt2man's ranges must not be lost.
    data["groff"] = {"CVE-2013-1444": {"releases": {"bookworm": {"status": "fixed", "urgency": "low"}}}}
    data["txt2man"]["CVE-2013-1444"]["releases"]["buster"]["fixed_version"] = "1.5.5-4.2"
    data["backupninja"]["CVE-2005-3111"]["releases"]["buster"]["fixed_version"] = "0.8 2"
    data["sope"]["CVE-2025-53603"]["releases"]["trixie"] = {"status": "resolved", "urgency": "low"}
    data["chromium-browser"] = ["CVE-2022-0358"]
    data["prototypejs"]["CVE-2008-7220"]["releases"]["buster"]["fixed_version"] = "1.6.0.2-2"

    run = ingest("debian-tracker", write(tmp_path, data))

    assert counts(run) == ("partial", 0, 1, 2, 4)
    errors = {e["record"]: e["error"] for e in run.errors}
    assert errors == {
        "groff/CVE-2013-1444": "releases.bookworm.status: 'fixed' is not one of open, resolved, undetermined; "
        "DEBIAN-CVE-2013-1444 left as it was",
        "backupninja/CVE-2005-3111": "releases.buster.fixed_version: dpkg rejects version '0.8 2': "
        "version string has embedded spaces; DEBIAN-CVE-2005-3111 left as it was",
        "sope/CVE-2025-53603": "releases.trixie.fixed_version: a resolved release needs one; "
        "DEBIAN-CVE-2025-53603 left as it was",
        "chromium-browser": "must be an object of CVE ids",
    }
    after = snapshot()
    for advisory_id in ("DEBIAN-CVE-2013-1444", "DEBIAN-CVE-2005-3111", "DEBIAN-CVE-2025-53603"):
        assert after[advisory_id] == before[advisory_id]
    assert ("Debian:10", "txt2man", fixed_in("1.5.5-4.1"), ["1.5.5-4.1"], "low") in affected("DEBIAN-CVE-2013-1444")
    # The well-formed change next to them landed.
    assert affected("DEBIAN-CVE-2008-7220")[2][3] == ["1.6.0.2-2"]


def test_a_second_ingest_writes_nothing_and_archive_uploads_change_nothing(tmp_path, ingested_signals):
    ingest("debian-tracker", str(EXCERPT))
    before = snapshot()
    ingested_signals.clear()
    data = json.loads(EXCERPT.read_text())
    # Which version each suite carries changes with every upload; it says nothing about the flaw.
    data["sope"]["CVE-2025-53603"]["releases"]["sid"]["repositories"]["sid"] = "5.12.4-1"

    with writes_to(*ADVISORY_TABLES) as writes:
        same = ingest("debian-tracker", str(EXCERPT))
        uploaded = ingest("debian-tracker", write(tmp_path, data))

    assert counts(same) == ("success", 0, 0, 7, 0)
    assert counts(uploaded) == ("success", 0, 0, 7, 0)
    assert writes == []
    assert snapshot() == before
    assert ingested_signals == []


def test_a_release_that_gets_fixed_is_updated(tmp_path, ingested_signals):
    ingest("debian-tracker", str(MOCK))
    data = json.loads(MOCK.read_text())
    data["apparmor"]["CVE-2016-1585"]["releases"]["bookworm"] = {
        "status": "resolved",
        "fixed_version": "3.0.8-3+deb12u1",
        "urgency": "unimportant",
        "repositories": {"bookworm": "3.0.8-3"},
    }

    run = ingest("debian-tracker", write(tmp_path, data))

    assert counts(run) == ("success", 0, 1, 2, 0)
    assert ingested_signals[-1]["advisory_ids"] == {"DEBIAN-CVE-2016-1585"}
    bookworm = AffectedPackage.objects.get(advisory__advisory_id="DEBIAN-CVE-2016-1585", ecosystem="Debian:12")
    assert (bookworm.ranges, bookworm.fixed_versions) == (fixed_in("3.0.8-3+deb12u1"), ["3.0.8-3+deb12u1"])


def test_a_file_that_is_not_the_tracker_fails_and_deletes_nothing(tmp_path):
    ingest("debian-tracker", str(EXCERPT))
    before = snapshot()

    run = ingest("debian-tracker", write(tmp_path, ["not", "the", "tracker"]))

    assert run.status == "failed" and "not the tracker's JSON" in run.error
    assert snapshot() == before


def test_a_sync_over_http_then_gets_304(feed_server):
    source = FeedSource.objects.create(
        name="Debian tracker", kind="debian-tracker", url=feed_server.serve_file("tracker/data/json", EXCERPT)
    )

    assert counts(sync_source(source)) == ("success", 7, 0, 0, 0)
    source.refresh_from_db()
    assert source.record_count == 7
    assert counts(sync_source(source)) == ("not_modified", 0, 0, 0, 0)
    assert feed_server.requests[-1]["headers"]["If-None-Match"] == source.etag
