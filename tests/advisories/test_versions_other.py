"""Version ordering for the language ecosystems: npm, crates.io, Go, PyPI, Maven, Packagist, RubyGems, NuGet.

No native tool for these runs here; the cases come from each scheme's specification and the
upstream test suites named next to them.
"""

from __future__ import annotations

import itertools

import pytest

from advisories import versions
from advisories.versioning import composer, maven


def assert_ascending(ecosystem: str, ordered: list[str]) -> None:
    """Every earlier version sorts before every later one, in both argument orders."""
    for lower, higher in itertools.combinations(ordered, 2):
        assert versions.compare(ecosystem, lower, higher) < 0, f"{lower} < {higher}"
        assert versions.compare(ecosystem, higher, lower) > 0, f"{higher} > {lower}"
    assert sorted(reversed(ordered), key=versions.sort_key(ecosystem)) == ordered


def assert_rejected(ecosystem: str, version: str) -> None:
    with pytest.raises(ValueError, match="rejects"):
        versions.validate(ecosystem, version)
    with pytest.raises(ValueError, match="rejects"):
        versions.compare(ecosystem, version, version)


# --- npm and crates.io: Semantic Versioning 2.0.0 ------------------------------------------------

# semver.org, section 11.
SEMVER_PRECEDENCE = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "2.0.0",
    "2.1.0",
    "2.1.1",
    "10.0.0",
]


@pytest.mark.parametrize("ecosystem", ["npm", "crates.io"])
def test_semver_precedence(ecosystem):
    assert_ascending(ecosystem, SEMVER_PRECEDENCE)
    assert_ascending(ecosystem, ["1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-a", "1.0.0-a-b", "1.0.0-aa"])
    assert versions.compare(ecosystem, "1.0.0+build.1", "1.0.0+build.2") == 0  # build metadata is ignored
    assert versions.compare(ecosystem, "1.0.0-rc.1+x", "1.0.0-rc.1") == 0
    assert versions.compare(ecosystem, "99999999999999.0.0", "99999999999999.0.1") < 0


@pytest.mark.parametrize("ecosystem", ["npm", "crates.io"])
@pytest.mark.parametrize(
    "version",
    ["", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.3-01", "1.2.3-", "1.2.3+", "1.2.3-a..b", "1.2.3-é", ">1.2.3"],
)
def test_semver_rejects(ecosystem, version):
    assert_rejected(ecosystem, version)


def test_npm_accepts_a_leading_v_and_whitespace_but_crates_io_does_not():
    assert versions.compare("npm", "v1.2.3", " 1.2.3\n") == 0
    assert_rejected("crates.io", "v1.2.3")
    assert_rejected("crates.io", " 1.2.3")
    assert_rejected("npm", "=1.2.3")  # only node-semver's loose mode accepts this


def test_semver_number_limits():
    versions.validate("npm", "9007199254740991.0.0")
    assert_rejected("npm", "9007199254740992.0.0")
    assert_rejected("npm", "1.0.0-" + "a" * 251)  # longer than 256 characters
    versions.validate("crates.io", "18446744073709551615.0.0")
    assert_rejected("crates.io", "18446744073709551616.0.0")
    assert versions.compare("npm", "1.0.0-99999999999999999999", "1.0.0-99999999999999999998") > 0


# --- Go ------------------------------------------------------------------------------------------


def test_go_module_versions():
    assert_ascending(
        "Go",
        [
            "v0.0.0-20191109021931-daa7c04131f5",  # pseudo-versions are pre-releases
            "v0.0.0-20200101000000-abcdef123456",
            "v0.0.0",
            "v1.2.3",
            "v1.2.4-0.20191109021931-daa7c04131f5",
            "v1.2.4-pre",
            "v1.2.4",
            "v1.10.0",
            "v2.0.0-rc.1",
            "v2.0.0+incompatible",
        ],
    )
    assert versions.compare("Go", "v1.2.3", "1.2.3") == 0  # the v is optional here
    assert versions.compare("Go", "v1.2", "v1.2.0") == 0  # x/mod/semver shorthands
    assert versions.compare("Go", "v1", "v1.0.0") == 0
    assert versions.compare("Go", "v2.0.0+incompatible", "v2.0.0") == 0


@pytest.mark.parametrize(
    "version", ["", "v", "v1.2-pre", "v1-pre", "v01.2.3", "v1.2.3.4", "v1.2.3-01", "latest", "V1.2.3"]
)
def test_go_rejects(version):
    assert_rejected("Go", version)


# --- PyPI: PEP 440 ------------------------------------------------------------------------------


def test_pep440_ordering():
    # The ordering example of PEP 440's "Summary of permitted suffixes and relative ordering".
    assert_ascending(
        "PyPI",
        [
            "1.dev0",
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
            "1!0.1",
        ],
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.0", "1.0.0"),
        ("v1.0", "1.0"),
        ("1.0a1", "1.0.alpha1"),
        ("1.0-post1", "1.0.post1"),
        ("1.0RC1", "1.0rc1"),
        (" 1.0 ", "1.0"),
    ],
)
def test_pep440_normalisation(a, b):
    assert versions.compare("PyPI", a, b) == 0


