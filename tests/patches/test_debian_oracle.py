"""Two Debian 12 inventories against the Debian DSAs: the findings must equal dpkg's verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from advisories.ingest import ingest
from devices.models import Device
from patches.matching import engine
from patches.models import Finding
from tests.devices.test_import_inventory import real_dpkg_query
from tests.patches.debian_oracle import DSA_FOLDER, expected_findings

pytestmark = pytest.mark.django_db
HARD_CASES = Path(__file__).resolve().parents[1] / "fixtures" / "inventories" / "debian12_hard_cases.dpkg"


@pytest.fixture
def dsas(db):
    run = ingest("osv", str(DSA_FOLDER))
    assert run.skipped == 0 and run.added == 154


def findings_of(device) -> set[tuple[str, str, str, str]]:
    rows = Finding.objects.filter(device=device, state="open")
    return {(f.reference, f.package_name, f.installed_version, f.fixed_version) for f in rows}


def import_and_match(tmp_path, world, text: str, hostname: str):
    path = tmp_path / "inventory.txt"
    path.write_text(text)
    call_command("import_inventory", str(path), tenant=world.tenant_a.slug, hostname=hostname, os="Debian:12")
    device = Device.objects.get(hostname=hostname)
    engine.match_devices([device.pk])
    return device


def test_this_machines_real_inventory(tmp_path, world, dsas):
    text = real_dpkg_query()
    device = import_and_match(tmp_path, world, text, "this-machine")
    assert findings_of(device) == expected_findings(text)


def test_the_hard_cases(tmp_path, world, dsas):
    text = HARD_CASES.read_text()
    device = import_and_match(tmp_path, world, text, "hard-cases")
    expected = expected_findings(text)
    assert findings_of(device) == expected
    # The cases the inventory was written for, spelled out:
    refs = {(dsa, name) for dsa, name, _, _ in expected}
    assert ("DSA-5764-1", "libssl3") in refs and ("DSA-5532-1", "libssl3") not in refs  # between two DSAs
    assert ("DSA-5949-1", "libxml2") in refs  # binNMU: matched on the older source version
    assert ("DSA-5884-1", "libxslt1.1") in refs  # own epoch: matched on the source version
    assert not any(name == "libc6" for _, name in refs)  # equal to the fixed version
    assert not any(name in ("curl", "libcurl4") for _, name in refs)  # rc: not installed
    assert ("DSA-5979-1", "libxslt1-dev") in refs and ("DSA-5884-1", "libxslt1-dev") not in refs


def test_the_same_result_from_a_full_recompute(tmp_path, world, dsas):
    text = HARD_CASES.read_text()
    device = import_and_match(tmp_path, world, text, "hard-cases")
    before = findings_of(device)
    engine.match_everything()
    assert findings_of(device) == before
