"""NuGet package versions, ordered as NuGet's ``VersionComparer.Default`` orders them.

Source of the rules: NuGet.Client ``NuGet.Versioning`` (``NuGetVersion.TryParse``,
``VersionComparer``) and https://learn.microsoft.com/nuget/concepts/package-versioning.

A version is ``MAJOR[.MINOR[.PATCH[.REVISION]]][-LABEL[.LABEL]...][+METADATA]``: one to four
numbers (each at most 2**31 - 1, missing ones are 0; surrounding whitespace is trimmed, as
``System.Version`` also allows around each number), release labels of ``[0-9A-Za-z-]`` with no
leading zero in an all-digit label, and metadata identifiers of the same characters.

Comparing: major, minor, patch, revision numerically; a version with release labels is lower
than the same version without; labels compare left to right, those that parse as a 32-bit
integer numerically and below the others, the others case-insensitively; fewer equal leading
labels is lower. Metadata is ignored. So ``1.0 == 1.0.0.0`` and ``1.0.0-Beta == 1.0.0-beta``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .scheme import PARSE_CACHE_SIZE, Scheme, require_str, sign

FAMILY = "nuget"

_INT32_MAX = 2**31 - 1
_INT32_MIN = -(2**31)
# String.Trim() removes Unicode white space; int.Parse allows ASCII white space around a number.
_DOTNET_WHITESPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"  # noqa: E501
_NUMBER_PART = re.compile(r"[\t\n\v\f\r ]*([0-9]+)[\t\n\v\f\r ]*", re.ASCII)
_IDENTIFIER = re.compile(r"[0-9A-Za-z-]+", re.ASCII)
_INTEGER_LABEL = re.compile(r"-?[0-9]+", re.ASCII)
_SECTION_DELIMITER = re.compile(r"[-+]")

RELEASE = (1,)


def _invalid(version: str, reason: str) -> ValueError:
    return ValueError(f"NuGet rejects version {version!r}: {reason}")


def _split(text: str) -> tuple[str, str | None, str | None]:
    """(numbers, labels, metadata) as NuGet's ParseSections splits them: at the first '-' or '+'."""
    match = _SECTION_DELIMITER.search(text)
    if match is None:
        return text, None, None
    numbers, rest = text[: match.start()], text[match.end() :]
    if match[0] == "+":
        return numbers, None, rest
    labels, plus, metadata = rest.partition("+")
    return numbers, labels, metadata if plus else None


def _label_key(label: str) -> tuple:
    # CompareRelease: Int32.TryParse decides what is numeric; OrdinalIgnoreCase for the rest.
    if _INTEGER_LABEL.fullmatch(label) and _INT32_MIN <= int(label) <= _INT32_MAX:
        return (0, int(label))
    return (1, label.upper())


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def sort_key(version: str) -> tuple:
    """Precedence key for a NuGet version."""
    text = require_str(version).strip(_DOTNET_WHITESPACE)
    numbers_text, labels_text, metadata = _split(text)
    if not numbers_text:
        raise _invalid(version, "it has no version number")
    parts = numbers_text.split(".")
    if len(parts) > 4:
        raise _invalid(version, "it has more than four numbers")
    numbers = []
    for part in parts:
        match = _NUMBER_PART.fullmatch(part)
        if match is None or int(match[1]) > _INT32_MAX:
            raise _invalid(version, f"{part!r} is not a number from 0 to {_INT32_MAX}")
        numbers.append(int(match[1]))
    numbers += [0] * (4 - len(numbers))
    if metadata is not None and not all(_IDENTIFIER.fullmatch(part) for part in metadata.split(".")):
        raise _invalid(version, "the metadata after '+' is not dot-separated [0-9A-Za-z-] identifiers")
    if labels_text is None:
        return (*numbers, RELEASE)
    labels = labels_text.split(".")
    for label in labels:
        if not _IDENTIFIER.fullmatch(label):
            raise _invalid(version, f"release label {label!r} is not made of [0-9A-Za-z-]")
        if len(label) > 1 and label.isdigit() and label.startswith("0"):
            raise _invalid(version, f"numeric release label {label!r} has a leading zero")
    return (*numbers, (0, *(_label_key(label) for label in labels)))


def compare(a: str, b: str) -> int:
    return sign(sort_key(a), sort_key(b))


def validate(version: str) -> None:
    sort_key(version)


SCHEME = Scheme(FAMILY, compare, validate, sort_key)
