"""Maven versions, ordered as Maven 3.9's ``ComparableVersion`` orders them.

Source of the rules: ``org.apache.maven.artifact.versioning.ComparableVersion`` (apache/maven,
maven-artifact, commit 1a3de98e) and the "Version Order Specification" of the POM reference
(https://maven.apache.org/pom.html#version-order-specification).

Parsing (case-insensitive): ``.`` and ``-`` separate items, and so does a switch between digits
and letters; an empty item is 0. A ``-``, and a switch from digits to letters or from letters to
digits, opens a nested list. Letters followed by a digit start a new list even after a ``.``
(``1.0.RC2 < 1.0-RC3 < 1.0.1``). Single letters followed by digits are aliases: ``a1`` = alpha-1,
``b1`` = beta-1, ``m1`` = milestone-1; ``cr`` = ``rc``, and ``ga``, ``final`` and ``release`` are
the empty qualifier. Trailing "null" items (0, the empty qualifier, empty lists) are dropped from
every list, so ``1 == 1.0 == 1-0 == 1.0.0-ga``.

Comparing item by item, a missing item compared as described by ``compareTo(null)``: numbers by
value; qualifiers ``alpha < beta < milestone < rc < snapshot < "" < sp``, then any other
qualifier, case-insensitively by UTF-16 code unit; a number beats a list, which beats a
qualifier. Maven accepts every string, so nothing is rejected (the empty string equals ``0``).
"""

from __future__ import annotations

from functools import cmp_to_key, lru_cache

from .scheme import PARSE_CACHE_SIZE, Scheme, require_str, sign

FAMILY = "maven"

_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_SHORT_ALIASES = {"a": "alpha", "b": "beta", "m": "milestone"}


def _comparable(text: str) -> bytes:
    # Java compares strings by UTF-16 code unit; big-endian UTF-16 bytes compare the same way.
    return text.encode("utf-16-be", "surrogatepass")


_RELEASE = _comparable(str(_QUALIFIERS.index("")))


class Qualifier:
    """A string item, holding ComparableVersion's ``comparableQualifier`` of its value."""

    __slots__ = ("rank", "value")

    def __init__(self, text: str, followed_by_digit: bool):
        if followed_by_digit:
            text = _SHORT_ALIASES.get(text, text)
        self.value = _ALIASES.get(text, text)
        if self.value in _QUALIFIERS:
            self.rank = _comparable(str(_QUALIFIERS.index(self.value)))
        else:
            self.rank = _comparable(f"{len(_QUALIFIERS)}-{self.value}")

    def __repr__(self) -> str:
        return f"Qualifier({self.value!r})"


# An item is an int, a Qualifier or a tuple of items (a list).


def _is_null(item) -> bool:
    if isinstance(item, int):
        return item == 0
    if isinstance(item, Qualifier):
        return item.value == ""
    return not item


def _normalize(items: list) -> tuple:
    """Drop trailing null items, looking through nested lists (ListItem.normalize)."""
    for i in range(len(items) - 1, -1, -1):
        if _is_null(items[i]):
            del items[i]
        elif not isinstance(items[i], tuple):
            break
    return tuple(items)


def _is_java_digit(char: str) -> bool:
    # Character.isDigit(char): Unicode decimal digits within one UTF-16 code unit.
    return char.isdecimal() and char <= "\uffff"


def _parse_item(is_digit: bool, text: str):
    return int(text) if is_digit else Qualifier(text, followed_by_digit=False)


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse(version: str) -> tuple:
    """The item list of ``version`` (ComparableVersion.parseVersion), with nested lists as tuples."""
    text = require_str(version).lower()
    root: list = []
    current = root

    def open_list() -> list:
        nested: list = []
        current.append(nested)
        return nested

    is_digit = False
    start = 0
    for i, char in enumerate(text):
        if char == "." or char == "-":
            current.append(0 if i == start else _parse_item(is_digit, text[start:i]))
            start = i + 1
            if char == "-":
                current = open_list()
        elif _is_java_digit(char):
            if not is_digit and i > start:
                if current:  # ".X1" is read as "-X1"
                    current = open_list()
                current.append(Qualifier(text[start:i], followed_by_digit=True))
                start = i
                current = open_list()
            is_digit = True
        else:
            if is_digit and i > start:
                current.append(_parse_item(True, text[start:i]))
                start = i
                current = open_list()
            is_digit = False
    if len(text) > start:
        if not is_digit and current:  # ".X" is read as "-X"
            current = open_list()
        current.append(_parse_item(is_digit, text[start:]))
    return _freeze(root)


def _freeze(items: list) -> tuple:
    # Innermost lists first, as ComparableVersion normalizes its stack of lists from the top.
    return _normalize([_freeze(item) if isinstance(item, list) else item for item in items])


def _compare_to_missing(item) -> int:
    """``item.compareTo(null)``: how an item compares with padding."""
    if isinstance(item, int):
        return 0 if item == 0 else 1
    if isinstance(item, Qualifier):
        return sign(item.rank, _RELEASE)
    for element in item:
        result = _compare_to_missing(element)
        if result:
            return result
    return 0


def _compare_items(left, right) -> int:
    if isinstance(left, int):
        if isinstance(right, int):
            return sign(left, right)
        return 1  # 1.1 > 1-sp, 1.1 > 1-1
    if isinstance(left, Qualifier):
        if isinstance(right, Qualifier):
            return sign(left.rank, right.rank)
        return -1  # 1.any < 1.1, 1.any < 1-1
    if isinstance(right, int):
        return -1  # 1-1 < 1.0.x
    if isinstance(right, Qualifier):
        return 1  # 1-1 > 1-sp
    return _compare_lists(left, right)


def _compare_lists(left: tuple, right: tuple) -> int:
    for i in range(max(len(left), len(right))):
        if i >= len(left):
            result = -_compare_to_missing(right[i])
        elif i >= len(right):
            result = _compare_to_missing(left[i])
        else:
            result = _compare_items(left[i], right[i])
        if result:
            return result
    return 0


def compare(a: str, b: str) -> int:
    return _compare_lists(parse(a), parse(b))


def validate(version: str) -> None:
    parse(version)


SCHEME = Scheme(FAMILY, compare, validate, cmp_to_key(compare))
