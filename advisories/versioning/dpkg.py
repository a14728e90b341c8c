"""Debian and Ubuntu package versions, ordered exactly as ``dpkg --compare-versions`` orders them.

Source of the rules: dpkg 1.21 ``lib/dpkg/parsehelp.c`` (``parseversion``) and ``lib/dpkg/version.c``
(``verrevcmp``), confirmed by running ``dpkg --compare-versions`` (dpkg 1.21.22) on Debian 12.

Parsing ``[epoch:]upstream[-revision]``:

* Leading and trailing blanks (space, tab) are ignored; a blank inside the version is an error.
* The epoch is what comes before the FIRST colon, read as C ``strtol`` reads it: other leading
  whitespace (newline, CR, VT, FF) and one ``+`` are accepted, ``-0`` is 0. It must be a number
  (``a:1`` "epoch is empty", ``1a:1`` "not number"), not negative and at most ``INT_MAX``.
* The revision is what follows the LAST hyphen; colons and hyphens inside the upstream version
  are fine. No revision compares like an empty revision, which compares like ``0``.
* Errors (the version is rejected): empty or blank-only string, embedded blank, bad epoch,
  nothing after the colon, empty revision after a trailing hyphen, empty upstream version.
* Only warnings (the version is compared as written): an upstream version not starting with a
  digit, characters outside ``[A-Za-z0-9.+~:-]`` in the upstream version or outside
  ``[A-Za-z0-9.+~]`` in the revision.

Comparing: epochs numerically, then upstream, then revision, each with ``verrevcmp``: alternate
non-digit runs, compared character by character with ``~`` before the end of the run, the end
before letters, letters (by ASCII) before everything else, then digit runs compared as whole
numbers (no length limit). Bytes above 0x7F sort after letters but before ASCII punctuation
because dpkg weighs a signed ``char``; versions are compared as their UTF-8 bytes, as dpkg
receives them from the command line.

``dpkg --compare-versions`` treats the argument ``<unknown>`` (and an empty argument) as "no
version", lower than every version; ``<unknown>`` is accepted here with that meaning, while an
empty string is rejected, as dpkg's version parser rejects it.
"""

from __future__ import annotations

from functools import lru_cache

from .scheme import PARSE_CACHE_SIZE, Scheme, require_str, sign

FAMILY = "dpkg"

NO_VERSION = "<unknown>"

_INT_MAX = 2**31 - 1
_BLANKS = b" \t"
_C_SPACE = b" \t\n\v\f\r"
_DIGITS = frozenset(b"0123456789")


def _weigh(byte: int) -> int:
    # dpkg's order(), doubled so that -1 is free for the end-of-part marker below.
    if 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A:
        return 2 * byte
    if byte == 0x7E:  # '~'
        return -2
    if byte >= 0x80:
        return 2 * byte  # a negative signed char plus 256
    return 2 * (byte + 256)


_WEIGHT = tuple(_weigh(byte) for byte in range(256))

# Appended to every part key. Compared with the other part's next run it behaves as dpkg's "end of
# string": after a run starting with '~' (-2), before an empty run (0) and before any other run.
_END = ((-1, 0),)
# Stands in for a leading run of zeros followed by a run starting with '~' ("0~", "00~1"): that
# sorts below the end of string, which an ordinary (empty run, 0) segment would not.
_ZERO_BEFORE_TILDE = ((-1, -1), 0)
_EMPTY_PART = (_END,)
# Lower than every key (epoch >= 0), equal to itself.
_NO_VERSION_KEY = (-1,)


def _part_key(part: bytes) -> tuple:
    """Key for an upstream version or revision: tuple order equals verrevcmp order."""
    segments = []
    i, n = 0, len(part)
    while i < n:
        start = i
        while i < n and part[i] not in _DIGITS:
            i += 1
        run = (*(_WEIGHT[byte] for byte in part[start:i]), 0)
        start = i
        while i < n and part[i] in _DIGITS:
            i += 1
        segments.append((run, int(part[start:i]) if i > start else 0))
    if not segments or segments == [((0,), 0)]:
        return _EMPTY_PART  # "", "0", "00": equal to the end of string
    if segments[0] == ((0,), 0) and segments[1][0][0] == -2:
        segments[0] = _ZERO_BEFORE_TILDE
    segments.append(_END)
    return tuple(segments)


def _to_bytes(version: str) -> bytes:
    try:
        raw = require_str(version).encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as error:
        raise ValueError(f"version {version!r} cannot be encoded for dpkg: {error.reason}") from None
    if b"\0" in raw:
        raise ValueError(f"version {version!r} contains a NUL byte, which dpkg cannot receive")
    return raw


def _read_epoch(text: bytes, colon: int, version: str) -> int:
    """The epoch as C strtol() reads ``text`` up to ``colon``, with dpkg's checks."""
    i = 0
    while i < colon and text[i] in _C_SPACE:
        i += 1
    negative = i < colon and text[i] == 0x2D
    if i < colon and text[i] in b"+-":
        i += 1
    digits_start = i
    while i < len(text) and text[i] in _DIGITS:
        i += 1
    if i == digits_start:
        raise ValueError(f"dpkg rejects version {version!r}: epoch in version is empty")
    if i != colon:
        raise ValueError(f"dpkg rejects version {version!r}: epoch in version is not number")
    epoch = int(text[digits_start:i])
    if negative and epoch:
        raise ValueError(f"dpkg rejects version {version!r}: epoch in version is negative")
    if epoch > _INT_MAX:
        raise ValueError(f"dpkg rejects version {version!r}: epoch in version is too big")
    return epoch


def parse(version: str) -> tuple[int, bytes, bytes]:
    """Split ``version`` into (epoch, upstream, revision) as dpkg does; ValueError where dpkg errors."""
    text = _to_bytes(version).strip(_BLANKS)
    if not text:
        raise ValueError(f"dpkg rejects version {version!r}: version string is empty")
    if b" " in text or b"\t" in text:
        raise ValueError(f"dpkg rejects version {version!r}: version string has embedded spaces")
    colon = text.find(b":")
    if colon >= 0:
        epoch = _read_epoch(text, colon, version)
        text = text[colon + 1 :]
        if not text:
            raise ValueError(f"dpkg rejects version {version!r}: nothing after colon in version number")
    else:
        epoch = 0
    upstream, hyphen, revision = text.rpartition(b"-")
    if not hyphen:
        upstream, revision = text, b""
    elif not revision:
        raise ValueError(f"dpkg rejects version {version!r}: revision number is empty")
    if not upstream:
        raise ValueError(f"dpkg rejects version {version!r}: version number is empty")
    return epoch, upstream, revision


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def sort_key(version: str) -> tuple:
    """An orderable key: ``sort_key(a) < sort_key(b)`` exactly when dpkg orders ``a`` before ``b``."""
    if version == NO_VERSION:
        return _NO_VERSION_KEY
    epoch, upstream, revision = parse(version)
    return epoch, _part_key(upstream), _part_key(revision)


def compare(a: str, b: str) -> int:
    return sign(sort_key(a), sort_key(b))


def validate(version: str) -> None:
    sort_key(version)


SCHEME = Scheme(FAMILY, compare, validate, sort_key)
