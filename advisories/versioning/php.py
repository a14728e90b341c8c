"""PHP's ``version_compare()``, on which Composer's version ordering rests.

Source of the rules: php-src ``ext/standard/versioning.c`` (``php_canonicalize_version``,
``compare_special_version_forms``, ``php_version_compare``), PHP 8.

The version is first canonicalised: ``-``, ``_`` and ``+`` become ``.``, a ``.`` is inserted
wherever digits and non-digits meet, and any other non-alphanumeric character becomes ``.``.
The dot-separated parts are then compared in turn: two numbers numerically (as C ``long``, so
values beyond 2**63 - 1 are equal), two words by their "special form", found by prefix:
``dev`` < ``alpha`` = ``a`` < ``beta`` = ``b`` < ``RC`` = ``rc`` < ``#`` < ``pl`` = ``p``, with any
other word below ``dev``; a number against a word as ``#`` against that word. When one version
runs out, its remaining parts are compared with ``#``: a number makes the longer version greater,
so ``1.0 < 1.0.0``, while ``1.0 > 1.0rc1``.
"""

from __future__ import annotations

from .scheme import sign

_LONG_MAX = 2**63 - 1
_SPECIAL_FORMS = (
    ("dev", 0),
    ("alpha", 1),
    ("a", 1),
    ("beta", 2),
    ("b", 2),
    ("RC", 3),
    ("rc", 3),
    ("#", 4),
    ("pl", 5),
    ("p", 5),
)
_NUMBER_FORM = "#N#"
_ASCII_DIGITS = frozenset("0123456789")
_ASCII_ALNUM = _ASCII_DIGITS | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _is_digit(char: str) -> bool:
    return char in _ASCII_DIGITS


def _is_non_digit(char: str) -> bool:
    return char not in _ASCII_DIGITS and char != "."


def canonicalize(version: str) -> str:
    """php_canonicalize_version: the first character is kept as it is."""
    if not version:
        return ""
    out = [version[0]]
    previous = version[0]
    for char in version[1:]:
        if char in "-_+":
            if out[-1] != ".":
                out.append(".")
        elif (_is_non_digit(previous) and _is_digit(char)) or (_is_digit(previous) and _is_non_digit(char)):
            if out[-1] != ".":
                out.append(".")
            out.append(char)
        elif char not in _ASCII_ALNUM:
            if out[-1] != ".":
                out.append(".")
        else:
            out.append(char)
        previous = char
    return "".join(out)


def _special_form(part: str) -> int:
    for prefix, order in _SPECIAL_FORMS:
        if part.startswith(prefix):
            return order
    return -1


def _compare_forms(a: str, b: str) -> int:
    return sign(_special_form(a), _special_form(b))


def _strtol(part: str) -> int:
    end = 0
    while end < len(part) and part[end] in _ASCII_DIGITS:
        end += 1
    return min(int(part[:end]), _LONG_MAX)


def _compare_parts(a: str, b: str) -> int:
    # C looks at the first character only; an empty part is a word.
    a_numeric, b_numeric = a[:1] in _ASCII_DIGITS, b[:1] in _ASCII_DIGITS
    if a_numeric and b_numeric:
        return sign(_strtol(a), _strtol(b))
    if not a_numeric and not b_numeric:
        return _compare_forms(a, b)
    return _compare_forms(_NUMBER_FORM, b) if a_numeric else _compare_forms(a, _NUMBER_FORM)


def _has_rest(parts: list[str], index: int) -> bool:
    """Whether the string from ``parts[index]`` on is non-empty (C's ``*p``)."""
    return not (index == len(parts) - 1 and parts[index] == "")


def version_compare(a: str, b: str) -> int:
    """``version_compare($a, $b)``: -1, 0 or 1. Only ASCII counts as digits or letters, as in PHP."""
    if not a or not b:
        return sign(bool(a), bool(b))
    left = (a if a.startswith("#") else canonicalize(a)).split(".")
    right = (b if b.startswith("#") else canonicalize(b)).split(".")
    i = 0
    while True:
        result = _compare_parts(left[i], right[i])
        if result:
            return result
        left_more, right_more = i < len(left) - 1, i < len(right) - 1
        if not (left_more and right_more and _has_rest(left, i + 1) and _has_rest(right, i + 1)):
            break
        i += 1
    # What is left of the longer side decides, against a number placeholder.
    if left_more:
        rest = ".".join(left[i + 1 :])
        return 1 if rest[:1] in _ASCII_DIGITS else version_compare(rest, _NUMBER_FORM)
    if right_more:
        rest = ".".join(right[i + 1 :])
        return -1 if rest[:1] in _ASCII_DIGITS else version_compare(_NUMBER_FORM, rest)
    return 0
