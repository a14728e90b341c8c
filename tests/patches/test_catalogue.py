"""The patch catalogue, kept by matching: Linux fixes, Windows KBs, winget apps, and supersedence."""

from __future__ import annotations

import datetime as dt

import pytest

from advisories.models import Cve, KevEntry, WindowsKb
from devices.models import DeviceUpdate, Update
from patches.matching import engine
from patches.models import Finding, Patch
from patches.queue import approval_queue
from tests.factories import DeviceFactory
from tests.patches.test_matching import NOW, debian, osv, pkg, publish, windows_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_openssl_fixes(world):
    KevEntry.objects.create(cve_id="CVE-2099-0002", date_added=dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 22))
    publish(
        osv("DSA-9001-1", "openssl", "3.0.15-1~deb12u1", cves=("CVE-2099-0001",), published="2026-10-01T00:00:00Z"),
        osv(
            "DSA-9002-1",
            "openssl",
            "3.0.16-1~deb12u1",
            cves=("CVE-2099-0002", "CVE-2099-0003"),
            published="2026-11-10T00:00:00Z",
        ),
    )
    old = debian(world.tenant_a, "old", [pkg("libssl3", "3.0.14-1", "openssl"), pkg("openssl", "3.0.14-1")])
    newer = debian(world.tenant_a, "newer", [pkg("libssl3", "3.0.15-1~deb12u1", "openssl")])
    return old, newer


def test_each_fixed_version_of_a_source_is_a_patch_of_what_it_fixes(two_openssl_fixes):
    fifteen = Patch.objects.get(kind="package", ecosystem="Debian:12", name="openssl", version="3.0.15-1~deb12u1")
    sixteen = Patch.objects.get(kind="package", ecosystem="Debian:12", name="openssl", version="3.0.16-1~deb12u1")
    assert [a.advisory_id for a in fifteen.advisories.all()] == ["DSA-9001-1"]
    assert (fifteen.cves, fifteen.kev, fifteen.released_on) == (["CVE-2099-0001"], False, dt.date(2026, 10, 1))
    assert (sixteen.cves, sixteen.kev) == (["CVE-2099-0002", "CVE-2099-0003"], True)
    assert (sixteen.classification, sixteen.title) == ("security", "openssl 3.0.16-1~deb12u1")


def test_a_debian_patch_takes_the_highest_cvss_severity_of_its_cves(world):
    # DSAs carry no severity: the CVEs' NVD severity is what a "high and above" rule can use.
    Cve.objects.create(cve_id="CVE-2099-0011", cvss3_score="5.3", cvss3_severity="MEDIUM")
    Cve.objects.create(cve_id="CVE-2099-0012", cvss4_score="8.7", cvss4_severity="HIGH")
    publish(osv("DSA-9011-1", "curl", "7.88.1-10+deb12u9", cves=("CVE-2099-0011", "CVE-2099-0012")))
    debian(world.tenant_a, "web", [pkg("curl", "7.88.1-10+deb12u5")])
    assert Patch.objects.get(name="curl").severity == "high"


def test_a_higher_fixed_version_supersedes_a_lower_one(two_openssl_fixes):
    fifteen = Patch.objects.get(name="openssl", version="3.0.15-1~deb12u1")
    sixteen = Patch.objects.get(name="openssl", version="3.0.16-1~deb12u1")
    assert fifteen.superseded_by == sixteen and sixteen.superseded_by is None


def test_findings_name_the_patch_that_fixes_them(two_openssl_fixes):
    old, newer = two_openssl_fixes
    by_advisory = {
        (f.package_name, f.reference): f.patch.version for f in Finding.objects.filter(device=old, state="open")
    }
    assert by_advisory == {
        ("libssl3", "DSA-9001-1"): "3.0.15-1~deb12u1",
        ("openssl", "DSA-9001-1"): "3.0.15-1~deb12u1",
        ("libssl3", "DSA-9002-1"): "3.0.16-1~deb12u1",
        ("openssl", "DSA-9002-1"): "3.0.16-1~deb12u1",
    }
    assert {f.patch.version for f in Finding.objects.filter(device=newer, state="open")} == {"3.0.16-1~deb12u1"}


