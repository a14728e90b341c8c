"""Packagist (Composer) versions, ordered as Composer orders them.

Source of the rules: composer/semver 3.x ``VersionParser::normalize``, ``normalizeBranch`` and
``normalizeDefaultBranch``, and ``Semver::sort`` / ``Comparator``, which compare normalized
versions with PHP's ``version_compare`` (see :mod:`.php`).

Normalizing: surrounding whitespace, an ``as`` alias, an ``@stability`` flag and ``+build``
metadata are dropped; ``v1.2`` becomes ``1.2.0.0`` (up to four numbers, the first at most five
digits); a date ``20230115`` stays one number; a modifier ``[._-]`` + ``stable|beta|b|RC|alpha|
a|patch|pl|p`` + optional number becomes ``-beta2``, ``-RC1``, ``-patch1`` (``a`` = alpha, ``b`` =
beta, ``p``/``pl`` = patch); a trailing ``dev`` becomes ``-dev``. ``1.x-dev`` becomes
``1.9999999.9999999.9999999-dev``; ``dev-<branch>`` stays a branch, and the default branches
``master``, ``trunk`` and ``default`` sort as ``9999999-dev``. Anything else is rejected, as
Composer throws "Invalid version string".

Ordering is then ``version_compare``: ``1.0.0.0-dev < -alpha < -beta < -RC < 1.0.0.0 <
-patch``, numbers numerically. Composer itself refuses to order two different branches; here
they are ordered by ``version_compare`` like everything else.
"""

from __future__ import annotations

import re
from functools import cmp_to_key, lru_cache

from .php import version_compare
from .scheme import PARSE_CACHE_SIZE, Scheme, require_str

FAMILY = "packagist"

_PHP_TRIM = " \t\n\r\0\x0b"
_STABILITIES = r"stable|RC|beta|alpha|dev"
_MODIFIER = r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?"
_FLAGS = re.IGNORECASE | re.ASCII

_ALIAS = re.compile(r"^([^,\s]++) ++as ++([^,\s]++)$", re.ASCII)
_STABILITY_FLAG = re.compile(rf"@(?:{_STABILITIES})$", _FLAGS)
_BUILD_METADATA = re.compile(r"^([^,\s+]++)\+[^\s]++$", re.ASCII)
_CLASSICAL = re.compile(rf"^v?(\d{{1,5}}+)(\.\d++)?(\.\d++)?(\.\d++)?{_MODIFIER}$", _FLAGS)
_DATETIME = re.compile(rf"^v?(\d{{4}}(?:[.:-]?\d{{2}}){{1,6}}(?:[.:-]?\d{{1,3}}){{0,2}}){_MODIFIER}$", _FLAGS)
_DEV_SUFFIX = re.compile(r"(.*?)[.-]?dev$", _FLAGS)
_NUMERIC_BRANCH = re.compile(r"^v?(\d++)(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?$", _FLAGS)
_NON_DIGIT = re.compile(r"\D", re.ASCII)

_DEFAULT_BRANCHES = ("dev-master", "dev-default", "dev-trunk")
_STABILITY_NAMES = {"a": "alpha", "b": "beta", "p": "patch", "pl": "patch", "rc": "RC"}


def _expand_stability(stability: str) -> str:
    stability = stability.lower()
    return _STABILITY_NAMES.get(stability, stability)


def _normalize_branch(name: str) -> str:
    name = name.strip(_PHP_TRIM)
    match = _NUMERIC_BRANCH.match(name)
    if match is None:
        return "dev-" + name
    version = "".join(
        match[i].replace("*", "x").replace("X", "x") if match[i] is not None else ".x" for i in range(1, 5)
    )
    return version.replace("x", "9999999") + "-dev"


def _with_modifiers(version: str, match: re.Match, index: int) -> str:
    stability, number, dev = match[index], match[index + 1], match[index + 2]
    if stability:
        if stability == "stable":
            return version
        version += "-" + _expand_stability(stability) + (number.lstrip(".-") if number else "")
    if dev:
        version += "-dev"
    return version


def normalize(version: str) -> str:
    """``VersionParser::normalize``; ValueError where Composer throws."""
    text = require_str(version).strip(_PHP_TRIM)
    if match := _ALIAS.match(text):
        text = match[1]
    if match := _STABILITY_FLAG.search(text):
        text = text[: match.start()]
    if text in ("master", "trunk", "default"):
        text = "dev-" + text
    if text[:4].lower() == "dev-":
        return "dev-" + text[4:]
    if match := _BUILD_METADATA.match(text):
        text = match[1]
    if match := _CLASSICAL.match(text):
        numbers = match[1] + "".join(match[i] or ".0" for i in (2, 3, 4))
        return _with_modifiers(numbers, match, 5)
    if match := _DATETIME.match(text):
        return _with_modifiers(_NON_DIGIT.sub(".", match[1]), match, 2)
    if match := _DEV_SUFFIX.search(text):
        branch = _normalize_branch(match[1])
        if "dev-" not in branch:
            return branch
    raise ValueError(f"Packagist rejects version {version!r}: Composer reports an invalid version string")


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def sort_form(version: str) -> str:
    """The string Composer's ``Semver::sort`` compares: normalized, default branches mapped."""
    normalized = normalize(version)
    return "9999999-dev" if normalized in _DEFAULT_BRANCHES else normalized


def compare(a: str, b: str) -> int:
    left, right = sort_form(a), sort_form(b)
    return 0 if left == right else version_compare(left, right)


def validate(version: str) -> None:
    sort_form(version)


SCHEME = Scheme(FAMILY, compare, validate, cmp_to_key(compare))
