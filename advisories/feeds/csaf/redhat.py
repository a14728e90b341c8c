"""Red Hat's CSAF advisories (RHSA): RHEL platforms, binary RPMs and the EVR that fixes each.

Every fixed product of an RHSA is a relationship: an RPM ``default_component_of`` a platform.
The RPM comes from its purl (``pkg:rpm/redhat/NAME@VERSION-RELEASE?arch=ARCH&epoch=EPOCH``) or,
for documents without purls, from its product name ``NAME-EPOCH:VERSION-RELEASE.ARCH``; the
platform's CPE says which RHEL release and which update stream it belongs to:

* ``cpe:/o:redhat:enterprise_linux:9::baseos``, ``cpe:/a:redhat:enterprise_linux:9::appstream``
  -> RHEL 9, the mainline stream (every RHEL 9 machine that is not pinned to a minor release);
* ``cpe:/o:redhat:rhel_eus:9.2::baseos`` (likewise rhel_aus, rhel_tus, rhel_e4s) -> RHEL 9, the
  9.2 minor-release stream that Extended Update Support customers stay on;
* ``cpe:/o:redhat:rhel_els:6`` -> RHEL 6, whose extended life phase is the only stream left.

Platforms of other Red Hat products (OpenShift, Software Collections, Satellite, JBoss, …)
are skipped: their RPMs ship in the product's own repositories, not RHEL's, so filing them
under "Red Hat:N" would match RHEL machines against builds they never install.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from advisories import versions
from advisories.feeds.csaf.ecosystems import PackageKey, rpm_evr
from advisories.feeds.csaf.product_tree import Product, ProductTree
from advisories.feeds.csaf.purl import PurlError, parse_purl

__all__ = [
    "RhelPlatform",
    "Rpm",
    "affected_packages",
    "choose_fix",
    "is_red_hat",
    "rhel_platform",
    "rpm_of",
    "vex_package_key",
]

# CPE products that are RHEL itself, on its mainline or on a minor-release stream.
RHEL_CPE_PRODUCTS = {
    "enterprise_linux",
    "rhel_eus",
    "rhel_aus",
    "rhel_tus",
    "rhel_e4s",
    "rhel_els",
    "rhel_eus_long_life",
}
MAINLINE_CPE_PRODUCTS = {"enterprise_linux", "rhel_els"}
SOURCE_ARCHES = {"src", "nosrc"}
_NEVRA = re.compile(r"(?P<name>.+)-(?:(?P<epoch>\d+):)?(?P<version>[^:-]+)-(?P<release>[^:-]+)\.(?P<arch>[^.:-]+)")


def is_red_hat(document: dict) -> bool:
    publisher = document.get("publisher") or {}
    return publisher.get("namespace") in ("https://www.redhat.com", "https://redhat.com") or str(
        publisher.get("name", "")
    ).startswith("Red Hat")


@dataclass(frozen=True)
class RhelPlatform:
    major: str
    stream: str  # "" for the mainline, else the minor-release stream, e.g. "rhel_eus 9.2"

    @property
    def ecosystem(self) -> str:
        return f"Red Hat:{self.major}"


def _cpe_parts(cpe: str) -> tuple[str, str, str] | None:
    """(vendor, product, version) of a CPE 2.2 URI (cpe:/o:…) or CPE 2.3 string (cpe:2.3:o:…)."""
    parts = cpe.split(":")
    if cpe.startswith("cpe:/") and len(parts) >= 5:
        return parts[2], parts[3], parts[4]
    if cpe.startswith("cpe:2.3:") and len(parts) >= 6:
        return parts[3], parts[4], parts[5]
    return None


def rhel_platform(cpe: str) -> RhelPlatform | None:
    parts = _cpe_parts(cpe or "")
    if parts is None or parts[0] != "redhat" or parts[1] not in RHEL_CPE_PRODUCTS:
        return None
    product, version = parts[1], parts[2]
    major, _, minor = version.partition(".")
    if not major.isdigit():
        return None
    mainline = product in MAINLINE_CPE_PRODUCTS and not minor
    return RhelPlatform(major, "" if mainline else f"{product} {version}")


@dataclass(frozen=True)
class Rpm:
    name: str
    evr: str  # EPOCH:VERSION-RELEASE, the epoch always written out
    arch: str
    purl: str  # versionless, as OSV keeps it

    @property
    def is_source(self) -> bool:
        return self.arch in SOURCE_ARCHES


def rpm_of(product: Product, tree: ProductTree) -> Rpm:
    """The RPM a (relationship) product installs; ValueError saying why when it names none."""
    component = tree.get(product.component) if product.component else product
    nevra = _NEVRA.fullmatch(component.name) or _NEVRA.fullmatch(component.product_id)
    purl = None
    if component.purl:
        try:
            purl = parse_purl(component.purl)
        except PurlError as exc:
            raise ValueError(f"{product.product_id}: {exc}") from None
        if purl.type != "rpm":
            raise ValueError(f"{product.product_id}: {component.purl!r} is not an RPM")
    if purl is not None and "-" in purl.version:
        # The purl's epoch qualifier first, then the product name's N-E:V-R.A, else rpm's default 0.
        epoch = purl.qualifiers.get("epoch") or (nevra.group("epoch") if nevra else "") or "0"
        arch = purl.qualifiers.get("arch") or (nevra.group("arch") if nevra else "")
        return Rpm(purl.name, rpm_evr(purl.version, epoch), arch, f"pkg:rpm/redhat/{purl.name}")
    if nevra is None:
        raise ValueError(f"{product.product_id}: neither a purl with VERSION-RELEASE nor a NAME-E:V-R.ARCH name")
    return Rpm(
        nevra.group("name"),
        f"{nevra.group('epoch') or '0'}:{nevra.group('version')}-{nevra.group('release')}",
        nevra.group("arch"),
        f"pkg:rpm/redhat/{nevra.group('name')}",
    )


def choose_fix(ecosystem: str, mainline: set[str], streams: set[str]) -> str:
    """The one fixed EVR a "Red Hat:N" machine is matched against.

    The ecosystem says only the major release, and OSV ranges of one package are a union:
    [0, 9.2-EUS fix) or [0, 9.3 fix) is simply [0, 9.3 fix). Keeping a range per stream would
    therefore flag a 9.2 EUS machine that installed its own fix. So a single range is kept:
    the mainline fix when the advisory has one (what a RHEL 9 machine installs); when it only
    covers minor-release streams, the lowest of their fixes, below which a machine is
    vulnerable whichever stream it follows. The other streams' builds stay in `raw`.
    """
    order = versions.sort_key(ecosystem)
    return max(mainline, key=order) if mainline else min(streams, key=order)


@dataclass
class _Fixes:
    purl: str
    mainline: set
    streams: set


def affected_packages(tree: ProductTree, fixed_ids: list[str]) -> tuple[list[dict], list[tuple[str, str]]]:
    """OSV `affected` entries, one per (ecosystem, binary RPM), and the fixed products that were unusable."""
    fixes: dict[tuple[str, str], _Fixes] = {}
    problems = []
    for product_id in fixed_ids:
        product = tree.get(product_id)
        platform = rhel_platform(product.cpe) if product.platform else None
        if platform is None:
            continue  # not an RPM on a RHEL platform (see the module docstring)
        try:
            rpm = rpm_of(product, tree)
            versions.validate(platform.ecosystem, rpm.evr)
        except ValueError as exc:
            problems.append((product_id, str(exc)))
            continue
        if rpm.is_source:
            continue  # a source RPM is never installed; its binaries are listed on their own
        entry = fixes.setdefault((platform.ecosystem, rpm.name), _Fixes(rpm.purl, set(), set()))
        (entry.streams if platform.stream else entry.mainline).add(rpm.evr)
    affected = []
    for (ecosystem, name), entry in sorted(fixes.items()):
        fixed = choose_fix(ecosystem, entry.mainline, entry.streams)
        affected.append(
            {
                "ecosystem": ecosystem,
                "name": name,
                "purl": entry.purl,
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
                "versions": [],
                "fixed_versions": [fixed],
                "severity": "",
            }
        )
    return affected, problems


def vex_package_key(product: Product, tree: ProductTree) -> PackageKey | None:
    """Red Hat's purls carry no release: the platform's CPE gives it. Source RPMs stay unmatched."""
    platform = rhel_platform(product.cpe) if product.platform else None
    if platform is None:
        return None
    try:
        rpm = rpm_of(product, tree)
    except ValueError:
        return None
    return None if rpm.is_source else PackageKey(platform.ecosystem, rpm.name, rpm.evr)
