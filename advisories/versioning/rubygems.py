"""RubyGems versions, ordered as ``Gem::Version#<=>`` orders them.

Source of the rules: rubygems ``lib/rubygems/version.rb`` (RubyGems 3.x): ``VERSION_PATTERN``,
``correct?``, ``initialize``, ``canonical_segments`` and ``<=>``.

A version matches ``[0-9]+(\\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?``, optionally
surrounded by ASCII whitespace; a blank string is version ``0``. Each ``-`` reads as ``.pre.``.
The version splits into segments, runs of digits (numbers) or of letters (strings):
``1.0.b1`` is ``1, 0, "b", 1``. Trailing zeros are dropped from the numeric segments before the
first string, and from the segments after it: ``1.0.a.0 == 1.a``.

Comparing segment by segment, a missing segment counts as 0: numbers numerically, strings by
byte, and a string is lower than a number, so any letter makes a pre-release:
``1.0.a < 1.0 < 1.0.0.1``.
"""

from __future__ import annotations

import re
from functools import cmp_to_key, lru_cache

from .scheme import PARSE_CACHE_SIZE, Scheme, require_str, sign

FAMILY = "rubygems"

# Ruby's \s is ASCII whitespace only; \Z in Python is Ruby's \z.
_VERSION = r"[0-9]+(?>\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
_ANCHORED = re.compile(rf"[ \t\r\n\f\v]*({_VERSION})?[ \t\r\n\f\v]*\Z", re.ASCII)
_SEGMENT = re.compile(r"[0-9]+|[a-z]+", re.ASCII | re.IGNORECASE)
_RUBY_WHITESPACE = " \t\r\n\f\v"


def _drop_trailing_zeros(segments: list) -> list:
    while segments and segments[-1] == 0:
        segments.pop()
    return segments


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def canonical_segments(version: str) -> tuple:
    """``Gem::Version#canonical_segments``; ValueError for a malformed version, as Gem::Version raises."""
    if _ANCHORED.match(require_str(version)) is None:
        raise ValueError(f"RubyGems rejects version {version!r}: Malformed version number string")
    text = version.strip(_RUBY_WHITESPACE).replace("-", ".pre.") or "0"
    segments = [int(part) if part.isdigit() else part for part in _SEGMENT.findall(text)]
    first_string = next((i for i, part in enumerate(segments) if isinstance(part, str)), len(segments))
    numbers, rest = segments[:first_string], segments[first_string:]
    return tuple(_drop_trailing_zeros(numbers) + _drop_trailing_zeros(rest))


def compare(a: str, b: str) -> int:
    left, right = canonical_segments(a), canonical_segments(b)
    if left == right:
        return 0
    for i in range(max(len(left), len(right))):
        lhs = left[i] if i < len(left) else 0
        rhs = right[i] if i < len(right) else 0
        if lhs == rhs:
            continue
        lhs_is_string, rhs_is_string = isinstance(lhs, str), isinstance(rhs, str)
        if lhs_is_string != rhs_is_string:
            return -1 if lhs_is_string else 1
        return sign(lhs, rhs)
    return 0


def validate(version: str) -> None:
    canonical_segments(version)


SCHEME = Scheme(FAMILY, compare, validate, cmp_to_key(compare))
