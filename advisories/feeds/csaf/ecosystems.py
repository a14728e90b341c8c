"""Which OSV ecosystem, package name and version a package URL names.

Reads the purl's type, namespace, name, version and the `distro` (deb, rpm), `epoch` (rpm)
and `repository_id` (Red Hat) qualifiers:

* ``pkg:deb/debian/NAME@V?distro=debian-12`` or ``distro=bookworm`` -> ``Debian:12``
* ``pkg:deb/ubuntu/NAME@V?distro=jammy`` -> ``Ubuntu:22.04:LTS``; Ubuntu Pro's ESM pockets
  (``distro=esm-infra/focal``, ``esm-apps/…``, ``esm-infra-legacy/…``) -> ``Ubuntu:Pro:20.04:LTS``
* ``pkg:rpm/redhat/NAME@V-R?distro=rhel-9…`` (or ``repository_id=rhel-9-…``) -> ``Red Hat:9``,
  version ``EPOCH:V-R`` (the ``epoch`` qualifier, ``0`` when absent, as rpm itself says it);
  source RPMs (``arch=src``) are not matched: Red Hat's matching unit is the binary RPM
* language ecosystems: pypi, npm, maven, golang, cargo, gem, nuget, composer, with OSV's
  package naming (``@scope/name``, ``group:artifact``, module path, ``vendor/name``).

Anything else (no release qualifier, another distribution, an OCI image, a generic purl)
has no ecosystem: the statement is kept and shown, never matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from advisories.feeds.csaf.purl import PackageUrl, PurlError, parse_purl

__all__ = ["PackageKey", "package_key", "rpm_evr"]

DEBIAN_CODENAMES = {
    "wheezy": "7",
    "jessie": "8",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
}
# Ubuntu 14.04 .. 26.04; OSV marks the long-term support releases with ":LTS".
UBUNTU_CODENAMES = {
    "trusty": "14.04",
    "utopic": "14.10",
    "vivid": "15.04",
    "wily": "15.10",
    "xenial": "16.04",
    "yakkety": "16.10",
    "zesty": "17.04",
    "artful": "17.10",
    "bionic": "18.04",
    "cosmic": "18.10",
    "disco": "19.04",
    "eoan": "19.10",
    "focal": "20.04",
    "groovy": "20.10",
    "hirsute": "21.04",
    "impish": "21.10",
    "jammy": "22.04",
    "kinetic": "22.10",
    "lunar": "23.04",
    "mantic": "23.10",
    "noble": "24.04",
    "oracular": "24.10",
    "plucky": "25.04",
    "questing": "25.10",
    "resolute": "26.04",
}
UBUNTU_LTS = {"14.04", "16.04", "18.04", "20.04", "22.04", "24.04", "26.04"}
# Ubuntu Pro's Expanded Security Maintenance pockets: OSV files their fixes under "Ubuntu:Pro:…".
UBUNTU_PRO_POCKETS = {"esm-infra", "esm-apps", "esm-infra-legacy", "esm-apps-legacy"}

LANGUAGE_ECOSYSTEMS = {
    "pypi": "PyPI",
    "npm": "npm",
    "maven": "Maven",
    "golang": "Go",
    "cargo": "crates.io",
    "gem": "RubyGems",
    "nuget": "NuGet",
    "composer": "Packagist",
}
# OSV joins namespace and name with these.
_NAME_JOIN = {"maven": ":", "npm": "/", "golang": "/", "composer": "/"}


@dataclass(frozen=True)
class PackageKey:
    ecosystem: str
    name: str
    version: str


def _debian(distro: str) -> str:
    match = re.fullmatch(r"(?:debian-)?(\d+)(?:\.\d+)*", distro)
    major = match.group(1) if match else DEBIAN_CODENAMES.get(distro.removeprefix("debian-"))
    return f"Debian:{major}" if major else ""


def _ubuntu(distro: str) -> str:
    pocket, _, codename = distro.rpartition("/")
    if pocket and pocket not in UBUNTU_PRO_POCKETS:
        return ""  # fips, fips-updates, realtime…: streams OSV names differently; not mapped
    match = re.fullmatch(r"(?:ubuntu-)?(\d\d\.\d\d)", codename)
    release = match.group(1) if match else UBUNTU_CODENAMES.get(codename)
    if not release:
        return ""
    suffix = ":LTS" if release in UBUNTU_LTS else ""
    if pocket:
        return f"Ubuntu:Pro:{release}{suffix}" if suffix else ""
    return f"Ubuntu:{release}{suffix}"


def _red_hat(qualifiers: dict[str, str]) -> str:
    match = re.match(r"(?:rhel|redhat|el)-?(\d+)", qualifiers.get("distro", "")) or re.match(
        r"rhel-(\d+)-", qualifiers.get("repository_id", "")
    )
    return f"Red Hat:{match.group(1)}" if match else ""


def rpm_evr(version: str, epoch: str = "") -> str:
    """``EPOCH:VERSION-RELEASE``, the form the agent reports installed RPMs in."""
    if re.match(r"\d+:", version):
        return version
    return f"{epoch or '0'}:{version}"


def _distribution_key(purl: PackageUrl) -> PackageKey | None:
    distro = purl.qualifiers.get("distro", "").lower()
    if purl.type == "deb" and purl.namespace == "debian":
        ecosystem = _debian(distro)
    elif purl.type == "deb" and purl.namespace == "ubuntu":
        ecosystem = _ubuntu(distro)
    elif purl.type == "rpm" and purl.namespace == "redhat":
        if purl.qualifiers.get("arch") in ("src", "nosrc"):
            # Red Hat advisories name binary RPMs; a source RPM's name may equal a binary's
            # (bind, bind) whose status differs, so it is kept unmatched.
            return None
        ecosystem = _red_hat(purl.qualifiers)
        version = rpm_evr(purl.version, purl.qualifiers.get("epoch", "")) if purl.version else ""
        return PackageKey(ecosystem, purl.name, version) if ecosystem else None
    else:
        return None
    return PackageKey(ecosystem, purl.name, purl.version) if ecosystem else None


def package_key(purl: str | PackageUrl) -> PackageKey | None:
    """The OSV identity of a purl, or None when it names nothing we can match (or is not a purl)."""
    if isinstance(purl, str):
        try:
            purl = parse_purl(purl)
        except PurlError:
            return None
    if purl.type in ("deb", "rpm"):
        return _distribution_key(purl)
    ecosystem = LANGUAGE_ECOSYSTEMS.get(purl.type)
    if ecosystem is None:
        return None
    name = f"{purl.namespace}{_NAME_JOIN.get(purl.type, '/')}{purl.name}" if purl.namespace else purl.name
    return PackageKey(ecosystem, name, purl.version)
