"""Go module versions, ordered as golang.org/x/mod/semver orders them.

Source of the rules: golang.org/x/mod/semver (``IsValid``, ``Compare``) and
https://go.dev/ref/mod#versions.

A module version is ``vMAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`` with Semantic Versioning 2.0.0
syntax; ``vMAJOR`` and ``vMAJOR.MINOR`` are accepted shorthands for ``.0`` (``v1.2 == v1.2.0``),
without a pre-release or build. OSV data sometimes leaves the ``v`` out, so it is optional here.
Pseudo-versions (``v0.0.0-20191109021931-daa7c04131f5``) are ordinary pre-releases, and build
metadata such as ``+incompatible`` is ignored. Precedence is Semantic Versioning's; numbers have no
size limit. Unlike ``semver.Compare``, which sorts invalid versions below every valid one, an
invalid version raises ValueError.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .scheme import PARSE_CACHE_SIZE, Scheme, require_str, sign
from .semver import prerelease_key

FAMILY = "go"

_NUMBER = r"0|[1-9][0-9]*"
_PRERELEASE_ID = rf"(?:{_NUMBER}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_ID = r"[0-9A-Za-z-]+"
_MODULE_VERSION = re.compile(
    rf"v?(?P<major>{_NUMBER})"
    rf"(?:\.(?P<minor>{_NUMBER})"
    rf"(?:\.(?P<patch>{_NUMBER})"
    rf"(?:-(?P<pre>{_PRERELEASE_ID}(?:\.{_PRERELEASE_ID})*))?"
    rf"(?:\+{_BUILD_ID}(?:\.{_BUILD_ID})*)?"
    r")?)?",
    re.ASCII,
)


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def sort_key(version: str) -> tuple:
    """Precedence key for a Go module version."""
    match = _MODULE_VERSION.fullmatch(require_str(version))
    if match is None:
        raise ValueError(f"Go rejects module version {version!r}: it is not vMAJOR[.MINOR[.PATCH[-PRE][+BUILD]]]")
    return (
        int(match["major"]),
        int(match["minor"] or 0),
        int(match["patch"] or 0),
        prerelease_key(match["pre"]),
    )


def compare(a: str, b: str) -> int:
    return sign(sort_key(a), sort_key(b))


def validate(version: str) -> None:
    sort_key(version)


SCHEME = Scheme(FAMILY, compare, validate, sort_key)
