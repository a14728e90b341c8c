"""Alpine package versions, ordered and validated as apk-tools does.

Source of the rules: apk-tools ``src/version.c`` in its current form (``token_first``,
``token_next``, ``token_cmp``, ``apk_version_compare``, ``apk_version_validate``; the form that
accepts ``~hash``) and its ``test/unit/version.data``. There is no apk binary to check against here.

A version is ``digits{.digits}...{letter}{_suffix{digits}}...{~hash}{-rN}``:

* it starts with a number, followed by further ``.number`` parts, then at most one lowercase
  letter;
* then any number of suffixes, each optionally numbered: ``_alpha``, ``_beta``, ``_pre``, ``_rc``
  (before the release) and ``_cvs``, ``_svn``, ``_git``, ``_hg``, ``_p`` (after it);
* then optionally ``~`` and a lowercase hex commit hash, then optionally ``-r`` and the package
  revision number.

Anything else (``1.0bc``, ``0.1a1``, ``1_foo``, ``1-1``, ``v1``) is rejected, as
``apk_version_validate`` rejects it; apk itself would still order such strings.

Comparing walks both token lists while the token kinds match: numbers compare numerically,
except a non-initial ``.number`` part with a leading zero on either side, which compares as a
string (``8.2.0 < 8.2.001``); letters by ASCII; suffixes by the order above; hashes as strings.
At the first differing kind, a pre-release suffix loses; otherwise the side whose token kind
comes later in the grammar (the end of the version being last) is the lower one: so
``1.0_alpha < 1.0 < 1.0a < 1.0.1`` and ``1.0 < 1.0_p1 < 1.0-r1``. Numbers are compared exactly;
apk-tools reads them into a fixed-width integer, so digit runs beyond 2**32 are outside what
apk itself orders consistently.
"""

from __future__ import annotations

from functools import lru_cache

from .scheme import PARSE_CACHE_SIZE, Scheme, require_str, sign

FAMILY = "apk"

# Token kinds in grammar order (apk-tools' enum PARTS).
_INITIAL_DIGIT, _DIGIT, _LETTER, _SUFFIX, _SUFFIX_NO, _COMMIT_HASH, _REVISION_NO, _END = range(8)

_SUFFIXES = {"alpha": 1, "beta": 2, "pre": 3, "rc": 4, "cvs": 6, "svn": 7, "git": 8, "hg": 9, "p": 10}
_NO_SUFFIX = 5
# Ranks for the key: when kinds differ, a later kind is the lower version, and a pre-release
# suffix is lower than anything.
_PRE_RELEASE_RANK = -100
_LOWER_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
_HEX_DIGITS = frozenset("0123456789abcdef")
_DIGIT_CHARS = frozenset("0123456789")


def _span(text: str, start: int, allowed: frozenset[str]) -> int:
    end = start
    while end < len(text) and text[end] in allowed:
        end += 1
    return end


def _invalid(version: str, reason: str) -> ValueError:
    return ValueError(f"apk rejects version {version!r}: {reason}")


def tokens(version: str) -> list[tuple[int, object]]:
    """(kind, value) tokens of ``version``; ValueError where apk_version_validate fails."""
    text = require_str(version)
    end = _span(text, 0, _DIGIT_CHARS)
    if end == 0:
        raise _invalid(version, "it must start with a digit")
    found: list[tuple[int, object]] = [(_INITIAL_DIGIT, text[:end])]
    kind, i = _INITIAL_DIGIT, end
    while i < len(text):
        char = text[i]
        if char in _LOWER_LETTERS:
            if kind > _DIGIT:
                raise _invalid(version, f"letter {char!r} at position {i} may only follow a number")
            kind, value, i = _LETTER, char, i + 1
        elif char == "." or char in _DIGIT_CHARS:
            if char == ".":
                if kind > _DIGIT:
                    raise _invalid(version, f"'.' at position {i} may only follow a number")
                i += 1
            if kind in (_INITIAL_DIGIT, _DIGIT):
                kind = _DIGIT
            elif kind == _SUFFIX:
                kind = _SUFFIX_NO
            else:
                raise _invalid(version, f"unexpected digit at position {i}")
            end = _span(text, i, _DIGIT_CHARS)
            if end == i:
                raise _invalid(version, f"a number is missing at position {i}")
            value, i = text[i:end], end
        elif char == "_":
            if kind > _SUFFIX_NO:
                raise _invalid(version, f"suffix at position {i} comes too late")
            end = _span(text, i + 1, _LOWER_LETTERS)
            name = text[i + 1 : end]
            if name not in _SUFFIXES:
                raise _invalid(version, f"unknown suffix {'_' + name!r}")
            kind, value, i = _SUFFIX, name, end
        elif char == "~":
            if kind >= _COMMIT_HASH:
                raise _invalid(version, f"'~' at position {i} comes too late")
            end = _span(text, i + 1, _HEX_DIGITS)
            if end == i + 1:
                raise _invalid(version, "'~' must be followed by a lowercase hex commit hash")
            kind, value, i = _COMMIT_HASH, text[i + 1 : end], end
        elif char == "-":
            if kind >= _REVISION_NO or not text.startswith("-r", i):
                raise _invalid(version, f"'-' at position {i} must start the one '-rN' package revision")
            end = _span(text, i + 2, _DIGIT_CHARS)
            if end == i + 2:
                raise _invalid(version, "'-r' must be followed by the revision number")
            kind, value, i = _REVISION_NO, text[i + 2 : end], end
        else:
            raise _invalid(version, f"unexpected character {char!r} at position {i}")
        found.append((kind, value))
    return found


def _token_key(kind: int, value: object) -> tuple:
    if kind == _DIGIT:
        digits = str(value)
        # apk compares these as strings when either side has a leading zero; every such string
        # also sorts below every number without one, so the flag keeps the order total.
        return (-kind, 0, digits) if digits.startswith("0") else (-kind, 1, int(digits))
    if kind in (_INITIAL_DIGIT, _SUFFIX_NO, _REVISION_NO):
        return (-kind, int(str(value)))
    if kind == _SUFFIX:
        order = _SUFFIXES[str(value)]
        return (_PRE_RELEASE_RANK if order < _NO_SUFFIX else -kind, order)
    return (-kind, value)


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def sort_key(version: str) -> tuple:
    """An orderable key: ``sort_key(a) < sort_key(b)`` exactly when apk orders ``a`` before ``b``."""
    key: list = []
    for kind, value in tokens(version):
        key += _token_key(kind, value)
    key.append(-_END)
    return tuple(key)


def compare(a: str, b: str) -> int:
    return sign(sort_key(a), sort_key(b))


def validate(version: str) -> None:
    sort_key(version)


SCHEME = Scheme(FAMILY, compare, validate, sort_key)
