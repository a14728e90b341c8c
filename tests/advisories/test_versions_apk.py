"""Alpine version ordering and validation, against apk-tools' own test data.

There is no apk binary to compare with here: the vectors are apk-tools' test/unit/version.data
(copied to tests/fixtures/conformance/apk_version.data, see its NOTICE).
"""

from __future__ import annotations

import pytest

from advisories import versions
from advisories.versioning import apk

from .conftest import CONFORMANCE

_OPERATORS = {"<": -1, "=": 0, ">": 1}
# apk orders these two rows, but apk_version_validate rejects one side of each ("_foo" is no
# suffix, "bc" two letters), so validate() and compare() reject them here.
_INVALID_SIDES = {"23_foo", "1.0bc"}


def _read_data() -> tuple[list[tuple[str, int, str]], list[tuple[str, bool]]]:
    comparisons, validity = [], []
    for raw in (CONFORMANCE / "apk_version.data").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        fields = line.split()
        if len(fields) == 3 and fields[1] in _OPERATORS:
            comparisons.append((fields[0], _OPERATORS[fields[1]], fields[2]))
        elif len(fields) == 3:
            continue  # "~", "<~", ">~", "!~": apk's fuzzy dependency matching, not an ordering
        elif line.startswith("!"):
            validity.append((line[1:], False))
        elif line:
            validity.append((line, True))
    return comparisons, validity


COMPARISONS, VALIDITY = _read_data()


def test_the_data_file_was_read_whole():
    assert len(COMPARISONS) == 738
    assert len(VALIDITY) == 31


@pytest.mark.parametrize(("a", "expected", "b"), COMPARISONS, ids=lambda value: str(value))
def test_apk_tools_ordering_vectors(a, expected, b):
    if {a, b} & _INVALID_SIDES:
        with pytest.raises(ValueError, match="apk rejects"):
            versions.compare("Alpine", a, b)
        return
    assert versions.compare("Alpine:v3.20", a, b) == expected
    assert versions.compare("Alpine", b, a) == -expected


@pytest.mark.parametrize(("version", "valid"), VALIDITY, ids=lambda value: repr(value))
def test_apk_tools_validity_vectors(version, valid):
    if valid:
        versions.validate("Alpine", version)
    else:
        with pytest.raises(ValueError, match="apk rejects"):
            versions.validate("Alpine", version)


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.0_alpha", "1.0_alpha1"),
        ("1.0_alpha9", "1.0_beta"),
        ("1.0_beta", "1.0_pre"),
        ("1.0_pre", "1.0_rc"),
        ("1.0_rc", "1.0"),  # pre-release suffixes come before the release
        ("1.0", "1.0_cvs"),  # post-release suffixes come after it
        ("1.0_cvs", "1.0_svn"),
        ("1.0_svn", "1.0_git"),
        ("1.0_git", "1.0_hg"),
        ("1.0_hg", "1.0_p"),
        ("1.0_p1", "1.0_p2"),
        ("1.0", "1.0-r1"),
        ("1.0-r1", "1.0-r10"),
        ("1.0", "1.0a"),
        ("1.0a", "1.0b"),
        ("1.0z", "1.0.1"),
        ("1.0.0", "1.0.0.0"),
        ("1.9", "1.10"),
        ("1.0~abc", "1.0~abd"),
        ("1.0", "1.0~ffff"),  # a later token kind is the lower version...
        ("1.0-r0", "1.0~ffff"),  # ...so a hash outranks a revision
        ("1.0-r1", "1.0_p1"),
        ("1.01", "1.1"),  # a leading zero makes a string comparison: "01" < "1"
        ("1.009", "1.01"),  # compared as strings
        ("3.1.4-r5", "3.1.4_p1-r0"),
        ("99999999999999999999998", "99999999999999999999999"),
    ],
)
def test_ordering(lower, higher):
    assert apk.compare(lower, higher) == -1
    assert apk.compare(higher, lower) == 1


@pytest.mark.parametrize(
    ("version", "reason"),
    [
        ("", "must start with a digit"),
        ("v1.0", "must start with a digit"),
        ("1.0-1", "'-rN' package revision"),
        ("1.0-r", "revision number"),
        ("1.0_foo", "unknown suffix"),
        ("1.0bc", "may only follow a number"),
        ("1.0A", "unexpected character 'A'"),
        ("1.0~", "commit hash"),
        ("1.0 ", "unexpected character ' '"),
        ("1..0", "a number is missing"),
    ],
)
def test_rejected_versions_say_why(version, reason):
    with pytest.raises(ValueError, match=reason):
        versions.validate("Alpine", version)


def test_sort_key_sorts_as_compare_orders():
    shuffled = ["1.0-r1", "1.0_rc1", "1.0", "1.0_p1", "1.0a", "0.9"]
    expected = ["0.9", "1.0_rc1", "1.0", "1.0-r1", "1.0_p1", "1.0a"]
    assert sorted(shuffled, key=versions.sort_key("Alpine:v3.20")) == expected
