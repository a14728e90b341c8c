"""Python package versions (PyPI), ordered by PEP 440.

Source of the rules: PEP 440 (https://peps.python.org/pep-0440/) as implemented by
``packaging.version.Version``, the parser pip uses. Leading ``v``, surrounding whitespace,
case and alternative spellings (``1.0-alpha1``, ``1.0.post-1``) are normalised; epochs, local
versions (``+ubuntu1``), pre, post and dev releases order as the PEP specifies. Strings PEP 440
does not describe (the old "legacy" versions) are rejected.
"""

from __future__ import annotations

from functools import lru_cache

from packaging.version import InvalidVersion, Version

from .scheme import PARSE_CACHE_SIZE, Scheme, require_str, sign

FAMILY = "pep440"


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def sort_key(version: str) -> Version:
    """The parsed version; ``Version`` objects order as PEP 440 says."""
    try:
        return Version(require_str(version))
    except InvalidVersion as error:
        raise ValueError(f"PyPI rejects version {version!r}: {error}") from None


def compare(a: str, b: str) -> int:
    return sign(sort_key(a), sort_key(b))


def validate(version: str) -> None:
    sort_key(version)


SCHEME = Scheme(FAMILY, compare, validate, sort_key)
