"""The CSAF feed: Red Hat advisories to OSV-shaped affected RPMs, CSAF and OpenVEX statements,
package URLs, malformed documents reported and skipped, idempotent re-ingests and the
Red Hat `changes.csv` directory sync."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from advisories import versions
from advisories.feeds.csaf.ecosystems import package_key
from advisories.feeds.csaf.index import CURSOR_KEY
from advisories.feeds.csaf.product_tree import ProductTree
from advisories.feeds.csaf.purl import PurlError, parse_purl
from advisories.feeds.csaf.redhat import choose_fix, rhel_platform, rpm_of
from advisories.ingest import ingest, sync_source
from advisories.models import Advisory, AffectedPackage, FeedRun, FeedSource, VexStatement
from advisories.signals import feed_ingested
from tests.fixtures.feed_server import Reply

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "advisories"
REDHAT = FIXTURES / "csaf" / "redhat"
EXAMPLES = FIXTURES / "csaf" / "examples"
CSAF_VEX = EXAMPLES / "csaf_vex"
UBUNTU_OPENVEX = FIXTURES / "vex" / "ubuntu_openvex_CVE-2023-38545.json"
CONSTRUCTED = FIXTURES / "constructed" / "csaf" / "example-purl-advisory.json"
FEED_TABLES = ("advisories_advisory", "advisories_affectedpackage", "advisories_vexstatement")
UTC = dt.UTC


def fixed_of(advisory_id: str, ecosystem: str, name: str) -> list[str]:
    entry = AffectedPackage.objects.get(advisory__advisory_id=advisory_id, ecosystem=ecosystem, name=name)
    # Exactly one range, [0, fixed): its fixed event is the fixed version shown.
    assert entry.ranges == [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": entry.fixed_versions[0]}]}]
    return entry.fixed_versions


def names_of(advisory_id: str, ecosystem: str) -> set[str]:
    return set(
        AffectedPackage.objects.filter(advisory__advisory_id=advisory_id, ecosystem=ecosystem).values_list(
            "name", flat=True
        )
    )


def vex(document_id: str, cve_id: str, product_id: str) -> VexStatement:
    return VexStatement.objects.get(document_id=document_id, cve_id=cve_id, product_id=product_id)


def feed_writes(queries) -> list[str]:
    pattern = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"(?P<table>\w+)"', re.IGNORECASE)
    return [
        q["sql"][:120] for q in queries.captured_queries if (m := pattern.match(q["sql"])) and m["table"] in FEED_TABLES
    ]


@pytest.fixture
def redhat_ingested() -> FeedRun:
    run = ingest("csaf", str(REDHAT))
    assert (run.status, run.skipped, run.errors) == (FeedRun.Status.SUCCESS, 0, [])
    return run


# --- Red Hat advisories: one fact sheet per document -------------------------------------------


def test_rhsa_2024_0010_tigervnc_on_rhel9_appstream(redhat_ingested):
    advisory = Advisory.objects.get(advisory_id="RHSA-2024:0010")
    assert advisory.kind == "csaf"
    assert advisory.cves == ["CVE-2023-5367", "CVE-2023-6377", "CVE-2023-6478"]
    assert advisory.summary == "Red Hat Security Advisory: tigervnc security update"
    assert advisory.severity == "high"  # aggregate_severity "Important"
    assert advisory.published == dt.datetime(2024, 1, 2, 8, 58, 34, tzinfo=UTC)
    assert advisory.modified == dt.datetime(2024, 11, 23, 2, 54, 26, tzinfo=UTC)
    assert fixed_of("RHSA-2024:0010", "Red Hat:9", "tigervnc-server") == ["0:1.13.1-3.el9_3.3"]
    assert fixed_of("RHSA-2024:0010", "Red Hat:9", "tigervnc-selinux") == ["0:1.13.1-3.el9_3.3"]  # noarch
    # Four architectures and the source RPM collapse into one entry per binary name.
    assert AffectedPackage.objects.filter(advisory=advisory).count() == 12
    assert set(AffectedPackage.objects.filter(advisory=advisory).values_list("ecosystem", flat=True)) == {"Red Hat:9"}
    entry = AffectedPackage.objects.get(advisory=advisory, name="tigervnc-server")
    assert entry.purl == "pkg:rpm/redhat/tigervnc-server"


def test_rhsa_2024_0811_sudo_takes_the_mainline_fix_of_rhel8_and_rhel9(redhat_ingested):
    advisory = Advisory.objects.get(advisory_id="RHSA-2024:0811")
    assert advisory.cves == ["CVE-2023-28486", "CVE-2023-28487", "CVE-2023-42465"]
    assert advisory.severity == "medium"  # "Moderate"
    # RHEL 8: BaseOS 8.9 mainline (1.el8_9), not the 8.6 / 8.8 EUS builds (1.el8_6, 1.el8_8).
    assert fixed_of("RHSA-2024:0811", "Red Hat:8", "sudo") == ["0:1.9.5p2-1.el8_9"]
    assert fixed_of("RHSA-2024:0811", "Red Hat:8", "sudo-debuginfo") == ["0:1.9.5p2-1.el8_9"]
    # RHEL 9: 9.3 mainline (10.el9_3), not 9.0 EUS (7.el9_0.4) or 9.2 EUS (9.el9_2.2).
    assert fixed_of("RHSA-2024:0811", "Red Hat:9", "sudo") == ["0:1.9.5p2-10.el9_3"]
    assert fixed_of("RHSA-2024:0811", "Red Hat:9", "sudo-python-plugin") == ["0:1.9.5p2-10.el9_3"]
    assert names_of("RHSA-2024:0811", "Red Hat:8") == {"sudo", "sudo-debuginfo", "sudo-debugsource"}
    assert "sudo-python-plugin" in names_of("RHSA-2024:0811", "Red Hat:9")


@pytest.mark.parametrize(
    ("advisory_id", "published", "source_rpm"),
    [
        ("RHSA-2024:6163", dt.datetime(2024, 9, 3, 17, 57, 24, tzinfo=UTC), "python3.9-0:3.9.18-3.el9_4.5.src"),
        ("RHSA-2024:9371", dt.datetime(2024, 11, 12, 9, 38, 54, tzinfo=UTC), "python3.9-0:3.9.19-8.el9.src"),
    ],
)
def test_python39_advisories_list_only_a_source_rpm_so_nothing_is_matched(
    redhat_ingested, advisory_id, published, source_rpm
):
    advisory = Advisory.objects.get(advisory_id=advisory_id)
    assert advisory.cves == ["CVE-2024-8088"]
    assert advisory.severity == "medium"
    assert advisory.published == published
    # The document's only RPM is the source RPM: it is not an installable package, so no entry…
    assert not AffectedPackage.objects.filter(advisory=advisory).exists()
    # …although the product tree places it on RHEL 9's mainline, and the raw document keeps it.
    tree = ProductTree(advisory.raw["product_tree"])
    product = tree.get(f"AppStream-{'9.4.0.Z.MAIN.EUS' if advisory_id.endswith('6163') else '9.5.0.GA'}:{source_rpm}")
    assert rhel_platform(product.cpe).ecosystem == "Red Hat:9"
    assert rhel_platform(product.cpe).stream == ""
    assert rpm_of(product, tree).is_source


def test_rhsa_2025_23414_bind_on_rhel6_els_with_epoch_32(redhat_ingested):
    advisory = Advisory.objects.get(advisory_id="RHSA-2025:23414")
    assert advisory.cves == ["CVE-2021-25220", "CVE-2025-40778"]
    assert advisory.severity == "high"
    assert fixed_of("RHSA-2025:23414", "Red Hat:6", "bind") == ["32:9.8.2-0.68.rc1.el6_10.17"]
    assert fixed_of("RHSA-2025:23414", "Red Hat:6", "bind-utils") == ["32:9.8.2-0.68.rc1.el6_10.17"]
    # bind-chroot, -devel and -debuginfo are known_not_affected, not fixed: no affected entries…
    assert names_of("RHSA-2025:23414", "Red Hat:6") == {"bind", "bind-libs", "bind-sdb", "bind-utils"}
    # …but VEX statements (the only status stored for a Red Hat advisory), with the platform's release.
    chroot = vex(
        "RHSA-2025:23414", "CVE-2025-40778", "6Server-ELS.EXTENSION:bind-chroot-32:9.8.2-0.68.rc1.el6_10.17.x86_64"
    )
    assert (chroot.status, chroot.justification) == ("not_affected", "vulnerable_code_not_present")
    assert (chroot.ecosystem, chroot.package, chroot.version) == (
        "Red Hat:6",
        "bind-chroot",
        "32:9.8.2-0.68.rc1.el6_10.17",
    )
    assert chroot.purl == "pkg:rpm/redhat/bind-chroot@9.8.2-0.68.rc1.el6_10.17?arch=x86_64&epoch=32"
    statements = VexStatement.objects.filter(document_id="RHSA-2025:23414")
    assert statements.count() == 48  # 24 products x 2 CVEs
    assert set(statements.values_list("status", flat=True)) == {"not_affected"}
    # The source RPM's statement is kept but unmatched: its name is also the (fixed) binary's.
    source = vex("RHSA-2025:23414", "CVE-2021-25220", "6Server-ELS.EXTENSION:bind-32:9.8.2-0.68.rc1.el6_10.17.src")
    assert (source.status, source.ecosystem, source.package) == ("not_affected", "", "")


def test_red_hat_example_without_purls_takes_the_epoch_from_the_product_name():
    run = ingest("csaf", str(EXAMPLES / "rhsa-2022_0011.json"))
    assert run.status == FeedRun.Status.SUCCESS
    # AUS, E4S and TUS 7.6 only (no mainline): the builds are the same, telnet-1:0.17-65.el7_6.
    assert fixed_of("RHSA-2022:0011", "Red Hat:7", "telnet") == ["1:0.17-65.el7_6"]
    assert fixed_of("RHSA-2022:0011", "Red Hat:7", "telnet-server") == ["1:0.17-65.el7_6"]


def test_fixed_evrs_sort_above_the_release_before_them(redhat_ingested):
    older = {
        ("RHSA-2024:0010", "Red Hat:9", "tigervnc-server"): "0:1.13.1-3.el9_3.2",
        ("RHSA-2024:0811", "Red Hat:9", "sudo"): "0:1.9.5p2-9.el9_3",
        ("RHSA-2024:0811", "Red Hat:8", "sudo"): "0:1.9.5p2-1.el8_8",
        ("RHSA-2025:23414", "Red Hat:6", "bind"): "32:9.8.2-0.68.rc1.el6_10.16",
    }
    for (advisory_id, ecosystem, name), installed in older.items():
        fixed = fixed_of(advisory_id, ecosystem, name)[0]
        assert versions.compare(ecosystem, installed, fixed) < 0, (name, installed, fixed)
        assert versions.compare(ecosystem, fixed, fixed) == 0
    # The epoch is part of the stored EVR: a newer upstream version with bind's old epoch 0 is still older.
    assert versions.compare("Red Hat:6", "0:9.18.0-1.el6", fixed_of("RHSA-2025:23414", "Red Hat:6", "bind")[0]) < 0


def test_openshift_platform_is_not_rhel_and_gives_no_affected_rpms():
    run = ingest("csaf", str(EXAMPLES / "rhsa-2021_5186.json"))
    assert run.status == FeedRun.Status.SUCCESS
    advisory = Advisory.objects.get(advisory_id="RHSA-2021:5186")
    assert (advisory.cves, advisory.severity) == (["CVE-2021-4104", "CVE-2021-4125"], "critical")
    assert not AffectedPackage.objects.filter(advisory=advisory).exists()
    statements = VexStatement.objects.filter(document_id="RHSA-2021:5186")
    assert statements.count() == 4  # two images not affected by two CVEs; no purl, so unmatched
    assert set(statements.values_list("status", "ecosystem")) == {("not_affected", "")}


# --- Product tree, RHEL platforms, minor streams -----------------------------------------------


def test_product_tree_resolves_relationship_products_to_the_packages_purl_and_the_platforms_cpe():
    tree = ProductTree(json.loads((REDHAT / "rhsa-2024_0010.json").read_bytes())["product_tree"])
    product = tree.get("AppStream-9.3.0.Z.MAIN:tigervnc-server-0:1.13.1-3.el9_3.3.x86_64")
    assert product.name == (
        "tigervnc-server-0:1.13.1-3.el9_3.3.x86_64 as a component of Red Hat Enterprise Linux AppStream (v. 9)"
    )
    assert product.purl == "pkg:rpm/redhat/tigervnc-server@1.13.1-3.el9_3.3?arch=x86_64"
    assert product.cpe == "cpe:/a:redhat:enterprise_linux:9::appstream"
    assert (product.component, product.platform) == (
        "tigervnc-server-0:1.13.1-3.el9_3.3.x86_64",
        "AppStream-9.3.0.Z.MAIN",
    )
    rpm = rpm_of(product, tree)
    assert (rpm.name, rpm.evr, rpm.arch, rpm.is_source) == ("tigervnc-server", "0:1.13.1-3.el9_3.3", "x86_64", False)
    assert tree.get("AppStream-9.3.0.Z.MAIN").cpe == "cpe:/a:redhat:enterprise_linux:9::appstream"
    assert tree.get("no-such-product").name == "no-such-product"


def test_rpm_epoch_comes_from_the_purl_qualifier_else_the_product_name_else_zero():
    def tree_with(component: str, purl: str | None) -> tuple[ProductTree, str]:
        helper = {"purl": purl} if purl else {}
        full_id = f"AppStream-9.3.0.Z.MAIN:{component}"
        product_tree = {
            "branches": [
                {
                    "category": "product_name",
                    "name": "Red Hat Enterprise Linux AppStream (v. 9)",
                    "product": {
                        "name": "Red Hat Enterprise Linux AppStream (v. 9)",
                        "product_id": "AppStream-9.3.0.Z.MAIN",
                        "product_identification_helper": {"cpe": "cpe:/a:redhat:enterprise_linux:9::appstream"},
                    },
                },
                {
                    "category": "product_version",
                    "name": component,
                    "product": {"name": component, "product_id": component, "product_identification_helper": helper},
                },
            ],
            "relationships": [
                {
                    "category": "default_component_of",
                    "full_product_name": {"name": f"{component} as a component of RHEL 9", "product_id": full_id},
                    "product_reference": component,
                    "relates_to_product_reference": "AppStream-9.3.0.Z.MAIN",
                }
            ],
        }
        return ProductTree(product_tree), full_id

    cases = [
        ("openssl-1:3.0.7-27.el9.x86_64", "pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=x86_64", "1:3.0.7-27.el9"),
        ("openssl-1:3.0.7-27.el9.x86_64", "pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=x86_64&epoch=1", "1:3.0.7-27.el9"),
        ("openssl-3.0.7-27.el9.x86_64", "pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=x86_64", "0:3.0.7-27.el9"),
        ("openssl-1:3.0.7-27.el9.x86_64", None, "1:3.0.7-27.el9"),
        ("openssl-3.0.7-27.el9.x86_64", None, "0:3.0.7-27.el9"),
    ]
    for component, purl, evr in cases:
        tree, full_id = tree_with(component, purl)
        rpm = rpm_of(tree.get(full_id), tree)
        assert (rpm.name, rpm.evr, rpm.arch) == ("openssl", evr, "x86_64"), (component, purl)


@pytest.mark.parametrize(
    ("cpe", "expected"),
    [
        ("cpe:/o:redhat:enterprise_linux:9::baseos", ("Red Hat:9", "")),
        ("cpe:/a:redhat:enterprise_linux:9::appstream", ("Red Hat:9", "")),
        ("cpe:/a:redhat:rhel_eus:9.2::appstream", ("Red Hat:9", "rhel_eus 9.2")),
        ("cpe:/o:redhat:rhel_aus:7.6::server", ("Red Hat:7", "rhel_aus 7.6")),
        ("cpe:/o:redhat:rhel_els:6", ("Red Hat:6", "")),
        ("cpe:2.3:o:redhat:enterprise_linux:8:*:*:*:*:*:*:*", ("Red Hat:8", "")),
        ("cpe:/a:redhat:openshift:4.6::el8", None),
        ("cpe:/a:redhat:rhel_software_collections:3::el7", None),
        ("cpe:/a:csaf-tools:cvrf-csaf-converter:1.0.0-alpha", None),
        ("", None),
    ],
)
def test_rhel_platform_from_cpe(cpe, expected):
    platform = rhel_platform(cpe)
    assert (None if platform is None else (platform.ecosystem, platform.stream)) == expected


def test_choose_fix_prefers_the_mainline_else_the_lowest_minor_stream_fix():
    eus = {"0:1.9.5p2-7.el9_0.4", "0:1.9.5p2-9.el9_2.2"}
    assert choose_fix("Red Hat:9", {"0:1.9.5p2-10.el9_3"}, eus) == "0:1.9.5p2-10.el9_3"
    # Only minor streams: the lowest fix, below which a machine is vulnerable on every stream.
    assert choose_fix("Red Hat:9", set(), eus) == "0:1.9.5p2-7.el9_0.4"


# --- CSAF VEX (OASIS examples) and other publishers' advisories ---------------------------------


def test_oasis_vex_examples_become_statements_with_their_product_ids():
    run = ingest("csaf", str(CSAF_VEX))
    assert (run.status, run.skipped) == (FeedRun.Status.SUCCESS, 0)
    assert not Advisory.objects.exists()  # VEX documents are statements, not advisories
    log4shell = "CVE-2021-44228"
    assert vex("2022-EVD-UC-01-A-001", log4shell, "CSAFPID-0001").status == "affected"
    assert vex("2022-EVD-UC-01-F-001", log4shell, "CSAFPID-0001").status == "fixed"
    assert vex("2022-EVD-UC-01-UI-001", log4shell, "CSAFPID-0001").status == "under_investigation"
    not_affected = vex("2022-EVD-UC-01-NA-001", log4shell, "CSAFPID-0001")
    assert (not_affected.status, not_affected.statement) == (
        "not_affected",
        "Class with vulnerable code was removed before shipping.",
    )
    use_case_7 = dict(VexStatement.objects.filter(document_id="2022-EVD-UC-07-001").values_list("product_id", "status"))
    assert use_case_7 == {
        "CSAFPID-0001": "not_affected",
        "CSAFPID-0002": "affected",
        "CSAFPID-0003": "affected",
        "CSAFPID-0004": "affected",
        "CSAFPID-0005": "not_affected",
        "CSAFPID-0006": "not_affected",
        "CSAFPID-0007": "not_affected",
        "CSAFPID-0008": "affected",
        "CSAFPID-0009": "not_affected",
        "CSAFPID-0010": "fixed",
    }
    assert vex("2022-EVD-UC-07-001", log4shell, "CSAFPID-0009").statement == (
        "Log4j was not included in those versions at all."
    )
    assert vex("2022-EVD-UC-07-001", log4shell, "CSAFPID-0008").statement == "Update to the new version 5.1 or later."
    several = dict(
        VexStatement.objects.filter(document_id="2022-EVD-UC-03-MS-001", product_id="CSAFPID-0001").values_list(
            "cve_id", "status"
        )
    )
    assert (several["CVE-2020-11896"], several["CVE-2020-11897"], several["CVE-2020-11898"]) == (
        "under_investigation",
        "not_affected",
        "affected",
    )
    secvisogram = VexStatement.objects.filter(document_id="SEC-VEX-2022-0001")
    assert set(secvisogram.values_list("cve_id", "status", "justification")) == {
        ("CVE-2021-44228", "not_affected", "component_not_present"),
        ("CVE-2021-45046", "not_affected", "component_not_present"),
        ("CVE-2021-45105", "not_affected", "component_not_present"),
    }
    # No example product has a purl: stored and shown, never matched.
    assert set(VexStatement.objects.values_list("ecosystem", "package")) == {("", "")}


def test_oasis_examples_folder_skips_provider_metadata_and_lists_every_advisory():
    run = ingest("csaf", str(EXAMPLES))
    assert (run.status, run.skipped, run.errors) == (FeedRun.Status.SUCCESS, 0, [])
    assert set(Advisory.objects.values_list("advisory_id", flat=True)) == {
        "BSI-2022-0001",
        "cisco-sa-20180328-smi2",
        "RHSA-2019:1862",
        "RHSA-2021:5186",
        "RHSA-2021:5217",
        "RHSA-2022:0011",
    }
    bsi = Advisory.objects.get(advisory_id="BSI-2022-0001")
    assert (bsi.cves, bsi.severity) == (["CVE-2022-27193"], "medium")
    assert not bsi.affected.exists()  # CPE-only products: listed, shown, not matched
    assert vex("BSI-2022-0001", "CVE-2022-27193", "CSAFPID-0006").status == "fixed"
    cisco = Advisory.objects.get(advisory_id="cisco-sa-20180328-smi2")
    assert (cisco.cves, cisco.severity, str(cisco.cvss_score)) == (["CVE-2018-0171"], "critical", "9.8")
    informational = Advisory.objects.get(advisory_id="RHSA-2019:1862")
    assert (informational.cves, informational.severity) == ([], "low")


def test_other_publishers_advisory_maps_purl_products_with_a_version_boundary():
    run = ingest("csaf", str(CONSTRUCTED))
    assert (run.status, run.skipped) == (FeedRun.Status.SUCCESS, 0)
    advisory = Advisory.objects.get(advisory_id="EXAMPLE-2099-0001")
    assert (advisory.cves, advisory.severity, str(advisory.cvss_score)) == (["CVE-2099-0001"], "high", "7.5")
    entries = {(a.ecosystem, a.name): a for a in advisory.affected.all()}
    # The vendor_fix on 2.4.0 is advice to an affected product, not a fixed build.
    assert set(entries) == {("PyPI", "example-lib"), ("Debian:12", "examplepkg")}
    pypi = entries[("PyPI", "example-lib")]
    assert (pypi.fixed_versions, pypi.versions, pypi.purl) == (["2.4.1"], ["2.4.0"], "pkg:pypi/example-lib")
    assert pypi.ranges == [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.4.1"}]}]
    assert entries[("Debian:12", "examplepkg")].fixed_versions == ["1.0-2"]
    # Two fixed versions of @example/widget without branch starts: no range can be told, so no entry.
    widget = vex("EXAMPLE-2099-0001", "CVE-2099-0001", "CSAFPID-0004")
    assert (widget.status, widget.ecosystem, widget.package, widget.version) == (
        "fixed",
        "npm",
        "@example/widget",
        "1.3.0",
    )
    go = vex("EXAMPLE-2099-0001", "CVE-2099-0001", "CSAFPID-0008")
    assert (go.status, go.ecosystem, go.package, go.justification, go.statement) == (
        "not_affected",
        "Go",
        "github.com/example/mod",
        "vulnerable_code_not_present",
        "The parser is not compiled into these builds.",
    )
    broken = vex("EXAMPLE-2099-0001", "CVE-2099-0001", "CSAFPID-0007")  # purl "pkg:/broken"
    assert (broken.status, broken.purl, broken.ecosystem, broken.package) == ("not_affected", "pkg:/broken", "", "")
    appliance = vex("EXAMPLE-2099-0001", "CVE-2099-0001", "CSAFPID-0006")  # CPE only
    assert (appliance.status, appliance.ecosystem, appliance.statement) == ("affected", "", "Replace the appliance.")


def test_a_fixed_version_its_ecosystem_rejects_is_reported_and_the_advisory_still_lands(tmp_path):
    data = json.loads(CONSTRUCTED.read_bytes())
    pypi_branch = data["product_tree"]["branches"][0]["branches"][0]["branches"][1]["product"]
    pypi_branch["product_identification_helper"]["purl"] = "pkg:pypi/example-lib@2.4.1..."
    (tmp_path / "bad-version.json").write_text(json.dumps(data))
    run = ingest("csaf", str(tmp_path / "bad-version.json"))
    assert (run.status, run.skipped) == (FeedRun.Status.PARTIAL, 1)
    assert run.errors[0]["record"] == "EXAMPLE-2099-0001 CSAFPID-0002"
    assert "2.4.1..." in run.errors[0]["error"]
    entries = {
        (a.ecosystem, a.name): a for a in AffectedPackage.objects.filter(advisory__advisory_id="EXAMPLE-2099-0001")
    }
    assert entries[("PyPI", "example-lib")].ranges == []  # the boundary is gone, the known version stays
    assert entries[("PyPI", "example-lib")].versions == ["2.4.0"]
    assert ("Debian:12", "examplepkg") in entries


# --- OpenVEX -----------------------------------------------------------------------------------


def test_ubuntu_openvex_statements_carry_ubuntu_ecosystems():
    run = ingest("csaf", str(UBUNTU_OPENVEX))
    assert (run.status, run.added, run.skipped) == (FeedRun.Status.SUCCESS, 1, 0)
    document = "https://github.com/canonical/ubuntu-security-notices/blob/main/vex/cve/2023/CVE-2023-38545"
    statements = VexStatement.objects.filter(document_id=document, cve_id="CVE-2023-38545")
    assert statements.count() == 618  # 149 fixed + 113 affected + 356 not affected products
    assert set(statements.values_list("ecosystem", flat=True)) == {
        "Ubuntu:16.04:LTS",
        "Ubuntu:22.04:LTS",
        "Ubuntu:24.04:LTS",
        "Ubuntu:Pro:14.04:LTS",
        "Ubuntu:Pro:16.04:LTS",
        "Ubuntu:Pro:18.04:LTS",
        "Ubuntu:Pro:20.04:LTS",
    }
    jammy = vex(document, "CVE-2023-38545", "pkg:deb/ubuntu/curl@7.81.0-1ubuntu1.24?arch=source&distro=jammy")
    assert (jammy.status, jammy.ecosystem, jammy.package, jammy.version) == (
        "fixed",
        "Ubuntu:22.04:LTS",
        "curl",
        "7.81.0-1ubuntu1.24",
    )
    trusty = vex(
        document,
        "CVE-2023-38545",
        "pkg:deb/ubuntu/curl@7.35.0-1ubuntu2.20+esm19?arch=amd64&distro=esm-infra-legacy/trusty",
    )
    assert (trusty.status, trusty.ecosystem, trusty.justification) == (
        "not_affected",
        "Ubuntu:Pro:14.04:LTS",
        "vulnerable_code_not_present",
    )
    assert "affects 7.69 and higher" in trusty.statement
    xenial = vex(document, "CVE-2023-38545", "pkg:deb/ubuntu/curl@7.47.0-1ubuntu2.19?arch=amd64&distro=xenial")
    assert (xenial.status, xenial.ecosystem) == ("affected", "Ubuntu:16.04:LTS")
    assert "no longer supported" in xenial.statement


def test_openvex_revision_replaces_statements_and_a_partly_unreadable_one_deletes_nothing(tmp_path):
    data = json.loads(UBUNTU_OPENVEX.read_bytes())
    document, cve = data["@id"], "CVE-2023-38545"
    ingest("csaf", str(UBUNTU_OPENVEX))
    fixed, affected = data["statements"][0], data["statements"][1]
    dropped = fixed["products"].pop()["@id"]
    moved = affected["products"][0]["@id"]
    affected["status"] = "fixed"
    (tmp_path / "revision.json").write_text(json.dumps(data))
    run = ingest("csaf", str(tmp_path / "revision.json"))
    assert (run.added, run.updated, run.unchanged) == (0, 1, 0)
    assert not VexStatement.objects.filter(document_id=document, product_id=dropped).exists()
    assert vex(document, cve, moved).status == "fixed"
    count = VexStatement.objects.filter(document_id=document).count()
    # A revision with a statement that cannot be read: the rest lands, nothing is deleted.
    fixed["products"].pop()
    affected["status"] = "not_a_status"
    (tmp_path / "revision.json").write_text(json.dumps(data))
    run = ingest("csaf", str(tmp_path / "revision.json"))
    assert (run.status, run.skipped) == (FeedRun.Status.PARTIAL, 1)
    assert "not_a_status" in run.errors[0]["error"]
    assert VexStatement.objects.filter(document_id=document).count() == count


# --- Package URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purl", "expected"),
    [
        (
            "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12",
            ("Debian:12", "curl", "7.88.1-10+deb12u5"),
        ),
        ("pkg:deb/debian/curl@7.74.0-1.3?distro=bullseye", ("Debian:11", "curl", "7.74.0-1.3")),
        ("pkg:deb/debian/openssl@1%3A3.0.11-1?distro=bookworm", ("Debian:12", "openssl", "1:3.0.11-1")),
        ("pkg:deb/ubuntu/curl@8.5.0-2ubuntu10.6?distro=noble", ("Ubuntu:24.04:LTS", "curl", "8.5.0-2ubuntu10.6")),
        ("pkg:deb/ubuntu/curl@8.2.1-1ubuntu3?distro=mantic", ("Ubuntu:23.10", "curl", "8.2.1-1ubuntu3")),
        ("pkg:deb/ubuntu/curl@7.58.0?distro=esm-infra%2Fbionic", ("Ubuntu:Pro:18.04:LTS", "curl", "7.58.0")),
        ("pkg:deb/ubuntu/nodejs@12.22.9?distro=esm-apps/jammy", ("Ubuntu:Pro:22.04:LTS", "nodejs", "12.22.9")),
        ("pkg:deb/ubuntu/curl@8.0?distro=resolute", ("Ubuntu:26.04:LTS", "curl", "8.0")),
        (
            "pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=x86_64&epoch=1&distro=rhel-9.4",
            ("Red Hat:9", "openssl", "1:3.0.7-27.el9"),
        ),
        ("pkg:rpm/redhat/sudo@1.9.5p2-10.el9_3?arch=x86_64&distro=rhel-9", ("Red Hat:9", "sudo", "0:1.9.5p2-10.el9_3")),
        ("pkg:pypi/Django_REST@3.14.0", ("PyPI", "django-rest", "3.14.0")),
        ("pkg:pypi/requests", ("PyPI", "requests", "")),
        ("pkg:npm/%40angular/core@16.2.0", ("npm", "@angular/core", "16.2.0")),
        ("pkg:npm/@angular/core", ("npm", "@angular/core", "")),
        ("pkg:npm/lodash@4.17.21", ("npm", "lodash", "4.17.21")),
        (
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            ("Maven", "org.apache.logging.log4j:log4j-core", "2.14.1"),
        ),
        ("pkg:golang/github.com/gorilla/mux@v1.8.0#sub/dir", ("Go", "github.com/gorilla/mux", "v1.8.0")),
        ("pkg:cargo/rand@0.7.2", ("crates.io", "rand", "0.7.2")),
        ("pkg:gem/rails@7.0.4", ("RubyGems", "rails", "7.0.4")),
        ("pkg:nuget/Newtonsoft.Json@13.0.1", ("NuGet", "Newtonsoft.Json", "13.0.1")),
        ("pkg:composer/Laravel/Framework@10.0.0", ("Packagist", "laravel/framework", "10.0.0")),
        ("PKG://pypi/flask@2.3.0", ("PyPI", "flask", "2.3.0")),
        # Identities we cannot match: no release, a source RPM, an unmapped pocket or type, not a purl.
        ("pkg:deb/debian/curl@7.88.1-10", None),
        ("pkg:rpm/redhat/bind@9.8.2-0.68.rc1.el6_10.17?arch=src&epoch=32&distro=rhel-6", None),
        ("pkg:rpm/redhat/sudo@1.9.5p2-10.el9_3?arch=x86_64", None),
        ("pkg:deb/ubuntu/openssl@3.0.2?distro=fips-updates/jammy", None),
        ("pkg:oci/ubi9@sha256%3Aabc?repository_url=registry.access.redhat.com/ubi9", None),
        ("pkg:/broken", None),
        ("pkg:", None),
        ("https://example.com/curl", None),
        ("", None),
    ],
)
def test_package_key_from_purl(purl, expected):
    key = package_key(purl)
    assert (None if key is None else (key.ecosystem, key.name, key.version)) == expected


def test_purl_components_are_percent_decoded_one_by_one():
    purl = parse_purl(
        "pkg:generic/acme%2Ftools/name%40with%2Fslash@1.0%2B2?Checksum=sha1%3Aabc&empty=&arch=x86_64#a/./b/../c"
    )
    assert (purl.type, purl.namespace, purl.name, purl.version) == ("generic", "acme/tools", "name@with/slash", "1.0+2")
    assert purl.qualifiers == {"checksum": "sha1:abc", "arch": "x86_64"}  # keys lowercased, empty dropped
    assert purl.subpath == "a/b/c"
    assert parse_purl("pkg:npm/%40scope/pkg@1.0").without_version() == "pkg:npm/%40scope/pkg"
    for bad in ("curl", "pkg:", "pkg:/curl", "pkg:9type/x", "pkg:npm/x@1?bad key=1", "pkg:npm/@1.0"):
        with pytest.raises(PurlError):
            parse_purl(bad)


# --- Malformed documents, idempotence ----------------------------------------------------------


def test_malformed_documents_are_reported_by_name_and_the_rest_of_the_folder_lands(tmp_path):
    shutil.copy(REDHAT / "rhsa-2024_0010.json", tmp_path)
    shutil.copy(REDHAT / "rhsa-2025_23414.json", tmp_path)
    shutil.copy(EXAMPLES / "provider-metadata-example-01.json", tmp_path)
    (tmp_path / "truncated.json").write_bytes((REDHAT / "rhsa-2024_0811.json").read_bytes()[:5000])
    no_id = json.loads((REDHAT / "rhsa-2024_0811.json").read_bytes())
    del no_id["document"]["tracking"]["id"]
    (tmp_path / "no-tracking-id.json").write_text(json.dumps(no_id))
    csaf_1 = json.loads((EXAMPLES / "bsi-2022-0001.json").read_bytes())
    csaf_1["document"]["csaf_version"] = "1.2"
    (tmp_path / "csaf-1.json").write_text(json.dumps(csaf_1))
    (tmp_path / "openvex-without-id.json").write_text(json.dumps({"@context": "https://openvex.dev/ns/v0.2.0"}))

    run = ingest("csaf", str(tmp_path))

    assert (run.status, run.skipped) == (FeedRun.Status.PARTIAL, 4)
    reasons = {Path(e["record"]).name: e["error"] for e in run.errors}
    assert reasons.keys() == {"truncated.json", "no-tracking-id.json", "csaf-1.json", "openvex-without-id.json"}
    assert reasons["truncated.json"].startswith("not JSON")
    assert reasons["no-tracking-id.json"] == "document.tracking.id: required"
    assert "only CSAF 2.0" in reasons["csaf-1.json"]
    assert reasons["openvex-without-id.json"] == "@id: required"
    assert set(Advisory.objects.values_list("advisory_id", flat=True)) == {"RHSA-2024:0010", "RHSA-2025:23414"}


def test_second_ingest_is_all_unchanged_and_writes_nothing(tmp_path):
    for source in (REDHAT, CSAF_VEX):
        shutil.copytree(source, tmp_path / source.name)
    shutil.copy(UBUNTU_OPENVEX, tmp_path)
    shutil.copy(CONSTRUCTED, tmp_path)
    sent = []

    def receiver(sender, **kwargs):
        sent.append(kwargs)

    feed_ingested.connect(receiver, dispatch_uid="tests.csaf.signals")
    try:
        first = ingest("csaf", str(tmp_path))
        assert (first.status, first.skipped) == (FeedRun.Status.SUCCESS, 0)
        # 5 Red Hat advisories + bind's VEX, 13 VEX documents, OpenVEX, the constructed advisory + its VEX.
        assert (first.added, first.updated, first.unchanged) == (22, 0, 0)
        assert {"RHSA-2024:0010", "EXAMPLE-2099-0001"} <= sent[0]["advisory_ids"]
        rows = (Advisory.objects.count(), AffectedPackage.objects.count(), VexStatement.objects.count())
        with CaptureQueriesContext(connection) as queries:
            second = ingest("csaf", str(tmp_path))
        assert (second.status, second.added, second.updated, second.unchanged) == (FeedRun.Status.SUCCESS, 0, 0, 22)
        assert feed_writes(queries) == []
        assert (Advisory.objects.count(), AffectedPackage.objects.count(), VexStatement.objects.count()) == rows
        assert len(sent) == 1  # nothing changed: no re-matching asked for
    finally:
        feed_ingested.disconnect(dispatch_uid="tests.csaf.signals")


def test_zip_archive_by_command_and_a_single_document_url(feed_server, tmp_path):
    archive = tmp_path / "csaf.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in (REDHAT / "rhsa-2024_0010.json", CSAF_VEX / "sec-vex-2022-0001.json", UBUNTU_OPENVEX):
            zipped.write(file, f"csaf/{file.name}")
    out = StringIO()
    call_command("ingest_advisories", "csaf", str(archive), stdout=out)
    assert out.getvalue().strip() == "Succeeded: 3 added, 0 updated, 0 unchanged, 0 skipped"
    assert Advisory.objects.filter(advisory_id="RHSA-2024:0010").exists()
    assert VexStatement.objects.filter(document_id="SEC-VEX-2022-0001").count() == 3

    url = feed_server.serve_file("csaf/rhsa-2025_23414.json", REDHAT / "rhsa-2025_23414.json")
    source = FeedSource.objects.create(name="One RHSA", kind="csaf", url=url)
    # The source holds the advisory and the document's 48 not_affected statements.
    assert (sync_source(source).added, source.record_count) == (2, 49)
    assert VexStatement.objects.filter(source=source).count() == 48
    assert sync_source(source).status == FeedRun.Status.NOT_MODIFIED
    assert Advisory.objects.get(advisory_id="RHSA-2025:23414").source == source


# --- Red Hat changes.csv sync ------------------------------------------------------------------

ADVISORIES_PATH = "data/csaf/v2/advisories"
# (path under the index, document, its current_release_date as changes.csv would list it)
DIRECTORY = [
    ("2024/rhsa-2024_6163.json", "rhsa-2024_6163.json", "2026-03-26T18:50:03+00:00"),
    ("2024/rhsa-2024_9371.json", "rhsa-2024_9371.json", "2026-03-18T02:40:17+00:00"),
    ("2025/rhsa-2025_23414.json", "rhsa-2025_23414.json", "2025-12-18T11:16:21+00:00"),
    ("2024/rhsa-2024_0811.json", "rhsa-2024_0811.json", "2025-09-10T15:12:09+00:00"),
    ("2024/rhsa-2024_0010.json", "rhsa-2024_0010.json", "2024-11-23T02:54:26+00:00"),
]


def serve_directory(feed_server, tmp_path: Path, rows: list[tuple[str, str]]) -> str:
    for path, name, _ in DIRECTORY:
        feed_server.serve_file(f"{ADVISORIES_PATH}/{path}", REDHAT / name)
    index = tmp_path / "changes.csv"
    index.write_text("".join(f'"{path}","{stamp}"\n' for path, stamp in rows))  # newest first, as Red Hat does
    return feed_server.serve_file(f"{ADVISORIES_PATH}/changes.csv", index)


def fetched(feed_server) -> list[str]:
    return [r["path"].removeprefix(f"/{ADVISORIES_PATH}/") for r in feed_server.requests]


def test_changes_csv_sync_fetches_only_documents_changed_since_the_cursor(feed_server, tmp_path):
    url = serve_directory(feed_server, tmp_path, [(p, s) for p, _, s in DIRECTORY])
    source = FeedSource.objects.create(
        name="Red Hat CSAF", kind="csaf", url=url, cursor={CURSOR_KEY: "2025-10-01T00:00:00+00:00"}
    )

    run = sync_source(source)

    assert (run.status, run.added) == (FeedRun.Status.SUCCESS, 4)  # 3 advisories + bind's VEX statements
    # Oldest change first, so the cursor only ever moves forward.
    assert fetched(feed_server) == [
        "changes.csv",
        "2025/rhsa-2025_23414.json",
        "2024/rhsa-2024_9371.json",
        "2024/rhsa-2024_6163.json",
    ]
    assert set(Advisory.objects.values_list("advisory_id", flat=True)) == {
        "RHSA-2025:23414",
        "RHSA-2024:9371",
        "RHSA-2024:6163",
    }
    source.refresh_from_db()
    assert source.cursor[CURSOR_KEY] == "2026-03-26T18:50:03+00:00"
    assert source.etag and source.record_count == 3 + 48  # three advisories and bind's VEX statements

    # Unchanged index: the server answers 304 to the validators we kept, and nothing else is asked.
    feed_server.requests.clear()
    assert sync_source(source).status == FeedRun.Status.NOT_MODIFIED
    assert fetched(feed_server) == ["changes.csv"]
    assert feed_server.requests[0]["headers"]["If-None-Match"] == source.etag

    # RHSA-2024:0811 changes again: only it is fetched.
    feed_server.requests.clear()
    rows = [("2024/rhsa-2024_0811.json", "2026-04-01T08:00:00+00:00")] + [(p, s) for p, _, s in DIRECTORY]
    serve_directory(feed_server, tmp_path, rows)
    run = sync_source(source)
    assert (run.status, run.added) == (FeedRun.Status.SUCCESS, 1)
    assert fetched(feed_server) == ["changes.csv", "2024/rhsa-2024_0811.json"]
    source.refresh_from_db()
    assert source.cursor[CURSOR_KEY] == "2026-04-01T08:00:00+00:00"


def test_changes_csv_sync_that_fails_midway_resumes_where_it_stopped(feed_server, tmp_path):
    url = serve_directory(feed_server, tmp_path, [(p, s) for p, _, s in DIRECTORY])
    feed_server.serve(f"{ADVISORIES_PATH}/2024/rhsa-2024_9371.json", Reply(503, b"try later"))
    source = FeedSource.objects.create(
        name="Red Hat CSAF", kind="csaf", url=url, cursor={CURSOR_KEY: "2025-10-01T00:00:00+00:00"}
    )

    run = sync_source(source)

    assert run.status == FeedRun.Status.FAILED and "503" in run.error
    source.refresh_from_db()
    assert source.cursor[CURSOR_KEY] == "2025-12-18T11:16:21+00:00"  # after the one committed document
    assert source.etag == ""  # kept back, or the next sync would be answered 304 and never resume
    assert set(Advisory.objects.values_list("advisory_id", flat=True)) == {"RHSA-2025:23414"}

    feed_server.requests.clear()
    feed_server.serve_file(f"{ADVISORIES_PATH}/2024/rhsa-2024_9371.json", REDHAT / "rhsa-2024_9371.json")
    run = sync_source(source)
    assert (run.status, run.added) == (FeedRun.Status.SUCCESS, 2)
    assert fetched(feed_server) == ["changes.csv", "2024/rhsa-2024_9371.json", "2024/rhsa-2024_6163.json"]
    assert Advisory.objects.filter(advisory_id="RHSA-2025:23414").count() == 1


def test_changes_csv_rows_that_are_gone_or_point_elsewhere_are_reported_and_passed_over(feed_server, tmp_path):
    rows = [
        ("2024/rhsa-2024_0010.json", "2024-11-23T02:54:26+00:00"),
        ("2024/rhsa-2024_9999.json", "2024-11-20T00:00:00+00:00"),  # withdrawn: 404
        ("../../../secret.json", "2024-11-21T00:00:00+00:00"),
        ("https://elsewhere.example/x.json", "2024-11-21T00:00:00+00:00"),
        ("2024/rhsa-2024_0811.json", "yesterday"),
    ]
    url = serve_directory(feed_server, tmp_path, rows)
    source = FeedSource.objects.create(name="Red Hat CSAF", kind="csaf", url=url)

    run = sync_source(source)

    assert (run.status, run.added, run.skipped) == (FeedRun.Status.PARTIAL, 1, 4)
    errors = {e["record"].rsplit("/", 1)[-1]: e["error"] for e in run.errors}
    assert errors["rhsa-2024_9999.json"] == "listed in the index but gone from the server"
    assert "not a JSON document under" in errors["changes.csv line 3"]
    assert "not a JSON document under" in errors["changes.csv line 4"]
    assert "not an RFC 3339 time" in errors["changes.csv line 5"]
    assert fetched(feed_server) == ["changes.csv", "2024/rhsa-2024_9999.json", "2024/rhsa-2024_0010.json"]
    source.refresh_from_db()
    assert source.cursor[CURSOR_KEY] == "2024-11-23T02:54:26+00:00"
