"""Semantic Versioning 2.0.0 for npm and crates.io.

Source of the rules: https://semver.org/spec/v2.0.0.html (precedence, section 11), with what each
registry's own parser accepts: node-semver 7 in strict mode (``semver.compare``) for npm, the Rust
``semver`` crate 1.x (``Version::parse``) for crates.io.

``MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]``: numbers without leading zeros; pre-release and build
identifiers are non-empty ``[0-9A-Za-z-]`` runs separated by dots, and a numeric pre-release
identifier has no leading zero.

Precedence: major, minor, patch numerically; a version with a pre-release is lower than the same
version without one; pre-release identifiers compare left to right, numeric ones numerically and
below alphanumeric ones, alphanumeric ones by ASCII, and a shorter list of equal leading
identifiers is lower. Build metadata is ignored (``1.0.0+a == 1.0.0+b``).

npm also accepts surrounding whitespace and a leading ``v`` (``v1.2.3``), rejects versions over
256 characters and major/minor/patch numbers above 2**53 - 1. crates.io accepts neither
whitespace nor ``v``, and numbers up to 2**64 - 1. node-semver compares numeric pre-release
identifiers above 2**53 as floating-point numbers, inconsistently; they compare exactly here.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .scheme import PARSE_CACHE_SIZE, Scheme, require_str, sign

FAMILY = "semver"

_NUMBER = r"0|[1-9][0-9]*"
_PRERELEASE_ID = rf"(?:{_NUMBER}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_ID = r"[0-9A-Za-z-]+"
_SEMVER = (
    rf"(?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})\.(?P<patch>{_NUMBER})"
    rf"(?:-(?P<pre>{_PRERELEASE_ID}(?:\.{_PRERELEASE_ID})*))?"
    rf"(?:\+(?P<build>{_BUILD_ID}(?:\.{_BUILD_ID})*))?"
)
_STRICT = re.compile(_SEMVER, re.ASCII)
_NPM = re.compile(rf"v?{_SEMVER}", re.ASCII)

_NPM_MAX_LENGTH = 256
_NPM_MAX_NUMBER = 2**53 - 1
_CARGO_MAX_NUMBER = 2**64 - 1

# JavaScript's String.prototype.trim() removes these (WhiteSpace and LineTerminator).
_JS_WHITESPACE = "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"  # noqa: E501

RELEASE = (1,)


def prerelease_key(prerelease: str | None) -> tuple:
    """Key for the pre-release part: no pre-release sorts above any pre-release."""
    if prerelease is None:
        return RELEASE
    identifiers = []
    for identifier in prerelease.split("."):
        identifiers.append((0, int(identifier)) if identifier.isdigit() else (1, identifier))
    return (0, *identifiers)


def _key(match: re.Match, version: str, registry: str, max_number: int) -> tuple:
    numbers = tuple(int(match[part]) for part in ("major", "minor", "patch"))
    if max(numbers) > max_number:
        raise ValueError(f"{registry} rejects version {version!r}: a version number is larger than {max_number}")
    return (*numbers, prerelease_key(match["pre"]))


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def npm_key(version: str) -> tuple:
    """Precedence key for an npm version (node-semver strict parsing)."""
    require_str(version)
    if len(version) > _NPM_MAX_LENGTH:
        raise ValueError(f"npm rejects version {version[:40]!r}...: it is longer than {_NPM_MAX_LENGTH} characters")
    match = _NPM.fullmatch(version.strip(_JS_WHITESPACE))
    if match is None:
        raise ValueError(f"npm rejects version {version!r}: it is not MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]")
    return _key(match, version, "npm", _NPM_MAX_NUMBER)


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def cargo_key(version: str) -> tuple:
    """Precedence key for a crates.io version (the Rust semver crate's parsing)."""
    match = _STRICT.fullmatch(require_str(version))
    if match is None:
        raise ValueError(f"crates.io rejects version {version!r}: it is not MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]")
    return _key(match, version, "crates.io", _CARGO_MAX_NUMBER)


def _scheme(key) -> Scheme:
    def compare(a: str, b: str) -> int:
        return sign(key(a), key(b))

    def validate(version: str) -> None:
        key(version)

    return Scheme(FAMILY, compare, validate, key)


NPM = _scheme(npm_key)
CARGO = _scheme(cargo_key)
