"""The real agent on this Debian machine, in dry-run, against a live portal (and the fleet simulator)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devices.models import Device, DeviceSoftware, DeviceUpdate, EnrollmentToken
from tests.devices.test_import_inventory import real_dpkg_query

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_redis():
    from portal.redis import client

    client().flushdb()


def agent(tmp_path, *args, check=True):
    config = tmp_path / "agent.conf"
    if not config.exists():
        config.write_text(f"[agent]\nstate_dir = {tmp_path / 'state'}\nlog_file =\nscan_interval = 0\n")
    result = subprocess.run(
        [sys.executable, "-m", "agent", "--config", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_agent_enrolls_uploads_the_real_inventory_and_checks_in(live_server, world, tmp_path):
    _, raw = EnrollmentToken.issue(world.tenant_a, "e2e")
    agent(tmp_path, "enroll", "--server", live_server.url, "--token", raw)
    device = Device.objects.get(tenant=world.tenant_a)
    assert device.ecosystem == "Debian:12" and device.os_family == "linux"

    agent(tmp_path, "--dry-run", "once")

    installed = [line.split("\t") for line in real_dpkg_query().splitlines() if line.startswith("ii")]
    device.refresh_from_db()
    rows = DeviceSoftware.objects.filter(device=device).select_related("package")
    assert rows.count() == len(installed) == device.package_count
    stored = {(r.package.name, r.arch): (r.package.source_name, r.package.source_version) for r in rows}
    for _, binary, version, arch, source, source_version in installed:
        assert stored[(binary.split(":")[0], arch)] == (source or binary.split(":")[0], source_version or version)

    # apt-get -s reported the upgradable packages; they are stored as offered updates.
    simulated = subprocess.run(
        ["apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"], capture_output=True, text=True
    ).stdout
    upgradable = sum(1 for line in simulated.splitlines() if line.startswith("Inst "))
    assert DeviceUpdate.objects.filter(device=device).count() == upgradable

    # A second cycle finds nothing changed: the inventory is not sent again.
    stamp = device.inventory_updated_at
    agent(tmp_path, "--dry-run", "once")
    device.refresh_from_db()
    assert device.inventory_updated_at == stamp

    from devices import presence

    presence.flush()
    device.refresh_from_db()
    assert device.last_seen_at is not None and device.agent_version


def test_the_agent_stops_when_its_token_is_revoked(live_server, world, tmp_path):
    from devices.services import retire_device

    _, raw = EnrollmentToken.issue(world.tenant_a, "e2e")
    agent(tmp_path, "enroll", "--server", live_server.url, "--token", raw)
    retire_device(Device.objects.get(tenant=world.tenant_a))
    result = agent(tmp_path, "--dry-run", "once", check=False)
    assert result.returncode == 3, result.stderr


def test_simulate_fleet_runs_agents_over_http(live_server, world):
    from django.core.management import call_command

    call_command(
        "simulate_fleet",
        tenant="alpha",
        devices=4,
        server=live_server.url,
        mix="debian12,windows11",
        packages=200,
        concurrency=4,
        quiet=True,
    )
    devices = Device.objects.filter(tenant=world.tenant_a).order_by("hostname")
    assert devices.count() == 4 and all(d.is_simulated for d in devices)
    linux = [d for d in devices if d.os_family == "linux"]
    windows = [d for d in devices if d.os_family == "windows"]
    assert len(linux) == 2 and all(d.package_count == 200 for d in linux)
    assert all(d.ecosystem.startswith("Windows:10.0.26100") for d in windows)
    assert DeviceUpdate.objects.filter(device__in=windows, update__kb="KB5077181").count() == 2
