"""The advisory feed parsers and the version schemes, fed structured-but-wrong input.

Each feed turns a document into records, and a record it cannot read into a RecordError naming
it (advisories.feeds.base); a document that is not the feed's format at all is a FetchError.
Real fixture documents, mutated (a value of the wrong type, a key missing, an element removed,
bytes cut off), must give exactly that: records, RecordErrors, or a FetchError, never another
exception. The per-record parsers (osv.parse_record, kev.parse_entry, nvd.parse_cve, …) are
reached through the feeds, which let only their documented errors through.

The ordering properties of the version schemes (antisymmetry, transitivity, sort keys) and their
agreement with dpkg and rpm are tested in tests/advisories/test_versions_*.py; here only that
any text at all is compared or rejected with ValueError.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from advisories import versions
from advisories.feeds.base import Document, RecordError
from advisories.feeds.csaf.advisory import AdvisoryRecord
from advisories.feeds.csaf.feed import CsafFeed
from advisories.feeds.csaf.vex import VexRecord
from advisories.feeds.debian_tracker import DebianTrackerFeed, TrackerRecord
from advisories.feeds.epss import EpssFeed, EpssRow
from advisories.feeds.kev import KevFeed, KevRecord
from advisories.feeds.locations import FetchError
from advisories.feeds.msrc import KbRecord, MsrcFeed
from advisories.feeds.nvd import CveRecord, NvdFeed
from advisories.feeds.osv import OsvFeed, OsvRecord
from tests.fuzz.mutations import BOUNDED, json_scalars, payload_bytes, xml_documents

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "advisories"


def _json(relative: str):
    return json.loads((FIXTURES / relative).read_text())


def _trimmed(document: dict, key: str, keep: int = 3) -> dict:
    """A big fixture cut to its first few entries: the same shapes, quicker to mutate."""
    return {**document, key: document[key][:keep]}


OSV = [
    _json("osv/debian/DSA-3029-1.json"),
    _json("osv/ubuntu/vunnel-UBUNTU-CVE-2014-9913.json"),
    _json("osv/github_advisory_database/GHSA-grv7-fg5c-xmjg.json"),
    _json("constructed/osv/osv_limit_events.json"),
    *(
        _json(str(p.relative_to(FIXTURES)))
        for p in sorted((FIXTURES / "osv/osv_scanner_offline_db_sample").glob("*/*.json"))[::4]
    ),
]
KEV = [_trimmed(_json("kev/known_exploited_vulnerabilities.json"), "vulnerabilities")]
NVD = [_json("constructed/nvd/nvd_cve_api2_constructed_page.json"), _json("nvd/nvd_cve_api2_single_entry.json")]
CSAF = [
    _json("constructed/csaf/example-purl-advisory.json"),
    _json("csaf/examples/rhsa-2019_1862.json"),
    _json("csaf/examples/bsi-2022-0001.json"),
    _json("csaf/examples/csaf_vex/2022-evd-uc-01-f-001.json"),
    _trimmed(_json("vex/ubuntu_openvex_CVE-2023-38545.json"), "statements"),
]
DEBIAN_TRACKER = [_json("debian_tracker/osvdev_debian_security_tracker_MOCK.json")]
CVRF = [
    (FIXTURES / "constructed/msrc/cvrfDocument-2026-Mar-constructed.xml").read_bytes(),
    (FIXTURES / "constructed/msrc/suse-cvrf-1.2-constructed.xml").read_bytes(),
]
EPSS = (FIXTURES / "epss/epss_scores_sample.csv").read_text()


def _read(feed, payload: bytes, record_types: tuple) -> list:
    """What the ingest runner gets from the feed for one document: records and RecordErrors."""
    try:
        results = list(feed.records(Document("fuzzed", payload)))
    except FetchError:
        return []  # the whole document is not of this feed's format: reported as such
    for result in results:
        if isinstance(result, RecordError):
            assert isinstance(result.record, str) and isinstance(result.error, str) and result.error
        else:
            assert isinstance(result, record_types), result
    return results


FEEDS = [
    ("osv", OsvFeed, OSV, (OsvRecord,)),
    ("kev", KevFeed, KEV, (KevRecord,)),
    ("nvd", NvdFeed, NVD, (CveRecord,)),
    ("csaf", CsafFeed, CSAF, (AdvisoryRecord, VexRecord)),
    ("debian-tracker", DebianTrackerFeed, DEBIAN_TRACKER, (TrackerRecord,)),
]


def test_the_unmutated_fixtures_parse_cleanly():
    """The fuzzing starts from documents each feed reads records from."""

    def records(results):
        return [r for r in results if not isinstance(r, RecordError)]

    for _, feed_class, documents, record_types in FEEDS:
        for document in documents:
            assert records(_read(feed_class(), json.dumps(document).encode(), record_types)), document
    assert records(_read(MsrcFeed(), CVRF[0], (KbRecord,)))  # SUSE's CVRF 1.2 is not Microsoft's: refused
    assert records(_read(EpssFeed(), EPSS.encode(), (EpssRow,)))


@BOUNDED
@given(payload=payload_bytes(OSV))
def test_osv_records_or_record_errors(payload):
    _read(OsvFeed(), payload, (OsvRecord,))


@BOUNDED
@given(payload=payload_bytes(KEV))
def test_kev_records_or_record_errors(payload):
    _read(KevFeed(), payload, (KevRecord,))


@BOUNDED
@given(payload=payload_bytes(NVD))
def test_nvd_records_or_record_errors(payload):
    _read(NvdFeed(), payload, (CveRecord,))


@BOUNDED
@given(payload=payload_bytes(CSAF))
def test_csaf_and_openvex_records_or_record_errors(payload):
    _read(CsafFeed(), payload, (AdvisoryRecord, VexRecord))


@BOUNDED
@given(payload=payload_bytes(DEBIAN_TRACKER))
def test_debian_tracker_records_or_record_errors(payload):
    _read(DebianTrackerFeed(), payload, (TrackerRecord,))


@BOUNDED
@given(payload=xml_documents(CVRF))
def test_msrc_cvrf_records_or_record_errors(payload):
    _read(MsrcFeed(), payload, (KbRecord,))


_cell = st.one_of(
    st.sampled_from(["", "CVE-2024-0001", "0.5", "1", "1.5", "-0", "nan", "inf", "1e-400", "0x1p-2", " 0.1 "]),
    st.text(max_size=12),
    json_scalars.map(str),
)


@st.composite
def _epss_files(draw) -> bytes:
    lines = EPSS.splitlines()
    rows = [next(csv.reader([line])) for line in lines[1:]]
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        row = draw(st.sampled_from(rows))
        action = draw(st.sampled_from(["cell", "cell", "drop", "add", "clear"]))
        if action == "cell" and row:
            row[draw(st.integers(min_value=0, max_value=len(row) - 1))] = draw(_cell)
        elif action == "drop" and row:
            row.pop()
        elif action == "add":
            row.append(draw(_cell))
        else:
            row.clear()
    comment = draw(st.sampled_from([lines[0], "", "#model_version:v1,score_date:not-a-date", "cve,epss,percentile"]))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return (comment + "\n" + out.getvalue()).encode()


@BOUNDED
@given(payload=_epss_files())
def test_epss_rows_or_record_errors(payload):
    _read(EpssFeed(), payload, (EpssRow,))


# --- Version schemes ----------------------------------------------------------------------------

ECOSYSTEMS = ["Debian:12", "Red Hat:9", "Alpine:v3.20", "npm", "Go", "PyPI", "Maven", "Packagist", "RubyGems", "NuGet"]


def _valid(ecosystem: str, version: str) -> bool:
    try:
        versions.validate(ecosystem, version)
    except ValueError:
        return False  # the documented refusal, saying why
    return True


@settings(BOUNDED, max_examples=300)
@given(ecosystem=st.sampled_from(ECOSYSTEMS), a=st.text(max_size=20), b=st.text(max_size=20))
def test_any_text_is_compared_or_refused_with_value_error(ecosystem, a, b):
    try:
        result = versions.compare(ecosystem, a, b)
    except ValueError:
        assert not (_valid(ecosystem, a) and _valid(ecosystem, b)), "two valid versions were not compared"
        return
    assert isinstance(result, int)
    key = versions.sort_key(ecosystem)
    assert (key(a) > key(b)) - (key(a) < key(b)) == (result > 0) - (result < 0)