@pytest.mark.parametrize("version", ["", "foo", "1.0-foo", "1.0.0.0-beta_2_3", "2.0.0-rc1-SNAPSHOT", "1.0+"])
def test_pep440_rejects(version):
    assert_rejected("PyPI", version)


# --- Maven: ComparableVersion -------------------------------------------------------------------
# Cases from Maven's ComparableVersionTest (maven-artifact, Maven 3.9), including MNG-5568,
# MNG-6572, MNG-6964 and MNG-7644.

MAVEN_QUALIFIER_ORDER = [
    "1-alpha2snapshot",
    "1-alpha2",
    "1-alpha-123",
    "1-beta-2",
    "1-beta123",
    "1-m2",
    "1-m11",
    "1-rc",
    "1-cr2",
    "1-rc123",
    "1-SNAPSHOT",
    "1",
    "1-sp",
    "1-sp2",
    "1-sp123",
    "1-abc",
    "1-def",
    "1-pom-1",
    "1-1-snapshot",
    "1-1",
    "1-2",
    "1-123",
]
MAVEN_NUMBER_ORDER = [
    "2.0",
    "2.0.a",
    "2-1",
    "2.0.2",
    "2.0.123",
    "2.1.0",
    "2.1-a",
    "2.1b",
    "2.1-c",
    "2.1-1",
    "2.1.0.1",
    "2.2",
    "2.123",
    "11.a2",
    "11.a11",
    "11.b2",
    "11.b11",
    "11.m2",
    "11.m11",
    "11",
    "11.a",
    "11b",
    "11c",
    "11m",
]
MAVEN_EQUAL = [
    ("1", "1.0"),
    ("1", "1.0.0"),
    ("1", "1-0"),
    ("1", "1.0-0"),
    ("1a", "1-a"),
    ("1a", "1.0.0-a"),
    ("1.0a", "1-a"),
    ("1x", "1.0-x"),
    ("1ga", "1"),
    ("1release", "1"),
    ("1final", "1"),
    ("1-ga", "1"),
    ("1cr", "1rc"),
    ("1a1", "1-alpha-1"),
    ("1b2", "1-beta-2"),
    ("1m3", "1-milestone-3"),
    ("1X", "1x"),
    ("1RELeaSE", "1"),
    ("1m3", "1MILESTONE3"),
    ("1-abcdefghijklmnopqrstuvwxyz", "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    ("0000000000000000001", "1"),
    ("0000000000000000000", "0"),
    ("2-abc", "2.0.abc"),  # MNG-7644
    ("2-abc", "2.0.0.abc"),
    ("", "0"),
]
MAVEN_ORDERED = [
    ("1.0-alpha-1", "1.0"),
    ("1.0-alpha-1", "1.0-alpha-2"),
    ("1.0-alpha-1", "1.0-beta-1"),
    ("1.0-beta-1", "1.0-SNAPSHOT"),
    ("1.0-SNAPSHOT", "1.0"),
    ("1.0-alpha-1-SNAPSHOT", "1.0-alpha-1"),
    ("1.0", "1.0-1"),
    ("1.0-1", "1.0-2"),
    ("1.0.0", "1.0-1"),
    ("2.0-1", "2.0.1"),
    ("2.0.1-klm", "2.0.1-lmn"),
    ("2.0.1", "2.0.1-xyz"),
    ("2.0.1-xyz", "2.0.1-123"),
    ("6.1.0rc3", "6.1.0"),  # MNG-5568
    ("6.1.0rc3", "6.1H.5-beta"),
    ("6.1.0", "6.1H.5-beta"),
    ("20190126.230843", "1234567890.12345"),  # MNG-6572
    ("1234567890.12345", "123456789012345.1H.5-beta"),
    ("123456789012345.1H.5-beta", "12345678901234567890.1H.5-beta"),
    ("1-0.alpha", "1"),  # MNG-6964
    ("1-0.beta", "1"),
    ("1-0.alpha", "1-0.beta"),
    ("1.0.0.RC1", "1.0.0-RC2"),  # MNG-7644
    ("1.0.RC2", "1.0-RC3"),
    ("1.0-RC3", "1.0.1"),
    ("0.7", "2"),
    ("0.2", "1.0.7"),
]


def test_maven_qualifier_and_number_orders():
    assert_ascending("Maven", MAVEN_QUALIFIER_ORDER)
    assert_ascending("Maven", MAVEN_NUMBER_ORDER)


@pytest.mark.parametrize(("a", "b"), MAVEN_EQUAL)
def test_maven_equal(a, b):
    assert versions.compare("Maven", a, b) == 0
    assert versions.compare("Maven", b, a) == 0


@pytest.mark.parametrize(("lower", "higher"), MAVEN_ORDERED)
def test_maven_ordered(lower, higher):
    assert versions.compare("Maven", lower, higher) < 0
    assert versions.compare("Maven", higher, lower) > 0


def test_maven_mng_7644_for_any_qualifier():
    for qualifier in ["abc", "alpha", "a", "beta", "b", "def", "milestone", "m", "RC"]:
        assert versions.compare("Maven", f"1.0.0.{qualifier}1", f"1.0.0-{qualifier}2") < 0
        assert versions.compare("Maven", f"2-{qualifier}", f"2.0.{qualifier}") == 0
        assert versions.compare("Maven", f"2.0.{qualifier}", f"2.0.0.{qualifier}") == 0


def test_maven_accepts_every_string():
    for version in ["", "-", "..", "not a version", "1.0 final", "é"]:
        versions.validate("Maven", version)
    assert maven.compare("1.0.0-alpha-1", "1-a1") == 0


# --- Packagist: Composer ---------------------------------------------------------------------------
# Normalisations from composer/semver's VersionParserTest (successfulNormalizedVersions and
# failingNormalizedVersions).


@pytest.mark.parametrize(
    ("version", "normalized"),
    [
        ("1.0.0", "1.0.0.0"),
        ("1.2.3.4", "1.2.3.4"),
        ("1.0.0RC1dev", "1.0.0.0-RC1-dev"),
        ("1.0.0-rC15-dev", "1.0.0.0-RC15-dev"),
        ("1.0.0.RC.15-dev", "1.0.0.0-RC15-dev"),
        ("1.0.0-rc1", "1.0.0.0-RC1"),
        ("1.0.0.pl3-dev", "1.0.0.0-patch3-dev"),
        ("1.0-dev", "1.0.0.0-dev"),
        ("0", "0.0.0.0"),  # noqa: S104 (a version, not an address)
        ("99999", "99999.0.0.0"),
        ("10.4.13beta.2", "10.4.13.0-beta2"),
        ("v1.13.11-beta.0", "1.13.11.0-beta0"),
        ("10.4.13-b5", "10.4.13.0-beta5"),
        ("2010.01.02", "2010.01.02.0"),
        ("20230131.0.0", "20230131.0.0"),
        ("v20100102", "20100102"),
        ("2010-01-02", "2010.01.02"),
        ("20100102-203040-p1", "20100102.203040-patch1"),
        ("201903.x-dev", "201903.9999999.9999999.9999999-dev"),
        ("master", "dev-master"),
        ("1.x-dev", "1.9999999.9999999.9999999-dev"),
        ("DEV-FOOBAR", "dev-FOOBAR"),
        ("dev-feature+issue-1", "dev-feature+issue-1"),
        ("dev-load-varnish-only-when-used@dev as ^2.0@dev", "dev-load-varnish-only-when-used"),
        ("1.0.0+foo@dev", "1.0.0.0"),
        ("1.0.0-alpha-2.1-3+foo", "1.0.0.0-alpha2.1-3"),
        ("1.0.0+foo as 2.0", "1.0.0.0"),
        ("0700", "0700.0.0.0"),
        ("041.x-dev", "041.9999999.9999999.9999999-dev"),
        ("dev-foo bar", "dev-foo bar"),
        (" 1.0.0", "1.0.0.0"),
    ],
)
def test_composer_normalisation(version, normalized):
    assert composer.normalize(version) == normalized


@pytest.mark.parametrize(
    "version",
    [
        "",
        "a",
        "1.0.0-meh",
        "1.0.0.0.0",
        "feature-foo",
        "1.0.0+foo bar",
        "1.0.1-SNAPSHOT",
        "1.0.0<1.0.5-dev",
        "foo bar-dev",
        "1.0 .2",
        " as 1.2",
        "^",
        "~1",
        "1.*",
        "20100102.0.3.4",
        "100000.0.0.0",
        "2023013.0.0",
    ],
)
def test_composer_rejects(version):
    assert_rejected("Packagist", version)


def test_composer_ordering():
    assert_ascending(
        "Packagist",
        [
            "dev-foo",  # branches sort as version_compare sorts "dev"...
            "1.0.0-dev",
            "1.0.0-alpha1",
            "1.0.0-beta1",
            "1.0.0-beta2",
            "1.0.0-beta10",
            "1.0.0-RC1",
            "1.0.0",
            "1.0.0-p1",
            "1.0.1",
            "1.10",
            "50.2",
            "dev-master",  # ...and the default branch as 9999999-dev
        ],
    )
    assert versions.compare("Packagist", "v1.0", "1.0.0.0") == 0
    assert versions.compare("Packagist", "1.0.0-beta.2", "1.0.0-b2") == 0
    assert versions.compare("Packagist", "1.0+build.5", "1.0") == 0
    assert versions.compare("Packagist", "2.x-dev", "2.5") > 0
    assert versions.compare("Packagist", "2.x-dev", "3.0-alpha1") < 0


# --- RubyGems --------------------------------------------------------------------------------------
# Cases from rubygems' test/rubygems/test_gem_version.rb (test_spaceship, test_initialize_invalid).


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0", "1.0.0", 0),
        ("1.0", "1.0.a", 1),
        ("1.8.2", "0.0.0", 1),
        ("1.8.2", "1.8.2.a", 1),
        ("1.8.2.b", "1.8.2.a", 1),
        ("1.8.2.a", "1.8.2", -1),
        ("1.8.2.a10", "1.8.2.a9", 1),
        ("", "0", 0),
        ("0.beta.1", "0.0.beta.1", 0),
        ("0.0.beta", "0.0.beta.1", -1),
        ("0.0.beta", "0.beta.1", -1),
        ("5.a", "5.0.0.rc2", -1),
        ("5.x", "5.0.0.rc2", 1),
        ("1.0.0-beta", "1.0.0.pre.beta", 0),  # a hyphen reads as ".pre."
        ("1.0.0-beta", "1.0.0", -1),
        (" 1.0 ", "1", 0),
        ("1.0\n", "1", 0),
        ("1.A", "1.a", -1),  # strings compare by byte
    ],
)
def test_rubygems_ordering(a, b, expected):
    assert versions.compare("RubyGems", a, b) == expected
    assert versions.compare("RubyGems", b, a) == -expected


