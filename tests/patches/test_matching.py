"""Matching kept current incrementally: inventories, advisories, threat intel, VEX, Windows."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from advisories.feeds.base import content_hash
from advisories.feeds.osv import parse_record
from advisories.models import EpssScore, KevEntry, VexStatement, WindowsKb
from advisories.store import store_advisories
from devices.inventory import apply_inventory
from devices.models import Device, DeviceUpdate, Update
from patches.matching import engine
from patches.models import Finding
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)


def osv(advisory_id, name, fixed, ecosystem="Debian:12", cves=("CVE-2099-0001",), **extra):
    record = {
        "id": advisory_id,
        "modified": "2026-11-01T00:00:00Z",
        "published": "2026-10-01T00:00:00Z",
        "upstream": list(cves),
        "summary": f"{name} issue",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }
        ],
        **extra,
    }
    return parse_record(record)


def publish(*records):
    store_advisories("osv", list(records), None)
    return engine.match_advisories([r.key for r in records], now=NOW)


def debian(tenant, hostname, packages, **fields):
    device = DeviceFactory(tenant=tenant, hostname=hostname, **fields)
    apply_inventory(device, "dpkg", packages)
    engine.match_devices([device.pk], now=NOW)
    return device


def pkg(name, version, source=None, source_version=None):
    return {
        "name": name,
        "version": version,
        "arch": "amd64",
        "source": source or name,
        "source_version": source_version or version,
    }


def open_refs(device):
    return sorted(Finding.objects.filter(device=device, state="open").values_list("reference", "package_name"))


@pytest.fixture
def fleet(world):
    publish(
        osv("DSA-9001-1", "openssl", "3.0.15-1~deb12u1"),
        osv("DSA-9002-1", "curl", "7.88.1-10+deb12u8", cves=("CVE-2099-0002",)),
    )
    a = debian(
        world.tenant_a, "a-web", [pkg("libssl3", "3.0.14-1~deb12u2", "openssl"), pkg("curl", "7.88.1-10+deb12u5")]
    )
    b = debian(world.tenant_b, "b-web", [pkg("libssl3", "3.0.14-1~deb12u2", "openssl")])
    return a, b


def test_an_inventory_change_recomputes_only_that_device(fleet):
    a, b = fleet
    b_before = Finding.objects.get(device=b).evaluated_at
    later = NOW + dt.timedelta(hours=1)
    apply_inventory(a, "dpkg", [pkg("libssl3", "3.0.15-1~deb12u1", "openssl"), pkg("curl", "7.88.1-10+deb12u5")])
    engine.match_devices([a.pk], now=later)
    fixed = Finding.objects.get(device=a, reference="DSA-9001-1")
    assert (fixed.state, fixed.fixed_at) == ("fixed", later)
    assert open_refs(a) == [("DSA-9002-1", "curl")]
    assert Finding.objects.get(device=b).evaluated_at == b_before  # untouched


def test_a_new_advisory_reaches_the_whole_fleet_and_nothing_else(fleet):
    a, b = fleet
    untouched = Finding.objects.get(device=a, reference="DSA-9002-1").evaluated_at
    stats = publish(osv("DSA-9003-1", "openssl", "3.0.16-1~deb12u1", cves=("CVE-2099-0003",)))
    assert stats["inserted"] == 2
    assert ("DSA-9003-1", "libssl3") in open_refs(a) and ("DSA-9003-1", "libssl3") in open_refs(b)
    assert Finding.objects.get(device=a, reference="DSA-9002-1").evaluated_at == untouched


def test_a_corrected_advisory_updates_its_findings(fleet):
    a, _ = fleet
    publish(osv("DSA-9001-1", "openssl", "3.0.14-1~deb12u1"))  # the fix was older than thought
    assert Finding.objects.get(device=a, reference="DSA-9001-1").state == "fixed"
    publish(osv("DSA-9001-1", "openssl", "3.0.15-1~deb12u2"))
    finding = Finding.objects.get(device=a, reference="DSA-9001-1")
    assert (finding.state, finding.fixed_at, finding.fixed_version) == ("open", None, "3.0.15-1~deb12u2")


@pytest.mark.usefixtures("fleet")
def test_a_withdrawn_advisory_takes_its_findings_away():
    publish(osv("DSA-9001-1", "openssl", "3.0.15-1~deb12u1", withdrawn="2026-11-10T00:00:00Z"))
    assert not Finding.objects.filter(reference="DSA-9001-1").exists()


def test_a_downgrade_reopens_the_finding(fleet):
    a, _ = fleet
    apply_inventory(a, "dpkg", [pkg("libssl3", "3.0.15-1~deb12u1", "openssl")])
    engine.match_devices([a.pk], now=NOW)
    apply_inventory(a, "dpkg", [pkg("libssl3", "3.0.14-1~deb12u2", "openssl")])
    engine.match_devices([a.pk], now=NOW)
    finding = Finding.objects.get(device=a, reference="DSA-9001-1")
    assert (finding.state, finding.fixed_at) == ("open", None)
    assert Finding.objects.filter(device=a, reference="DSA-9001-1").count() == 1


def test_threat_intel_arriving_later_raises_the_score(fleet):
    a, _ = fleet
    before = Finding.objects.get(device=a, reference="DSA-9001-1")
    KevEntry.objects.create(
        cve_id="CVE-2099-0001", date_added=dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 22), ransomware="Known"
    )
    EpssScore.objects.create(cve_id="CVE-2099-0001", score=0.91, percentile=0.99, scored_on=dt.date(2026, 11, 20))
    engine.match_intel(["CVE-2099-0001"], now=NOW)
    after = Finding.objects.get(device=a, reference="DSA-9001-1")
    assert (after.kev, after.kev_due, after.ransomware, after.epss) == (True, dt.date(2026, 11, 22), True, 0.91)
    assert after.score > before.score + 130 and after.label in ("act", "attend")
    curl = Finding.objects.get(device=a, reference="DSA-9002-1")
    assert not curl.kev  # another CVE, untouched


def test_vex_not_affected_suppresses_and_its_removal_reopens(fleet):
    a, b = fleet
    statement = VexStatement.objects.create(
        document_id="vendor-vex-1",
        cve_id="CVE-2099-0001",
        product_id="openssl-deb12",
        ecosystem="Debian:12",
        package="openssl",
        version="",
        status="not_affected",
        justification="vulnerable_code_not_in_execute_path",
    )
    engine.match_devices([a.pk, b.pk], now=NOW)
    assert set(Finding.objects.filter(reference="DSA-9001-1").values_list("state", flat=True)) == {"suppressed"}
    statement.delete()
    engine.match_devices([a.pk], now=NOW)
    assert Finding.objects.get(device=a, reference="DSA-9001-1").state == "open"


def test_ubuntu_pro_devices_also_get_esm_advisories(world):
    publish(osv("UBUNTU-CVE-2099-1", "openssl", "3.0.2-0ubuntu1.18", ecosystem="Ubuntu:Pro:22.04:LTS"))
    common = [pkg("libssl3", "3.0.2-0ubuntu1.15", "openssl")]
    pro = debian(world.tenant_a, "pro", common, ecosystem="Ubuntu:22.04:LTS", ubuntu_pro=True)
    plain = debian(world.tenant_a, "plain", common, ecosystem="Ubuntu:22.04:LTS")
    assert open_refs(pro) == [("UBUNTU-CVE-2099-1", "libssl3")]
    assert open_refs(plain) == []


def test_findings_stay_inside_their_tenant(fleet):
    a, b = fleet
    assert set(Finding.objects.filter(device=a).values_list("tenant_id", flat=True)) == {a.tenant_id}
    assert set(Finding.objects.filter(device=b).values_list("tenant_id", flat=True)) == {b.tenant_id}


# ---- Windows ----------------------------------------------------------------------------------


def windows_update(device, kb, *, installed=False, supersedes=(), classification="Security Updates"):
    update, _ = Update.objects.get_or_create(
        kind="windows",
        ecosystem="Windows",
        identifier=f"guid-{kb}",
        version="1",
        defaults={
            "kb": kb,
            "title": f"Update {kb}",
            "classification": classification,
            "supersedes": [f"guid-{s}" for s in supersedes],
            "severity": "Important",
        },
    )
    DeviceUpdate.objects.create(tenant=device.tenant, device=device, update=update, installed=installed)


def test_windows_findings_skip_what_another_update_supersedes(world):
    device = DeviceFactory(tenant=world.tenant_a, hostname="pc-1", os_family="windows", ecosystem="Windows:10.0.26100")
    WindowsKb.objects.create(
        kb="5077181",
        document="2026-Feb",
        cves=["CVE-2026-0001", "CVE-2026-0002"],
        severity="Critical",
        supersedes=["5074109"],
    )
    windows_update(device, "KB5074109")  # January's cumulative update, superseded per the CVRF
    windows_update(device, "KB5077181")  # February's
    windows_update(device, "KB5000001", supersedes=())  # older, superseded by WUA's own data below
    windows_update(device, "KB5000002", supersedes=("KB5000001",), installed=True)
    windows_update(device, "KB5000003", classification="Drivers")  # not a vulnerability
    engine.match_devices([device.pk], now=NOW)
    (finding,) = Finding.objects.filter(device=device, state="open")
    assert (finding.kind, finding.reference, finding.severity) == ("windows", "KB5077181", "critical")
    assert finding.cves == ["CVE-2026-0001", "CVE-2026-0002"]
    assert finding.score > 0 and finding.label

    # A full recompute scores them the same way, as it inserts them.
    Finding.objects.filter(device=device).delete()
    engine.match_everything(now=NOW)
    again = Finding.objects.get(device=device, state="open")
    assert (again.score, again.label) == (finding.score, finding.label)

    DeviceUpdate.objects.filter(device=device, update__kb="KB5077181").update(installed=True)
    engine.match_devices([device.pk], now=NOW)
    assert not Finding.objects.filter(device=device, state="open").exists()


# ---- The worker path ----------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_agent_upload_brings_findings_through_the_worker(celery_worker, client, world):
    import time

    from tests.devices.agent_helpers import enroll, upload

    publish(osv("DSA-9001-1", "openssl", "3.0.15-1~deb12u1"))
    token = enroll(client, world.tenant_a)["device_token"]
    assert upload(client, token, [pkg("libssl3", "3.0.14-1~deb12u2", "openssl")]).status_code == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not Finding.objects.filter(reference="DSA-9001-1").exists():
        time.sleep(0.1)
    finding = Finding.objects.get(reference="DSA-9001-1")
    assert finding.device == Device.objects.get() and finding.state == "open"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_criticality_change_rescores_the_device_through_the_worker(celery_worker, world):
    import time

    publish(osv("DSA-9001-1", "openssl", "3.0.15-1~deb12u1"))
    device = debian(world.tenant_a, "a-db", [pkg("libssl3", "3.0.14-1~deb12u2", "openssl")])
    before = Finding.objects.get(device=device).score
    device = Device.objects.get(pk=device.pk)
    device.criticality = "critical"
    device.save()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and Finding.objects.get(device=device).score == before:
        time.sleep(0.1)
    assert Finding.objects.get(device=device).score > before


def test_records_are_hashable_for_idempotence():
    record = json.loads(json.dumps({"a": 1}))
    assert content_hash(record) == content_hash({"a": 1})
