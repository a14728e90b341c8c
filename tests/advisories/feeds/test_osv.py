"""The OSV adapter: files, folders, zip archives and URLs; every range type and event; bad
records reported and skipped; failed feeds that delete nothing; idempotent re-ingests."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import zipfile
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from advisories import versions
from advisories.feeds.osv import parse_record
from advisories.ingest import ingest, sync_source
from advisories.models import Advisory, AffectedPackage, FeedRun, FeedSource
from tests.fixtures.feed_server import Reply

from .conftest import ADVISORY_FIXTURES, CONSTRUCTED, writes_to

pytestmark = pytest.mark.django_db

OSV = ADVISORY_FIXTURES / "osv"
GHSA = OSV / "github_advisory_database"
GHSA_IDS = {"GHSA-34jh-p97f-mpxf", "GHSA-c2qf-rxjj-qqgw", "GHSA-grv7-fg5c-xmjg", "GHSA-j8r2-6x86-q33q"}
ADVISORY_TABLES = ("advisories_advisory", "advisories_affectedpackage")
UTC = dt.UTC


def zip_of(files: list[Path], target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, file.name)
    return target


def snapshot() -> dict:
    """Every stored advisory with what a rewrite would change: row ids, ingest time, hash."""
    affected: dict[str, list[int]] = {}
    for advisory_id, pk in AffectedPackage.objects.order_by("pk").values_list("advisory__advisory_id", "pk"):
        affected.setdefault(advisory_id, []).append(pk)
    return {
        a.advisory_id: (a.pk, a.ingested_at, a.content_hash, a.modified, tuple(affected.get(a.advisory_id, [])))
        for a in Advisory.objects.all()
    }


def events_of(advisory_id: str) -> list[tuple]:
    return [
        (a.ecosystem, a.name, a.ranges, a.fixed_versions)
        for a in AffectedPackage.objects.filter(advisory__advisory_id=advisory_id).order_by("pk")
    ]


def counts(run: FeedRun) -> tuple:
    return run.status, run.added, run.updated, run.unchanged, run.skipped


# --- locations: file, folder, zip, URL ---------------------------------------------------------


def test_a_single_file_is_stored_with_its_fields_and_ranges():
    run = ingest("osv", str(GHSA / "GHSA-c2qf-rxjj-qqgw.json"))

    assert counts(run) == ("success", 1, 0, 0, 0)
    advisory = Advisory.objects.get(advisory_id="GHSA-c2qf-rxjj-qqgw")
    assert advisory.kind == "osv"
    assert advisory.aliases == ["CVE-2022-25883"]
    assert advisory.cves == ["CVE-2022-25883"]
    assert advisory.cvss_vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"
    assert (advisory.cvss_score, advisory.severity) == (Decimal("5.3"), "medium")
    assert advisory.published == dt.datetime(2023, 6, 21, 6, 30, 28, tzinfo=UTC)
    assert advisory.modified == dt.datetime(2023, 7, 10, 22, 57, 56, tzinfo=UTC)
    assert advisory.raw["id"] == "GHSA-c2qf-rxjj-qqgw"
    assert events_of("GHSA-c2qf-rxjj-qqgw") == [
        ("npm", "semver", [{"type": "ECOSYSTEM", "events": [{"introduced": "7.0.0"}, {"fixed": "7.5.2"}]}], ["7.5.2"]),
        ("npm", "semver", [{"type": "ECOSYSTEM", "events": [{"introduced": "6.0.0"}, {"fixed": "6.3.1"}]}], ["6.3.1"]),
        ("npm", "semver", [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.7.2"}]}], ["5.7.2"]),
    ]


def test_a_folder_stores_every_record_once():
    run = ingest("osv", str(OSV))

    # 203 files; three PyPI records are also filed under GIT/, byte for byte the same.
    assert counts(run) == ("success", 200, 0, 3, 0)
    assert Advisory.objects.count() == 200
    assert set(Advisory.objects.values_list("kind", flat=True)) == {"osv"}


def test_a_zip_archive_is_read_member_by_member(tmp_path):
    readme = tmp_path / "README.txt"
    readme.write_text("not a record")
    archive = zip_of([*sorted(GHSA.glob("*.json")), readme], tmp_path / "PyPI.zip")

    run = ingest("osv", str(archive))

    assert counts(run) == ("success", 4, 0, 0, 0)
    assert set(Advisory.objects.values_list("advisory_id", flat=True)) == GHSA_IDS


def test_a_url_is_fetched_once_then_answers_not_modified(feed_server, tmp_path):
    url = feed_server.serve_file("osv/all.zip", zip_of(sorted(GHSA.glob("*.json")), tmp_path / "all.zip"))
    source = FeedSource.objects.create(name="osv all", kind="osv", url=url)

    first = sync_source(source)

    assert counts(first) == ("success", 4, 0, 0, 0)
    source.refresh_from_db()
    assert source.etag.startswith('"') and source.last_modified.endswith(" GMT")
    assert source.record_count == 4 and source.last_success_at is not None
    assert set(Advisory.objects.filter(source=source).values_list("advisory_id", flat=True)) == GHSA_IDS
    assert "If-None-Match" not in feed_server.requests[0]["headers"]
    before = snapshot()

    with writes_to(*ADVISORY_TABLES) as writes:
        second = sync_source(source)

    assert counts(second) == ("not_modified", 0, 0, 0, 0)
    conditional = feed_server.requests[-1]["headers"]
    assert conditional["If-None-Match"] == source.etag
    assert conditional["If-Modified-Since"] == source.last_modified
    assert writes == []
    assert snapshot() == before
    source.refresh_from_db()
    assert source.record_count == 4 and source.last_error == ""


# --- range types and events ---------------------------------------------------------------------


def test_ecosystem_ranges_keep_introduced_fixed_and_last_affected():
    ingest("osv", str(OSV / "osv_scanner_offline_db_sample/Maven/GHSA-3pxv-7cmr-fjr4.json"))

    first, second = AffectedPackage.objects.filter(advisory__advisory_id="GHSA-3pxv-7cmr-fjr4").order_by("pk")
    assert (first.ecosystem, first.name) == ("Maven", "org.apache.logging.log4j:log4j-core")
    assert first.purl == "pkg:maven/org.apache.logging.log4j/log4j-core"
    assert first.ranges == [{"type": "ECOSYSTEM", "events": [{"introduced": "2.0-alpha1"}, {"fixed": "2.25.4"}]}]
    assert first.fixed_versions == ["2.25.4"]
    assert second.ranges == [
        {"type": "ECOSYSTEM", "events": [{"introduced": "3.0.0-alpha1"}, {"last_affected": "3.0.0-beta3"}]}
    ]
    # last_affected is inclusive and names no fix.
    assert second.fixed_versions == []
    assert second.versions == ["3.0.0-alpha1", "3.0.0-beta1", "3.0.0-beta2", "3.0.0-beta3"]
    advisory = Advisory.objects.get(advisory_id="GHSA-3pxv-7cmr-fjr4")
    assert advisory.cvss_vector.startswith("CVSS:4.0/") and advisory.cvss_score == Decimal("6.9")


def test_semver_ranges_are_stored():
    ingest("osv", str(OSV / "osv_scanner_offline_db_sample/Go/GO-2022-0274.json"))

    assert events_of("GO-2022-0274") == [
        (
            "Go",
            "github.com/opencontainers/runc",
            [{"type": "SEMVER", "events": [{"introduced": "1.0.1-0.20211012131345-9c444070ec7b"}, {"fixed": "1.1.0"}]}],
            ["1.1.0"],
        )
    ]
    assert Advisory.objects.get(advisory_id="GO-2022-0274").cves == ["CVE-2021-43784"]


def test_explicit_versions_are_stored():
    ingest("osv", str(OSV / "ubuntu/vunnel-UBUNTU-CVE-2026-1403.json"))

    entry = AffectedPackage.objects.get(advisory__advisory_id="UBUNTU-CVE-2026-1403")
    assert (entry.ecosystem, entry.name) == ("Ubuntu:16.04:LTS", "gitlab")
    assert entry.ranges == [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]
    assert entry.versions == ["8.4.3+dfsg-9", "8.4.3+dfsg-12", "8.5.8+dfsg-5"]
    advisory = Advisory.objects.get(advisory_id="UBUNTU-CVE-2026-1403")
    # Ubuntu's priority ("severity": [{"type": "Ubuntu", "score": "medium"}]) and `upstream`.
    assert (advisory.severity, advisory.cves) == ("medium", ["CVE-2026-1403"])


def test_limit_events_are_kept_in_every_range_type():
    run = ingest("osv", str(CONSTRUCTED / "osv" / "osv_limit_events.json"))

    assert counts(run) == ("success", 1, 0, 0, 0)
    pypi, npm, debian = AffectedPackage.objects.filter(advisory__advisory_id="TEST-OSV-LIMIT-0001").order_by("pk")
    assert pypi.ranges[0]["events"] == [
        {"introduced": "1.0"},
        {"fixed": "1.4.2"},
        {"introduced": "2.0"},
        {"limit": "2.5"},
    ]
    assert pypi.fixed_versions == ["1.4.2"]
    assert npm.ranges == [
        {"type": "SEMVER", "events": [{"introduced": "0"}, {"last_affected": "3.1.0"}, {"limit": "*"}]}
    ]
    assert (npm.fixed_versions, npm.versions) == ([], ["3.0.0", "3.1.0"])
    assert [r["type"] for r in debian.ranges] == ["GIT", "ECOSYSTEM"]
    assert debian.ranges[0]["repo"] == "https://git.example.org/example-limited.git"
    assert debian.ranges[0]["events"][-1] == {"limit": "2f1c7a3e9b0d4c5a6f7e8d9c0b1a2f3e4d5c6b7a"}
    assert debian.fixed_versions == ["1.2-1+deb12u1"]  # the fix of the ECOSYSTEM range, never a commit
    advisory = Advisory.objects.get(advisory_id="TEST-OSV-LIMIT-0001")
    assert advisory.has_git_ranges and advisory.cves == []


def test_git_ranges_are_stored_but_give_nothing_to_match_versions_against():
    for name in ("CVE-2024-51757", "OSV-2018-389", "PYSEC-2020-148"):
        ingest("osv", str(OSV / "osv_scanner_offline_db_sample/GIT" / f"{name}.json"))

    assert set(Advisory.objects.filter(has_git_ranges=True).values_list("advisory_id", flat=True)) == {
        "CVE-2024-51757",
        "OSV-2018-389",
        "PYSEC-2020-148",
    }
    # A repository-only entry (no package) is kept under its repository, in no ecosystem.
    (repo_only,) = AffectedPackage.objects.filter(advisory__advisory_id="CVE-2024-51757")
    assert (repo_only.ecosystem, repo_only.name) == ("GIT", "https://github.com/capricorn86/happy-dom")
    assert repo_only.ranges[0]["events"][1] == {"fixed": "5ee0b1676d4ce20cc2a70d1c9c8d6f1e3f57efac"}
    # Commits are not versions: entries with only GIT ranges have no fix and no version scheme.
    git_only = [a for a in AffectedPackage.objects.all() if all(r["type"] == "GIT" for r in a.ranges)]
    assert {a.advisory.advisory_id for a in git_only} == {"CVE-2024-51757", "OSV-2018-389"}
    for entry in git_only:
        assert entry.fixed_versions == []
        with pytest.raises(ValueError, match="unknown ecosystem"):
            versions.family(entry.ecosystem)
    # Next to an ECOSYSTEM range, the GIT range's fixing commit is not taken for a version.
    (mixed,) = AffectedPackage.objects.filter(advisory__advisory_id="PYSEC-2020-148")
    assert [r["type"] for r in mixed.ranges] == ["GIT", "ECOSYSTEM"]
    assert mixed.fixed_versions == ["1.25.9"]


def test_a_withdrawn_record_is_stored_as_withdrawn():
    ingest("osv", str(OSV / "ubuntu/vunnel-UBUNTU-CVE-2014-2901.json"))

    advisory = Advisory.objects.get(advisory_id="UBUNTU-CVE-2014-2901")
    assert advisory.withdrawn == dt.datetime(2025, 8, 1, 19, 34, 27, tzinfo=UTC)
    assert advisory.cves == ["CVE-2014-2901"]
    assert Advisory.objects.filter(withdrawn__isnull=True).count() == 0


def test_the_debian12_dsa_folder_ingests_without_skips():
    run = ingest("osv", str(OSV / "debian12_from_dsa"))

    assert counts(run) == ("success", 154, 0, 0, 0)
    assert Advisory.objects.get(advisory_id="DSA-5514-1").cves == ["CVE-2023-4911"]
    assert events_of("DSA-5514-1") == [
        ("Debian:11", "glibc", [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.31-13+deb11u7"}]}],
         ["2.31-13+deb11u7"]),
        ("Debian:12", "glibc", [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u3"}]}],
         ["2.36-9+deb12u3"]),
    ]  # fmt: skip


# --- bad records -----------------------------------------------------------------------------------


def _broken_records(folder: Path) -> Path:
    """The four GHSA records plus three broken ones, each broken in a different way."""
    folder.mkdir(exist_ok=True)
    for file in GHSA.glob("*.json"):
        shutil.copy(file, folder / file.name)
    unknown_event = json.loads((GHSA / "GHSA-c2qf-rxjj-qqgw.json").read_text())
    unknown_event["id"] = "TEST-BROKEN-EVENT"
    unknown_event["affected"][0]["ranges"][0]["events"][1] = {"patched": "7.5.2"}
    (folder / "unknown-event.json").write_text(json.dumps(unknown_event))
    bad_version = json.loads((OSV / "debian12_from_dsa/DSA-5514-1.json").read_text())
    bad_version["id"] = "TEST-BROKEN-DPKG"
    bad_version["affected"][1]["ranges"][0]["events"][1] = {"fixed": "2.36-9 deb12u3"}
    (folder / "bad-dpkg-version.json").write_text(json.dumps(bad_version))
    (folder / "not-json.json").write_text('{"id": "TEST-BROKEN-JSON", "modified": ')
    return folder


def _assert_broken_ones_reported(run: FeedRun, not_json_name: str) -> None:
    assert counts(run) == ("partial", 4, 0, 0, 3)
    errors = {e["record"]: e["error"] for e in run.errors}
    assert errors.keys() == {"TEST-BROKEN-EVENT", "TEST-BROKEN-DPKG", not_json_name}
    assert errors["TEST-BROKEN-EVENT"].startswith("affected[0].ranges[0].events[1]: must be one of")
    assert errors["TEST-BROKEN-DPKG"].startswith("affected[1].ranges[0].events[1].fixed: dpkg rejects version")
    assert errors[not_json_name].startswith("not JSON")
    assert set(Advisory.objects.values_list("advisory_id", flat=True)) == GHSA_IDS


def test_broken_records_in_a_folder_are_reported_and_skipped(tmp_path):
    folder = _broken_records(tmp_path / "feed")

    run = ingest("osv", str(folder))

    _assert_broken_ones_reported(run, str(folder / "not-json.json"))


def test_broken_records_in_a_zip_are_reported_and_skipped(tmp_path):
    folder = _broken_records(tmp_path / "feed")
    archive = zip_of(sorted(folder.iterdir()), tmp_path / "feed.zip")

    run = ingest("osv", str(archive))

    _assert_broken_ones_reported(run, f"{archive}!not-json.json")


MALFORMED = {
    "an impossible date": {"published": "2023-02-30T00:00:00Z"},
    "database_specific that is not an object": {"database_specific": ["severity", "HIGH"]},
    "aliases that are a string": {"aliases": "CVE-2022-25883"},
    "severity that is not a list": {"severity": "HIGH"},
}


@pytest.mark.parametrize("change", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_record_is_reported_rather_than_crashing_the_run(tmp_path, change):
    record = json.loads((GHSA / "GHSA-c2qf-rxjj-qqgw.json").read_text()) | change | {"id": "TEST-MALFORMED"}
    (tmp_path / "malformed.json").write_text(json.dumps(record))
    shutil.copy(GHSA / "GHSA-grv7-fg5c-xmjg.json", tmp_path)

    run = ingest("osv", str(tmp_path))

    assert counts(run) == ("partial", 1, 0, 0, 1)
    assert [e["record"] for e in run.errors] == ["TEST-MALFORMED"]
    assert list(Advisory.objects.values_list("advisory_id", flat=True)) == ["GHSA-grv7-fg5c-xmjg"]


@pytest.mark.parametrize(
    "affected_change",
    [
        {"ecosystem_specific": "high"},
        {"package": {"ecosystem": ["npm"], "name": "semver"}},
        {"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": 7}]}]},
        {"ranges": [{"type": "GIT", "repo": "https://github.com/npm/node-semver", "events": [{"introduced": None}]}]},
    ],
    ids=["ecosystem_specific string", "ecosystem not a string", "version not a string", "empty commit"],
)
def test_a_malformed_affected_entry_is_reported_with_where_it_is(affected_change):
    record = json.loads((GHSA / "GHSA-c2qf-rxjj-qqgw.json").read_text())
    record["affected"][2] |= affected_change

    with pytest.raises(ValueError, match=r"^affected\[2\]"):
        parse_record(record)


def test_debian_urgency_words_with_stars_still_give_a_severity():
    record = json.loads((OSV / "debian12_from_dsa/DSA-5514-1.json").read_text())
    record["affected"][1]["ecosystem_specific"] = {"urgency": "high**"}

    parsed = parse_record(record)

    assert [a["severity"] for a in parsed.affected] == ["", "high"]
    assert parsed.fields["severity"] == "high"


# --- failed feeds ---------------------------------------------------------------------------------


def test_a_url_that_answers_500_fails_and_deletes_nothing(feed_server):
    ingest("osv", str(GHSA))
    before = snapshot()
    source = FeedSource.objects.create(
        name="osv broken", kind="osv", url=feed_server.serve("osv/all.zip", Reply(500, b"upstream is down"))
    )

    run = sync_source(source)

    assert counts(run) == ("failed", 0, 0, 0, 0)
    assert "HTTP 500" in run.error
    assert snapshot() == before
    source.refresh_from_db()
    assert source.last_failure_at is not None and "HTTP 500" in source.last_error
    assert (source.etag, source.last_modified) == ("", "")  # nothing to send back next time


def test_a_truncated_zip_fails_and_keeps_what_the_last_sync_stored(feed_server, tmp_path):
    archive = zip_of(sorted(GHSA.glob("*.json")), tmp_path / "all.zip")
    source = FeedSource.objects.create(name="osv zip", kind="osv", url=feed_server.serve_file("all.zip", archive))
    assert sync_source(source).status == "success"
    before = snapshot()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    feed_server.serve_file("all.zip", truncated)

    run = sync_source(source)

    assert run.status == "failed"
    assert "not a readable zip archive" in run.error
    assert snapshot() == before
    assert Advisory.objects.filter(source=source).count() == 4


def test_a_run_that_fails_half_way_keeps_the_documents_it_committed(tmp_path):
    shutil.copy(GHSA / "GHSA-34jh-p97f-mpxf.json", tmp_path / "a.json")
    (tmp_path / "b.json").write_bytes(gzip.compress(b'{"id": "x"}')[:12])  # gzip cut short
    shutil.copy(GHSA / "GHSA-c2qf-rxjj-qqgw.json", tmp_path / "c.json")

    run = ingest("osv", str(tmp_path))

    assert (run.status, run.added) == ("failed", 1)
    assert "broken gzip data" in run.error
    assert list(Advisory.objects.values_list("advisory_id", flat=True)) == ["GHSA-34jh-p97f-mpxf"]


# --- idempotence and updates ------------------------------------------------------------------------


def test_a_second_ingest_of_unchanged_data_writes_nothing(ingested_signals):
    ingest("osv", str(OSV))
    before = snapshot()
    ingested_signals.clear()

    with writes_to(*ADVISORY_TABLES) as writes:
        second = ingest("osv", str(OSV))

    assert counts(second) == ("success", 0, 0, 203, 0)
    assert writes == []
    assert snapshot() == before
    assert ingested_signals == []  # nothing changed, nothing to re-match


def test_a_changed_record_is_updated_and_signalled(tmp_path, ingested_signals):
    folder = tmp_path / "feed"
    shutil.copytree(GHSA, folder)
    ingest("osv", str(folder))
    before = snapshot()
    record = json.loads((folder / "GHSA-c2qf-rxjj-qqgw.json").read_text())
    record["modified"] = "2024-01-02T03:04:05Z"
    record["affected"][0]["ranges"][0]["events"][1] = {"fixed": "7.5.3"}
    (folder / "GHSA-c2qf-rxjj-qqgw.json").write_text(json.dumps(record))

    run = ingest("osv", str(folder))

    assert counts(run) == ("success", 0, 1, 3, 0)
    assert ingested_signals[-1]["advisory_ids"] == {"GHSA-c2qf-rxjj-qqgw"}
    after = snapshot()
    assert {k: v for k, v in after.items() if k != "GHSA-c2qf-rxjj-qqgw"} == {
        k: v for k, v in before.items() if k != "GHSA-c2qf-rxjj-qqgw"
    }
    advisory = Advisory.objects.get(advisory_id="GHSA-c2qf-rxjj-qqgw")
    assert advisory.pk == before["GHSA-c2qf-rxjj-qqgw"][0]
    assert advisory.modified == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert events_of("GHSA-c2qf-rxjj-qqgw")[0][3] == ["7.5.3"]
    assert AffectedPackage.objects.filter(advisory=advisory).count() == 3


def test_a_record_changed_by_another_run_while_read_is_reported_not_blanked():
    from advisories.feeds.base import Document
    from advisories.feeds.osv import OsvFeed
    from advisories.store import store_advisories

    path = GHSA / "GHSA-c2qf-rxjj-qqgw.json"
    ingest("osv", str(path))
    feed, document = OsvFeed(), Document(path.name, path.read_bytes())
    feed.prescreen([document])
    (unchanged,) = feed.records(document)
    assert unchanged.fields is None  # recognised by its hash, not parsed again

    Advisory.objects.filter(advisory_id="GHSA-c2qf-rxjj-qqgw").update(content_hash="another run's")
    with pytest.raises(ValueError, match="changed by another run"):
        store_advisories("osv", [unchanged], None)
    assert Advisory.objects.get(advisory_id="GHSA-c2qf-rxjj-qqgw").summary  # nothing blanked


# --- the management command -------------------------------------------------------------------------


def test_the_command_ingests_a_path_and_prints_the_counts():
    out = StringIO()

    call_command("ingest_advisories", "osv", str(GHSA), stdout=out)

    assert out.getvalue().strip() == "Succeeded: 4 added, 0 updated, 0 unchanged, 0 skipped"
    assert set(Advisory.objects.values_list("advisory_id", flat=True)) == GHSA_IDS
    out = StringIO()
    call_command("ingest_advisories", "osv", str(GHSA), stdout=out)
    assert out.getvalue().strip() == "Succeeded: 0 added, 0 updated, 4 unchanged, 0 skipped"


def test_the_command_names_the_records_it_skipped(tmp_path):
    out, err = StringIO(), StringIO()

    call_command("ingest_advisories", "osv", str(_broken_records(tmp_path / "feed")), stdout=out, stderr=err)

    assert out.getvalue().strip() == "Succeeded, some records skipped: 4 added, 0 updated, 0 unchanged, 3 skipped"
    assert "skipped TEST-BROKEN-EVENT: affected[0].ranges[0].events[1]" in err.getvalue()


def test_the_command_fails_on_a_missing_path(tmp_path):
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("ingest_advisories", "osv", str(tmp_path / "nowhere"), stdout=StringIO())
