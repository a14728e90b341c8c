"""The interface every version scheme module provides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

# Parsed-version caches are per scheme and bounded: matching touches many versions, but far
# fewer distinct ones than comparisons.
PARSE_CACHE_SIZE = 1 << 16


class Scheme(NamedTuple):
    """How one family of ecosystems orders versions.

    ``sort_key`` maps a version to an orderable value whose order is exactly ``compare``'s;
    schemes without a natural key use ``functools.cmp_to_key(compare)``.
    """

    family: str
    compare: Callable[[str, str], int]
    validate: Callable[[str], None]
    sort_key: Callable[[str], Any]


def sign(a: Any, b: Any) -> int:
    """-1, 0 or 1 as ``a`` is less than, equal to or greater than ``b``."""
    return (a > b) - (a < b)


def require_str(version: object) -> str:
    if not isinstance(version, str):
        raise TypeError(f"a version must be a str, not {type(version).__name__}")
    return version
