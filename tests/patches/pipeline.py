"""The fleet the findings, advisory and CVE page tests share, built with the real pipeline:
Debian 12 DSAs, CISA KEV, EPSS and NVD ingested from files, two tenants' dpkg inventories imported
with `manage.py import_inventory`, and every finding materialised by the matcher."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management import call_command

from advisories.ingest import ingest
from devices.models import Device
from patches.matching import engine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DSA_FOLDER = FIXTURES / "advisories" / "osv" / "debian12_from_dsa"
KEV_FILE = FIXTURES / "advisories" / "kev" / "known_exploited_vulnerabilities.json"
GIT_FOLDER = FIXTURES / "advisories" / "osv" / "osv_scanner_offline_db_sample" / "GIT"
HARD_CASES = FIXTURES / "inventories" / "debian12_hard_cases.dpkg"

# Tenant B runs older builds: glibc before Looney Tunables (KEV), an older OpenSSH and Chromium.
# Its libssl3 equals tenant A's, so CVE-2024-6119 (DSA-5764-1) is open in both tenants.
BRAVO_INVENTORY = "\n".join(
    "\t".join(fields)
    for fields in [
        ("ii ", "libc6:amd64", "2.36-9+deb12u1", "amd64", "glibc", "2.36-9+deb12u1"),
        ("ii ", "libssl3:amd64", "3.0.13-1~deb12u1", "amd64", "openssl", "3.0.13-1~deb12u1"),
        ("ii ", "openssh-client", "1:9.2p1-2+deb12u2", "amd64", "openssh", "1:9.2p1-2+deb12u2"),
        ("ii ", "chromium", "134.0.6998.35-1~deb12u1", "amd64", "chromium", "134.0.6998.35-1~deb12u1"),
    ]
)

# A day's EPSS file in FIRST's format, for the CVEs the fleet has.
EPSS_CSV = """#model_version:v2025.03.14,score_date:2025-09-01T00:00:00+0000
cve,epss,percentile
CVE-2024-6119,0.00512,0.61234
CVE-2023-4911,0.75001,0.99102
CVE-2024-6387,0.41237,0.97311
"""


def _nvd_record(cve_id: str, description: str, vector: str, score: float, severity: str) -> dict:
    metric = {"vectorString": vector, "baseScore": score, "baseSeverity": severity, "version": "3.1"}
    return {
        "cve": {
            "id": cve_id,
            "published": "2025-01-01T00:00:00.000",
            "lastModified": "2025-01-02T00:00:00.000",
            "vulnStatus": "Analyzed",
            "descriptions": [{"lang": "en", "value": description}],
            "metrics": {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary", "cvssData": metric}]},
        }
    }


# An NVD API 2.0 page constructed for these tests (the scores are chosen, not NVD's): one critical
# CVE on tenant A's sudo, one high on tenant B's OpenSSH.
NVD_PAGE = {
    "resultsPerPage": 2,
    "startIndex": 0,
    "totalResults": 2,
    "format": "NVD_CVE",
    "version": "2.0",
    "vulnerabilities": [
        _nvd_record(
            "CVE-2025-32462",
            "Constructed for the tests: sudo host option.\nSecond line <b>not markup</b>.",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            9.8,
            "CRITICAL",
        ),
        _nvd_record(
            "CVE-2024-6387",
            "Constructed for the tests: OpenSSH signal handler race.",
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
            8.1,
            "HIGH",
        ),
    ],
}

ALPHA_HOST = "alpha-hard-cases"
BRAVO_HOST = "bravo-old-build"
SHARED_CVE = "CVE-2024-6119"


def build_fleet(world, tmp_path) -> tuple[Device, Device]:
    assert ingest("osv", str(DSA_FOLDER)).skipped == 0
    assert ingest("kev", str(KEV_FILE)).status == "success"
    epss = tmp_path / "epss_scores.csv"
    epss.write_text(EPSS_CSV)
    assert ingest("epss", str(epss)).status == "success"
    nvd = tmp_path / "nvd_page.json"
    nvd.write_text(json.dumps(NVD_PAGE))
    assert ingest("nvd", str(nvd)).status == "success"
    bravo = tmp_path / "bravo.dpkg"
    bravo.write_text(BRAVO_INVENTORY + "\n")
    for path, tenant, host in [(HARD_CASES, world.tenant_a, ALPHA_HOST), (bravo, world.tenant_b, BRAVO_HOST)]:
        call_command("import_inventory", str(path), tenant=tenant.slug, hostname=host, os="Debian:12")
    engine.match_everything()
    return Device.objects.get(hostname=ALPHA_HOST), Device.objects.get(hostname=BRAVO_HOST)
