"""RPM version ordering: upstream conformance vectors, edge cases, and agreement with rpm itself."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from advisories import versions
from advisories.versioning import rpm

from .conftest import read_vectors
from .native_tools import ERROR

RPMVERCMP_VECTORS = read_vectors("rpm_vercmp.csv")
# Commented out upstream as "arguably buggy" behaviour, but rpm 4.18 does compare them this way.
ODDITY_VECTORS = read_vectors("rpm_vercmp_oddities.csv")
OSV_SCALIBR_VECTORS = read_vectors("rpm_vercmp_osv_scalibr.csv")
ALL_VECTORS = RPMVERCMP_VECTORS + ODDITY_VECTORS + OSV_SCALIBR_VECTORS


def outcome(a: str, b: str) -> int | str:
    try:
        return rpm.compare(a, b)
    except ValueError:
        return ERROR


# --- Upstream conformance vectors -------------------------------------------------------------


@pytest.mark.parametrize("row", ALL_VECTORS, ids=lambda row: f"{row['a']} vs {row['b']}")
def test_rpm_and_osv_scalibr_vectors(row):
    expected = int(row["expected"])
    assert versions.compare("Red Hat", row["a"], row["b"]) == expected
    assert versions.compare("Red Hat", row["b"], row["a"]) == -expected


def test_conformance_expectations_agree_with_rpm(native_rpm):
    natives = native_rpm.compare_many([(row["a"], row["b"]) for row in ALL_VECTORS])
    disagreeing = [
        (row, native) for row, native in zip(ALL_VECTORS, natives, strict=True) if native != int(row["expected"])
    ]
    assert not disagreeing


# --- Hand-written edge cases ------------------------------------------------------------------

ORDERED = [
    ("1.0~rc1", "1.0"),  # ~ sorts before the end of the string
    ("1.0~rc1", "1.0~rc2"),
    ("1.0~~", "1.0~"),
    ("1.0", "1.0^"),  # ^ sorts after the end of the string...
    ("1.0^git1", "1.0.1"),  # ...but before any further segment
    ("1.0^git1", "1.0^git2"),
    ("1.0a", "1.0.1"),  # letters before digits
    ("1.9", "1.10"),
    ("1.0", "1.0.0"),  # the side that runs out first is lower
    ("2.0", "1:1.0"),  # epochs first
    ("1:1.0", "2:0.1"),
    ("1.0", "1.0-"),  # no release < empty release < any release
    ("1.0-", "1.0-0"),
    ("1.0-1", "1.0-2"),
    ("3.10.0-229.el7", "3.10.0-229.1.2.el7"),
    ("1:2.3-4.el9", "1:2.3-4.el9_1"),
    ("1:2.3-4.el9", "1:2.3-5.el8"),
    ("4.18.0-513.5.1.el8_9", "4.18.0-513.9.1.el8_9"),
    ("99999999999999999999998", "99999999999999999999999"),  # no overflow
    ("a:1", "b:1"),  # a non-numeric "epoch" is part of the version
    ("1b", "1fc"),  # letter runs compare by ASCII (a documented rpm oddity)
]
EQUAL = [
    ("1.0", "1_0"),  # every other separator is just a separator
    ("1.0", "1..0"),
    ("1.001", "1.1"),  # leading zeros do not count
    ("0:1.0-1", "1.0-1"),  # a missing epoch is 0
    (":1.0", "0:1.0"),  # an empty epoch is 0
    ("00:1.0", "1.0"),
    ("1.1.\u03b1", "1.1.\u03b2"),  # non-ASCII bytes (here Greek alpha and beta) are separators
    ("1.0-1.", "1.0-1"),
    ("1.0\x00junk", "1.0"),  # rpm reads a C string
]


@pytest.mark.parametrize(("lower", "higher"), ORDERED)
def test_ordering(lower, higher):
    assert versions.compare("Red Hat:9", lower, higher) < 0
    assert versions.compare("AlmaLinux:9", higher, lower) > 0


@pytest.mark.parametrize(("a", "b"), EQUAL)
def test_equal(a, b):
    assert versions.compare("Rocky Linux:9", a, b) == 0


def test_hand_written_cases_agree_with_rpm(native_rpm):
    expected = [-1] * len(ORDERED) + [0] * len(EQUAL)
    assert native_rpm.compare_many(ORDERED + EQUAL) == expected


@pytest.mark.parametrize(
    ("evr", "parts"),
    [
        ("1:2.3-4.el9", (b"1", b"2.3", b"4.el9")),
        ("2.3-4", (None, b"2.3", b"4")),
        ("2.3", (None, b"2.3", None)),
        ("2.3-", (None, b"2.3", b"")),
        (":2.3", (b"0", b"2.3", None)),
        ("1:2:3-4-5", (b"1", b"2:3-4", b"5")),  # the epoch is before the first colon, the release after the last hyphen
        ("a:1-2", (None, b"a:1", b"2")),
        ("1.m+e2:1", (None, b"1.m+e2:1", None)),
        ("-1", (None, b"", b"1")),
    ],
)
def test_evr_split_matches_rpmverparse(evr, parts):
    assert rpm.parse(evr) == parts


@pytest.mark.parametrize(("evr", "reason"), [("", "empty"), ("\x00abc", "empty"), ("1.0\udcff", "UTF-8")])
def test_versions_rpm_rejects(evr, reason):
    with pytest.raises(ValueError, match=reason):
        versions.validate("SUSE:Linux Enterprise Server 15 SP5", evr)


def test_rejections_agree_with_rpm(native_rpm):
    assert native_rpm.compare_many([("", "1"), ("\x00abc", "1"), ("1.0\udcff", "1")]) == [ERROR] * 3


def test_all_rpm_ecosystems_share_the_scheme():
    for ecosystem in ("Red Hat", "AlmaLinux", "Rocky Linux", "SUSE", "openSUSE", "openSUSE:Leap 15.5"):
        assert versions.family(ecosystem) == "rpm"
        assert versions.compare(ecosystem, "1.0~rc1", "1.0") < 0


# --- Agreement with rpm on generated versions ---------------------------------------------------

_digits = st.one_of(
    st.integers(0, 99).map(str), st.integers(0, 10**30).map(str), st.integers(0, 999).map("00{}".format)
)
_letters = st.text("abzAZ", min_size=1, max_size=3)
_separators = st.sampled_from([".", ".", "_", "+", "~", "^", "-", ":", "~~", "^~", "é", "\u03b1"])
_piece = st.one_of(_digits, _digits, _letters, _separators)
_segments = st.builds("".join, st.lists(_piece, max_size=7))
_epoch = st.one_of(
    *[st.just("")] * 3,
    st.integers(0, 2**40).map("{}:".format),
    st.sampled_from([":", "00:", "a:", "-1:", "1a:"]),
)
_release = st.one_of(st.just(""), _segments.map("-{}".format))
_rare = st.sampled_from(["", "\x00", "\x00x", "\udcff", " "])  # NUL truncates; a lone surrogate is not UTF-8
rpm_versions = st.builds(
    lambda epoch, version, release, rare: epoch + version + release + rare,
    _epoch,
    _segments,
    _release,
    st.one_of(*[st.just("")] * 8, _rare),
)
# Shared starts with short endings put differences exactly where rpmvercmp decides.
_start = st.sampled_from(["", "0", "1", "1.0", "1:1.0", "1.0-1", "a", "1.0~rc1"])
_ending = st.sampled_from(["", "~", "^", "~~", "^~", "0", "00", "a", "A", "é", ".", "-", "-0", ":", "9", "_0"])
_close_versions = st.builds(lambda start, ending: start + ending, _start, _ending)
rpm_version_sets = st.lists(st.one_of(rpm_versions, _close_versions), min_size=5, max_size=25)


# Every ordered pair of each generated set: about 30,000 comparisons per run, sent to rpm in one
# batch per set. The failure message names the pair, so shrinking is skipped.
@settings(
    max_examples=300,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(version_set=rpm_version_sets)
def test_compare_and_rejection_agree_with_rpm(native_rpm, version_set):
    pairs = [(a, b) for a in version_set for b in version_set]
    for (a, b), native in zip(pairs, native_rpm.compare_many(pairs), strict=True):
        assert outcome(a, b) == native, f"{a!r} vs {b!r}"
