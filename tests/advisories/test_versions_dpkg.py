"""Debian version ordering: upstream conformance vectors, edge cases, and agreement with dpkg itself."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from advisories import versions
from advisories.versioning import dpkg

from .conftest import read_vectors
from .native_tools import ERROR

COMPARE_VECTORS = read_vectors("dpkg_vercmp.csv")
OSV_SCALIBR_VECTORS = read_vectors("dpkg_vercmp_osv_scalibr.csv")
PARSE_VECTORS = read_vectors("dpkg_version_parse.csv")

# Dpkg_Version.t (the Perl Dpkg::Version, which is stricter) calls these invalid, but
# dpkg --compare-versions on this machine only warns about them and compares them: dpkg wins.
ONLY_WARNED_BY_DPKG = {"5.2@3-2", "foo5.2", "0:foo5.2"}


def outcome(a: str, b: str) -> int | str:
    try:
        return dpkg.compare(a, b)
    except ValueError:
        return ERROR


# --- Upstream conformance vectors -------------------------------------------------------------


@pytest.mark.parametrize("row", COMPARE_VECTORS, ids=lambda row: f"{row['a']} vs {row['b']}")
def test_dpkg_and_apt_test_suite_vectors(row):
    expected = int(row["expected"])
    assert versions.compare("Debian", row["a"], row["b"]) == expected
    assert versions.compare("Debian", row["b"], row["a"]) == -expected


def test_osv_scalibr_debian_vectors():
    wrong = [
        (row["a"], row["b"], row["expected"], got)
        for row in OSV_SCALIBR_VECTORS
        if (got := dpkg.compare(row["a"], row["b"])) != int(row["expected"])
        or dpkg.compare(row["b"], row["a"]) != -int(row["expected"])
    ]
    assert not wrong, f"{len(wrong)} of {len(OSV_SCALIBR_VECTORS)} rows disagree, first: {wrong[:5]}"


@pytest.mark.parametrize("row", PARSE_VECTORS, ids=lambda row: repr(row["input"]))
def test_parse_vectors(row):
    version, validity = row["input"], row["validity"]
    if validity == "valid":
        epoch, upstream, revision = dpkg.parse(version)
        assert (str(epoch), upstream.decode(), revision.decode()) == (row["epoch"], row["upstream"], row["revision"])
    elif validity == "warning(invalid)" or version in ONLY_WARNED_BY_DPKG:
        dpkg.validate(version)
    else:
        assert validity in ("error", "invalid")
        with pytest.raises(ValueError, match="dpkg rejects"):
            dpkg.validate(version)


def test_conformance_expectations_agree_with_dpkg(native_dpkg):
    # The vectors were checked against dpkg 1.21.22; check again against the dpkg installed here,
    # including every 25th osv-scalibr row.
    rows = COMPARE_VECTORS + OSV_SCALIBR_VECTORS[::25]
    natives = native_dpkg.compare_many([(row["a"], row["b"]) for row in rows])
    disagreeing = [(row, native) for row, native in zip(rows, natives, strict=True) if native != int(row["expected"])]
    assert not disagreeing


def test_parse_vector_validity_agrees_with_dpkg(native_dpkg):
    # dpkg --compare-versions reads an empty argument as "no version" rather than parsing it.
    inputs = [row["input"] for row in PARSE_VECTORS if row["input"] != ""]
    for version, dpkg_rejects in zip(inputs, native_dpkg.rejects_many(inputs), strict=True):
        assert (outcome(version, version) == ERROR) == dpkg_rejects, version


# --- Hand-written edge cases ------------------------------------------------------------------

ORDERED = [
    ("1.0~rc1", "1.0"),  # ~ sorts before the end of the string
    ("1.0~~", "1.0~"),
    ("1.0~", "1.0"),
    ("1.0", "1.0+b1"),
    ("1.0", "1.0a"),  # the end sorts before letters
    ("1.0a", "1.0+"),  # letters sort before non-letters
    ("1.0+", "1.0."),  # '+' (43) before '.' (46)
    ("1.0Z", "1.0a"),  # letters by ASCII
    ("1.9", "1.10"),  # digit runs compare as numbers
    ("1.0-1", "1.0-2"),
    ("1.0-9", "1.0-10"),
    ("1.0-1", "1.0.1-1"),
    ("2:0.1", "10:0.0"),  # epochs compare numerically and first
    ("9:9", "10:0"),
    ("1:1.0-1", "1:1.0-1+deb12u1"),
    ("1.2.3-4ubuntu0.1", "1.2.3-4ubuntu0.2"),
    ("2.36.1-8+deb11u1", "2.36.1-8+deb11u2"),
    ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12"),
    ("1:2.0-1", "1:2.0-1:1"),  # a colon in the revision only warns
    ("99999999999999999999999999", "100000000000000000000000000"),  # no overflow
    ("1.99999999999999999999998", "1.99999999999999999999999"),
    ("0~", "0"),
    ("0~", "0a"),
    ("~", "0~"),
    ("1-0~", "1"),  # a revision "0~" is below "no revision"
    ("1", "a"),  # versions not starting with a digit only warn; a letter sorts after a digit run's end
    ("1é", "1."),  # bytes above 0x7F sort between letters and ASCII punctuation
    ("1z", "1é"),
]
EQUAL = [
    ("1.0", "1.0-0"),  # no revision compares like "0"
    ("1.0", "1.0-00"),
    ("0:1.0", "1.0"),
    ("00:1.0", "1.0"),
    ("+1:1.0", "1:1.0"),  # the epoch is read as C strtol reads it
    ("-0:1.0", "1.0"),
    ("1.001", "1.1"),  # leading zeros do not count
    ("1.0-1.01", "1.0-1.1"),
    (" 1.0-1\t", "1.0-1"),  # surrounding blanks are ignored
    ("1:2:3-4-5", "1:2:3-4-5"),
    ("<unknown>", "<unknown>"),
]


@pytest.mark.parametrize(("lower", "higher"), ORDERED)
def test_ordering(lower, higher):
    assert versions.compare("Debian:12", lower, higher) < 0
    assert versions.compare("Ubuntu:22.04:LTS", higher, lower) > 0


@pytest.mark.parametrize(("a", "b"), EQUAL)
def test_equal(a, b):
    assert versions.compare("Debian", a, b) == 0


def test_hand_written_cases_agree_with_dpkg(native_dpkg):
    expected = [-1] * len(ORDERED) + [0] * len(EQUAL)
    assert native_dpkg.compare_many(ORDERED + EQUAL) == expected


@pytest.mark.parametrize(
    ("version", "reason"),
    [
        ("", "version string is empty"),
        (" \t ", "version string is empty"),
        ("1.0 1", "embedded spaces"),
        ("a:1.0", "epoch in version is empty"),
        (":1.0", "epoch in version is empty"),
        ("1a:1.0", "epoch in version is not number"),
        ("0x1:1.0", "epoch in version is not number"),
        ("-1:1.0", "epoch in version is negative"),
        ("2147483648:1.0", "epoch in version is too big"),
        ("99999999999999999999:1.0", "epoch in version is too big"),
        ("1:", "nothing after colon"),
        ("1.0-", "revision number is empty"),
        ("-1", "version number is empty"),
        ("1:-1", "version number is empty"),
        ("1.0\x00", "NUL"),
        ("1.0\ud800", "cannot be encoded"),
    ],
)
def test_versions_dpkg_rejects(version, reason):
    with pytest.raises(ValueError, match=reason):
        versions.validate("Debian", version)
    with pytest.raises(ValueError, match=reason):
        versions.compare("Debian", "1.0", version)


@pytest.mark.parametrize("version", ["a", "foo5.2", "1_0", "1.0-1_1", "1:1.0-1:1", "1.0\n", "1.0é", "2147483647:1"])
def test_versions_dpkg_only_warns_about_are_accepted(version):
    versions.validate("Debian", version)


def test_epoch_upstream_and_revision_split():
    assert dpkg.parse("1:2.3:4-5-6") == (1, b"2.3:4-5", b"6")
    assert dpkg.parse("2.3") == (0, b"2.3", b"")


def test_no_version_is_below_every_version():
    assert versions.compare("Debian", "<unknown>", "~") < 0
    assert versions.compare("Debian", "0", "<unknown>") > 0


def test_sort_key_sorts_as_compare_orders():
    shuffled = ["1.0", "1:0.1", "1.0~rc1", "1.0-1", "1.0+b1", "0.9", "1.0a"]
    assert sorted(shuffled, key=versions.sort_key("Debian")) == [
        "0.9",
        "1.0~rc1",
        "1.0",
        "1.0-1",
        "1.0a",
        "1.0+b1",
        "1:0.1",
    ]


# --- Agreement with dpkg on generated versions --------------------------------------------------

_digits = st.one_of(
    st.integers(0, 99).map(str),
    st.from_regex(r"0{0,3}[0-9]{1,30}", fullmatch=True),  # leading zeros, long runs
)
_letters = st.text("abzAZ", min_size=1, max_size=3)
_separators = st.sampled_from([".", ".", "+", "~", "-", "~~", ".~", ":"])
_warned = st.sampled_from(["_", "!", "é", "@", "\n"])  # dpkg only warns about these
_piece = st.one_of(_digits, _digits, _letters, _separators, _warned)
_upstream = st.one_of(
    st.builds("".join, st.lists(_piece, min_size=1, max_size=7)),
    st.builds(lambda head, rest: head + rest, _digits, st.builds("".join, st.lists(_piece, max_size=6))),
)
_revision = st.builds(
    "".join, st.lists(st.one_of(_digits, _letters, st.sampled_from([".", "+", "~", "_"])), max_size=4)
)
_valid_epoch = st.one_of(st.integers(0, 2**31 - 1).map(lambda epoch: f"{epoch}:"), st.sampled_from(["0:", "00:"]))
_odd_epoch = st.sampled_from(["+1:", "-0:", "\n1:", "-1:", "2147483648:", "a:", ":", "1a:"])
# Mostly good epochs; the rejected ones get their own property below.
_epoch = st.one_of(*[st.just("")] * 4, *[_valid_epoch] * 4, _odd_epoch)
_blank = st.sampled_from(["", "", "", " ", "\t"])


def _version(lead, epoch, upstream, revision, trail):
    return f"{lead}{epoch}{upstream}{revision and '-' + revision}{trail}"


_plain_versions = st.builds(_version, _blank, _epoch, _upstream, _revision, _blank)


def _near(version: str):
    """Versions equal or close to ``version``, so that ties and near-ties get tested too."""
    version = version.strip(" \t")
    leading_zero = re.sub(r"([0-9]+)", r"0\1", version, count=1)
    return st.sampled_from(
        [
            version,
            f"0:{version}",
            f"{version}-0",
            leading_zero,
            f"{version}~",
            f"{version}0",
            f"{version}.0",
            f"{version}+",
            f"{version}a",
            f"{version}-~",
            f"{version}-0~",
            version.replace("-", "-0", 1),
        ]
    )


# Parts that are all zeros, or zeros then '~', sit right around dpkg's "end of string".
_around_zero = st.sampled_from(["0", "00", "0~", "0~~", "~", "0.0", "0:0", "0-0", "0-00", "0-0~", "1-0~", "1-~", "1-0"])
dpkg_versions = st.one_of(*[_plain_versions] * 5, _around_zero, st.just("<unknown>"))
# A shared start with two short endings puts the difference exactly where verrevcmp decides.
_start = st.one_of(st.sampled_from(["", "0", "1", "1.0", "1:1.0", "1.0-1", "0:0"]), _plain_versions)
_ending = st.sampled_from(["", "~", "~~", "0", "00", "0~", "a", "A", "é", ".", "+", "-0", "-0~", "-~", ":", "-", "9"])
_diverging = st.builds(lambda start, x, y: (start.strip(" \t") + x, start.strip(" \t") + y), _start, _ending, _ending)

dpkg_pairs = st.lists(
    st.one_of(
        st.tuples(dpkg_versions, dpkg_versions),
        _plain_versions.flatmap(lambda version: st.tuples(st.just(version), _near(version))),
        _diverging,
    ),
    min_size=20,
    max_size=60,
)

# About 2,000 pairs and 1,500 versions per run, each costing one or two dpkg processes. The
# failure message names the pair, so shrinking (hundreds more dpkg runs) is skipped.
_DPKG_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)


@_DPKG_SETTINGS
@given(pairs=dpkg_pairs)
def test_compare_agrees_with_dpkg(native_dpkg, pairs):
    # An empty version is rejected here, but dpkg --compare-versions reads it as "no version".
    pairs = [(a, b) for a, b in pairs if a and b]
    for (a, b), native in zip(pairs, native_dpkg.compare_many(pairs), strict=True):
        assert outcome(a, b) == native, f"{a!r} vs {b!r}: dpkg says {native_dpkg.explain(a, b)}"


_error_prone = st.one_of(
    dpkg_versions,
    st.text(alphabet="0123456789:-.~ \tab+\n_", min_size=1, max_size=8),
)


@_DPKG_SETTINGS
@given(candidates=st.lists(_error_prone, min_size=20, max_size=60))
def test_validate_raises_exactly_when_dpkg_errors(native_dpkg, candidates):
    candidates = [version for version in candidates if version]
    for version, dpkg_rejects in zip(candidates, native_dpkg.rejects_many(candidates), strict=True):
        try:
            versions.validate("Debian", version)
            rejected = False
        except ValueError:
            rejected = True
        assert rejected == dpkg_rejects, f"{version!r}: dpkg says {native_dpkg.explain(version, version)}"
