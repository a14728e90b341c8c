"""RPM versions (Red Hat, AlmaLinux, Rocky Linux, SUSE, openSUSE), ordered exactly as rpm 4.18 orders them.

Source of the rules: rpm 4.18 ``rpmio/rpmvercmp.c`` (``rpmvercmp``) and ``rpmio/rpmver.c``
(``rpmverParse``, ``rpmverCmp``), confirmed against ``rpm.ver`` from Debian's python3-rpm 4.18.

Splitting a full ``[epoch:]version[-release]`` string, as ``rpmverParse`` does:

* The epoch is the run of ASCII digits at the very start, if a colon follows it; ``:1`` has
  epoch 0. Anything else before a colon (``a:1``, ``1.m+e2:1``) is part of the version.
* The release is what follows the LAST hyphen after the epoch; ``1.0-`` has an empty release,
  ``1.0`` has none. Hyphens and colons before it stay in the version.

Comparing two EVRs (``rpmverCmp``): epochs (a missing epoch counts as 0), then versions, then
releases, each with ``rpmvercmp``. A missing release sorts before any release, even an empty
one: ``1.0 < 1.0- < 1.0-0``.

``rpmvercmp``: bytes other than ASCII letters, digits, ``~`` and ``^`` only separate segments
(so ``1.0 == 1_0`` and non-ASCII letters are ignored). Segments are taken in turn: ``~`` sorts
before anything, even the end of the string; ``^`` sorts after the end of the string but before
anything else; a digit run beats a letter run; digit runs compare as whole numbers (leading zeros
ignored, no length limit); letter runs compare by ASCII. When one side runs out of segments first,
it is the lower one.

rpm reads versions as UTF-8 C strings: text after a NUL is ignored, and an empty version, or one
that cannot be encoded as UTF-8, is rejected (``rpm.ver`` raises "invalid version"). Nothing else
is rejected.
"""

from __future__ import annotations

from functools import lru_cache

from .scheme import PARSE_CACHE_SIZE, Scheme, require_str, sign

FAMILY = "rpm"

# Segment kinds in rpmvercmp order. A key is a flat tuple of kinds, each letter or digit kind
# followed by its value; tuples then compare exactly as rpmvercmp walks the segments.
_TILDE, _END, _CARET, _LETTERS, _NUMBER = range(5)

_DIGITS = frozenset(b"0123456789")
_LETTER_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SEGMENT_BYTES = _DIGITS | _LETTER_BYTES | frozenset(b"~^")


def segments_key(text: bytes) -> tuple:
    """Key for one epoch, version or release string: tuple order equals rpmvercmp order."""
    key: list = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] not in _SEGMENT_BYTES:
            i += 1
        if i == n:
            key.append(_END)
            return tuple(key)
        byte = text[i]
        start = i
        if byte == 0x7E:  # '~'
            key.append(_TILDE)
            i += 1
        elif byte == 0x5E:  # '^'
            key.append(_CARET)
            i += 1
        elif byte in _DIGITS:
            while i < n and text[i] in _DIGITS:
                i += 1
            key += (_NUMBER, int(text[start:i]))
        else:
            while i < n and text[i] in _LETTER_BYTES:
                i += 1
            key += (_LETTERS, text[start:i])


def parse(evr: str) -> tuple[bytes | None, bytes, bytes | None]:
    """Split ``evr`` into (epoch, version, release) as rpmverParse does; None where a part is absent."""
    try:
        text = require_str(evr).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"rpm rejects version {evr!r}: it cannot be encoded as UTF-8") from None
    text = text.split(b"\0", 1)[0]  # rpm reads a C string
    if not text:
        raise ValueError(f"rpm rejects version {evr!r}: the version is empty")
    i = 0
    while i < len(text) and text[i] in _DIGITS:
        i += 1
    hyphen = text.rfind(b"-", i)
    end = hyphen if hyphen >= 0 else len(text)
    release = text[hyphen + 1 :] if hyphen >= 0 else None
    if text[i : i + 1] == b":":
        return text[:i] or b"0", text[i + 1 : end], release
    return None, text[:end], release


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def sort_key(evr: str) -> tuple:
    """An orderable key: ``sort_key(a) < sort_key(b)`` exactly when rpm orders ``a`` before ``b``."""
    epoch, version, release = parse(evr)
    # An epoch is all digits, so rpmvercmp on it is numeric; the empty tuple (no release) sorts
    # before every segments key, all of which end with _END.
    return (
        int(epoch) if epoch is not None else 0,
        segments_key(version),
        segments_key(release) if release is not None else (),
    )


def compare(a: str, b: str) -> int:
    return sign(sort_key(a), sort_key(b))


def validate(evr: str) -> None:
    sort_key(evr)


SCHEME = Scheme(FAMILY, compare, validate, sort_key)
