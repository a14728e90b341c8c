"""Compare package versions the way each ecosystem's own package manager does.

    >>> compare("Debian:12", "1:2.0-1", "2.5-1")
    1
    >>> sorted(["1.0.0", "1.0.0-rc.1", "0.9.9"], key=sort_key("npm"))
    ['0.9.9', '1.0.0-rc.1', '1.0.0']

Ecosystems are OSV ecosystem names, with or without a suffix after a colon (``Debian:12``,
``Ubuntu:Pro:22.04:LTS``, ``Red Hat:9``, ``Alpine:v3.20``). Each scheme's rules and their sources
are documented in its module under :mod:`advisories.versioning`:

* Debian, Ubuntu: ``dpkg`` (``versioning.dpkg``)
* Red Hat, AlmaLinux, Rocky Linux, SUSE, openSUSE: ``rpm`` (``versioning.rpm``)
* Alpine: ``apk`` (``versioning.apk``)
* npm, crates.io: ``semver`` (``versioning.semver``)
* Go: ``go`` (``versioning.golang``)
* PyPI: ``pep440`` (``versioning.pep440``)
* Maven: ``maven`` (``versioning.maven``)
* Packagist: ``packagist`` (``versioning.composer`` and ``versioning.php``)
* RubyGems: ``rubygems`` (``versioning.rubygems``)
* NuGet: ``nuget`` (``versioning.nuget``)

An unknown ecosystem raises ValueError, and so does a version the ecosystem's tool rejects (the
message says why). Parsed versions are cached per scheme, so repeated comparisons are cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .versioning.ecosystems import scheme_for

__all__ = ["compare", "family", "sort_key", "validate"]


def compare(ecosystem: str, a: str, b: str) -> int:
    """Negative, zero or positive as version ``a`` sorts before, with or after ``b`` in ``ecosystem``."""
    return scheme_for(ecosystem).compare(a, b)


def sort_key(ecosystem: str) -> Callable[[str], Any]:
    """A key function for ``sorted``/``min``/``max`` that orders versions as :func:`compare` does."""
    return scheme_for(ecosystem).sort_key


def validate(ecosystem: str, version: str) -> None:
    """Raise ValueError, saying why, if the ecosystem's tool rejects ``version``."""
    scheme_for(ecosystem).validate(version)


def family(ecosystem: str) -> str:
    """The version scheme ``ecosystem`` uses: dpkg, rpm, apk, semver, pep440, maven, packagist,
    rubygems, nuget or go."""
    return scheme_for(ecosystem).family
