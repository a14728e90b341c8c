"""The public version API: ecosystem names, families, errors, and the properties every scheme keeps."""

from __future__ import annotations

from functools import cmp_to_key

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisories import versions

FAMILIES = {
    "Debian": "dpkg",
    "Debian:12": "dpkg",
    "Ubuntu": "dpkg",
    "Ubuntu:22.04:LTS": "dpkg",
    "Ubuntu:Pro:22.04:LTS": "dpkg",
    "Red Hat": "rpm",
    "Red Hat:9": "rpm",
    "Red Hat:enterprise_linux:9::appstream": "rpm",
    "AlmaLinux": "rpm",
    "AlmaLinux:9": "rpm",
    "Rocky Linux": "rpm",
    "Rocky Linux:9": "rpm",
    "SUSE": "rpm",
    "SUSE:Linux Enterprise Server 15 SP5": "rpm",
    "openSUSE": "rpm",
    "openSUSE:Leap 15.5": "rpm",
    "Alpine": "apk",
    "Alpine:v3.20": "apk",
    "npm": "semver",
    "crates.io": "semver",
    "Go": "go",
    "PyPI": "pep440",
    "Maven": "maven",
    "Maven:https://repo.maven.apache.org/maven2/": "maven",
    "Packagist": "packagist",
    "RubyGems": "rubygems",
    "NuGet": "nuget",
}


@pytest.mark.parametrize(("ecosystem", "expected"), FAMILIES.items())
def test_family(ecosystem, expected):
    assert versions.family(ecosystem) == expected


def test_names_are_matched_without_regard_to_case():
    assert versions.family("debian:12") == "dpkg"
    assert versions.family("PYPI") == "pep440"


@pytest.mark.parametrize("ecosystem", ["", "Hackage", "Debian12", ":Debian", "Arch Linux", "Pub"])
def test_unknown_ecosystem_raises_value_error(ecosystem):
    with pytest.raises(ValueError, match="unknown ecosystem"):
        versions.compare(ecosystem, "1.0", "2.0")
    with pytest.raises(ValueError, match="unknown ecosystem"):
        versions.validate(ecosystem, "1.0")
    with pytest.raises(ValueError, match="unknown ecosystem"):
        versions.sort_key(ecosystem)
    with pytest.raises(ValueError, match="unknown ecosystem"):
        versions.family(ecosystem)


@pytest.mark.parametrize(
    ("ecosystem", "lower", "higher"),
    [
        ("Debian:12", "2.36.1-8+deb11u1", "1:2.0-1"),
        ("Ubuntu:Pro:22.04:LTS", "1.2.3-4ubuntu0.1~esm1", "1.2.3-4ubuntu0.1"),
        ("Red Hat:9", "1:2.3-4.el9", "1:2.3-4.el9_1"),
        ("Alpine:v3.20", "1.2.3_rc1-r0", "1.2.3-r0"),
        ("npm", "1.0.0-rc.1", "1.0.0"),
        ("crates.io", "0.9.9", "0.10.0"),
        ("Go", "v1.2.3-0.20191109021931-daa7c04131f5", "v1.2.3"),
        ("PyPI", "1.0rc1", "1.0"),
        ("Maven", "1.0-SNAPSHOT", "1.0"),
        ("Packagist", "1.0.0-beta2", "1.0.0-beta10"),
        ("RubyGems", "1.0.0.pre", "1.0.0"),
        ("NuGet", "1.0.0-beta", "1.0.0"),
    ],
)
def test_compare_is_negative_zero_or_positive(ecosystem, lower, higher):
    assert versions.compare(ecosystem, lower, higher) < 0
    assert versions.compare(ecosystem, higher, lower) > 0
    assert versions.compare(ecosystem, lower, lower) == 0
    assert sorted([higher, lower], key=versions.sort_key(ecosystem)) == [lower, higher]


def test_rejected_versions_say_which_ecosystem_and_why():
    with pytest.raises(ValueError, match=r"dpkg rejects version '1:': nothing after colon"):
        versions.validate("Debian", "1:")
    with pytest.raises(ValueError, match=r"npm rejects version '1\.2'"):
        versions.compare("npm", "1.2", "1.2.0")


@pytest.mark.parametrize("ecosystem", sorted({name.split(":")[0] for name in FAMILIES}))
def test_a_version_must_be_a_string(ecosystem):
    with pytest.raises(TypeError):
        versions.compare(ecosystem, "1.0.0", None)  # type: ignore[arg-type]


# --- Properties every scheme keeps ---------------------------------------------------------------

_SAMPLE_ECOSYSTEMS = [
    "Debian",
    "Red Hat",
    "Alpine",
    "npm",
    "crates.io",
    "Go",
    "PyPI",
    "Maven",
    "Packagist",
    "RubyGems",
    "NuGet",
]
_version_like = st.text(alphabet="0123456789.-+~^_:abcdeprvzRCSNAPHOT ", max_size=12)


def _outcome(ecosystem: str, a: str, b: str) -> int | None:
    try:
        return versions.compare(ecosystem, a, b)
    except ValueError:
        return None


@pytest.mark.parametrize("ecosystem", _SAMPLE_ECOSYSTEMS)
@settings(max_examples=300, deadline=None, database=None)
@given(a=_version_like, b=_version_like, c=_version_like)
def test_compare_is_a_consistent_total_order(ecosystem, a, b, c):
    ab, ba = _outcome(ecosystem, a, b), _outcome(ecosystem, b, a)
    if ab is None:
        assert ba is None
        return
    assert ab == -ba
    assert versions.compare(ecosystem, a, a) == 0
    bc, ac = _outcome(ecosystem, b, c), _outcome(ecosystem, a, c)
    if bc is not None and ac is not None:
        if ab <= 0 and bc <= 0:
            assert ac <= 0
        if ab == 0 and bc == 0:
            assert ac == 0


@pytest.mark.parametrize("ecosystem", _SAMPLE_ECOSYSTEMS)
@settings(max_examples=100, deadline=None, database=None)
@given(candidates=st.lists(_version_like, max_size=12))
def test_sort_key_orders_as_compare_does(ecosystem, candidates):
    valid = []
    for version in candidates:
        try:
            versions.validate(ecosystem, version)
        except ValueError:
            continue
        valid.append(version)
    by_key = sorted(valid, key=versions.sort_key(ecosystem))
    by_compare = sorted(valid, key=cmp_to_key(lambda a, b: versions.compare(ecosystem, a, b)))
    assert by_key == by_compare
