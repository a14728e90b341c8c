"""Which version scheme each OSV ecosystem uses.

An OSV ecosystem name may carry a suffix after the first colon (a release, product or registry:
``Debian:12``, ``Ubuntu:Pro:22.04:LTS``, ``Red Hat:enterprise_linux:9::appstream``,
``SUSE:Linux Enterprise Server 15 SP5``, ``Alpine:v3.20``); the scheme depends only on the name
before it, matched without regard to case. See https://ossf.github.io/osv-schema/#affectedpackage-field.
"""

from __future__ import annotations

from functools import lru_cache

from . import apk, composer, dpkg, golang, maven, nuget, pep440, rpm, rubygems, semver
from .scheme import Scheme, require_str

SCHEMES: dict[str, Scheme] = {
    "debian": dpkg.SCHEME,
    "ubuntu": dpkg.SCHEME,
    "red hat": rpm.SCHEME,
    "almalinux": rpm.SCHEME,
    "rocky linux": rpm.SCHEME,
    "suse": rpm.SCHEME,
    "opensuse": rpm.SCHEME,
    "alpine": apk.SCHEME,
    "npm": semver.NPM,
    "crates.io": semver.CARGO,
    "go": golang.SCHEME,
    "pypi": pep440.SCHEME,
    "maven": maven.SCHEME,
    "packagist": composer.SCHEME,
    "rubygems": rubygems.SCHEME,
    "nuget": nuget.SCHEME,
}


@lru_cache(maxsize=256)
def scheme_for(ecosystem: str) -> Scheme:
    """The scheme for an OSV ecosystem name; ValueError for an ecosystem not listed above."""
    name = require_str(ecosystem).split(":", 1)[0]
    try:
        return SCHEMES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown ecosystem {ecosystem!r}: no version scheme is known for {name!r}") from None