def test_a_superseded_patch_is_never_counted_as_missing(world, two_openssl_fixes):
    (item,) = approval_queue([world.tenant_a], NOW)
    assert (item.patch.version, item.devices, item.kev) == ("3.0.16-1~deb12u1", 2, True)


def test_a_new_advisory_with_a_higher_fix_supersedes_at_once(world, two_openssl_fixes):
    publish(osv("DSA-9003-1", "openssl", "3.0.17-1~deb12u1", cves=("CVE-2099-0004",)))
    versions = dict(Patch.objects.filter(name="openssl").values_list("version", "superseded_by__version"))
    assert versions == {
        "3.0.15-1~deb12u1": "3.0.17-1~deb12u1",
        "3.0.16-1~deb12u1": "3.0.17-1~deb12u1",
        "3.0.17-1~deb12u1": None,
    }


def test_windows_updates_are_patches_with_the_cvrf_s_cves_and_chain(world):
    WindowsKb.objects.create(
        kb="5077181",
        document="2026-Feb",
        released=dt.date(2026, 2, 10),
        products=["Windows 11 Version 24H2 for x64-based Systems"],
        cves=["CVE-2026-0001"],
        severity="Critical",
        supersedes=["5074109"],
    )
    device = DeviceFactory(tenant=world.tenant_a, os_family="windows", ecosystem="Windows:10.0.26100")
    windows_update(device, "KB5074109")
    windows_update(device, "KB5077181")
    windows_update(device, "KB5000002", classification="Drivers")
    windows_update(device, "KB5000003", supersedes=("KB5000002",), classification="Drivers")
    engine.match_devices([device.pk], now=NOW)

    february = Patch.objects.get(kind="windows", name="KB5077181")
    january = Patch.objects.get(kind="windows", name="KB5074109")
    assert (february.cves, february.severity, february.classification) == (["CVE-2026-0001"], "critical", "security")
    assert february.product == "Windows 11 Version 24H2 for x64-based Systems"
    assert january.superseded_by == february and "KB5074109" in february.supersedes
    older_driver = Patch.objects.get(name="KB5000002")
    assert older_driver.classification == "driver" and older_driver.superseded_by.name == "KB5000003"
    assert Finding.objects.get(device=device, state="open").patch == february
    missing = {item.patch.name for item in approval_queue([world.tenant_a], NOW)}
    assert missing == {"KB5077181", "KB5000003"}


def test_a_winget_upgrade_is_an_application_patch(world):
    device = DeviceFactory(tenant=world.tenant_a, os_family="windows", ecosystem="Windows:10.0.26100")
    update = Update.objects.create(
        kind="winget", ecosystem="winget", identifier="Google.Chrome", version="133.0.6943.99", title="Google Chrome"
    )
    DeviceUpdate.objects.create(tenant=device.tenant, device=device, update=update, current_version="133.0.6943.60")
    engine.match_devices([device.pk], now=NOW)
    patch = Patch.objects.get(kind="application")
    assert (patch.name, patch.version, patch.classification, patch.title) == (
        "Google.Chrome",
        "133.0.6943.99",
        "update",
        "Google Chrome",
    )
    assert [item.patch for item in approval_queue([world.tenant_a], NOW)] == [patch]


@pytest.mark.parametrize(
    "title, shown, own_title",
    [
        ("", "openssl 3.0.15-1~deb12u1", False),
        ("openssl 3.0.15-1~deb12u1", "openssl 3.0.15-1~deb12u1", False),  # lists show it once
        ("DSA-5890-1: openssl security update", "DSA-5890-1: openssl security update", True),
    ],
)
def test_a_patch_is_named_by_its_title_and_lists_add_the_version_only_when_it_says_more(title, shown, own_title):
    patch = Patch(name="openssl", version="3.0.15-1~deb12u1", title=title)
    assert (str(patch), patch.has_own_title) == (shown, own_title)