@pytest.mark.parametrize("version", ["junk", "1.0\n2.0", "1..2", "1.2 3.4", "-1", "1.0\u00a0", "1.0-", "v1.0"])
def test_rubygems_rejects(version):
    assert_rejected("RubyGems", version)


# --- NuGet -------------------------------------------------------------------------------------------


def test_nuget_ordering():
    assert_ascending(
        "NuGet",
        [
            "0.9",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.0.1-beta",
            "1.0.0.1",
            "1.0.1",
            "1.10",
        ],
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.0", "1.0.0.0"),
        ("1", "1.0.0"),
        ("1.0.0-Beta", "1.0.0-beta"),  # labels compare case-insensitively
        ("1.0.0-RC.1", "1.0.0-rc.1"),
        ("1.0.0+build.1", "1.0.0+build.2"),  # metadata is ignored
        ("1.0.0-beta+abc", "1.0.0-beta"),
        (" 1.0.0 ", "1.0.0"),
    ],
)
def test_nuget_equal(a, b):
    assert versions.compare("NuGet", a, b) == 0


@pytest.mark.parametrize(
    "version",
    [
        "",
        "v1.0.0",
        "1.2.3.4.5",
        "1.0.0-",
        "1.0.0-01",
        "1.0.0-a..b",
        "1.0.0-é",
        "1.0.0+",
        "2147483648.0",
        "a.b",
        "1.0.0-beta+",
    ],
)
def test_nuget_rejects(version):
    assert_rejected("NuGet", version)
