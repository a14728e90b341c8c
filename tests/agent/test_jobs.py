"""The agent runs the portal's jobs: against a live portal, with a fake apt-get or the simulated back-end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent import protocol
from agent.backends.dpkg import DpkgBackend
from agent.backends.simulated import SimulatedBackend
from agent.config import Config
from agent.jobs import JobRunner
from agent.runner import Agent
from agent.state import State
from agent.transport import PortalClient
from deployments import jobs as job_service
from deployments.models import HealthReport, Job, JobEvent, JobState
from devices.models import Device, EnrollmentToken

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
FACTS = {"fqdn": "", "machine_id": "", "arch": "amd64", "os": {"family": "linux", "id": "debian", "version_id": "12"}}
OPENSSL = {"manager": "apt", "name": "openssl", "version": "3.0.15-1~deb12u1"}
FAKE_APT = """#!/bin/sh
echo "$@" >> "{log}"
echo "Reading package lists..."
echo "Inst openssl [3.0.13-1~deb12u1] (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])"
echo "Conf openssl (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])"
"""


@pytest.fixture(autouse=True)
def _clean_redis():
    from portal.redis import client

    client().flushdb()
    yield
    client().flushdb()


def enrolled(live_server, tenant, directory: Path, hostname: str) -> tuple[PortalClient, State, Device]:
    _, raw = EnrollmentToken.issue(tenant, hostname)
    answer = PortalClient(live_server.url).post("enroll", protocol.enroll_body(raw, {**FACTS, "hostname": hostname}))
    result = protocol.enrollment_result(answer)
    state = State(str(directory / "state"))
    state.save_enrollment(str(result["device_id"]), str(result["device_token"]), live_server.url, 300)
    state.pin_script_key(result["script_signing_key"])
    device = Device.objects.get(uid=result["device_id"])
    return PortalClient(live_server.url, str(result["device_token"]), timeout=10), state, device


def queue(device, payload, **fields) -> Job:
    job = Job.objects.create(tenant=device.tenant, device=device, state=JobState.QUEUED, payload=payload, **fields)
    job_service.mark_devices_due([device.pk])
    return job


def test_a_dry_run_install_runs_apt_get_simulation_and_reports_progress_and_result(
    live_server, world, tmp_path, monkeypatch
):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-calls.txt"
    fake = bin_dir / "apt-get"
    fake.write_text(FAKE_APT.format(log=calls))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    client, state, device = enrolled(live_server, world.tenant_a, tmp_path, "web-01")
    job = queue(device, {"packages": [OPENSSL], "reboot": "never", "dry_run": True})

    claimed = JobRunner(client, state, DpkgBackend()).run_due()

    assert [j["id"] for j in claimed] == [job.pk]
    assert calls.read_text().split() == [
        "-s",
        "-o",
        "Debug::NoLocking=1",
        "install",
        "--only-upgrade",
        "-y",
        "openssl=3.0.15-1~deb12u1",
    ]
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.exit_code == 0
    assert "upgrade openssl 3.0.13-1~deb12u1 -> 3.0.15-1~deb12u1" in job.output and "(dry run)" in job.output
    assert list(JobEvent.objects.filter(job=job).values_list("state", flat=True)) == [
        "claimed",
        "running",
        "succeeded",
    ]
    assert HealthReport.objects.get(job=job).healthy is True
    assert not os.listdir(tmp_path / "state" / "results")  # posted, so forgotten


def test_a_result_post_that_fails_is_sent_again_with_the_same_key(live_server, world, tmp_path):
    client, state, device = enrolled(live_server, world.tenant_a, tmp_path, "web-01")
    job = queue(device, {"packages": [OPENSSL], "reboot": "never"})
    backend = SimulatedBackend(state.directory)
    (claimed,) = client.post("jobs/claim", {})["jobs"]

    # The portal is unreachable while the job runs: the work is done, the result kept.
    with _closed_port() as dead_url:
        offline = JobRunner(PortalClient(dead_url, "pdt_x", timeout=2), state, backend)
        offline.run(claimed)
    (entry,) = offline.pending()
    key = entry["body"]["result_key"]
    job.refresh_from_db()
    assert job.state == JobState.CLAIMED

    online = JobRunner(client, state, backend)
    assert online.post_pending() == 1
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.result_key == key
    stamp = job.updated_at

    # A crash after the portal took it but before the file was removed: the same key again.
    online.save_pending(entry)
    assert online.post_pending() == 1
    job.refresh_from_db()
    assert job.result_key == key and job.updated_at == stamp and not online.pending()
    # Running the same claimed job again (a duplicate delivery) does not run it twice.
    assert online.run(claimed) is None


def test_the_simulated_backend_installs_and_the_next_inventory_verifies(live_server, world, tmp_path):
    client, state, device = enrolled(live_server, world.tenant_a, tmp_path, "sim-01")
    config = Config(path=str(tmp_path / "agent.conf"), state_dir=state.directory, backend="simulated")
    agent = Agent(config, state, SimulatedBackend(state.directory), client=client)
    pre = {"name": "pre", "version": 1, "interpreter": "sh", "body": "echo pre-check ok\n"}
    job = queue(device, {"packages": [OPENSSL], "reboot": "always", "pre_script": pre})

    first = agent.cycle()  # uploads the inventory, then claims and runs the job
    assert first.jobs == 1
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.output
    assert "pre-check ok" in job.output and agent.backend.reboots == 1
    states = list(JobEvent.objects.filter(job=job).values_list("state", flat=True))
    assert states == ["claimed", "running", "reboot_pending", "succeeded"]

    agent.cycle()  # the changed inventory goes up and confirms the new version
    job.refresh_from_db()
    assert job.state == JobState.VERIFIED


def test_real_agent_processes_with_the_simulated_backend(live_server, world, tmp_path):
    """Two agents as separate processes: one whose installs succeed, one whose installs fail."""
    results = {}
    # Both run on this machine, whose machine id would make them one device of one tenant.
    for name, rate, tenant in (("good", "0", world.tenant_a), ("bad", "1", world.tenant_b)):
        directory = tmp_path / name
        directory.mkdir()
        config = directory / "agent.conf"
        config.write_text(
            f"[agent]\nstate_dir = {directory / 'state'}\nlog_file =\nbackend = simulated\n"
            f"simulated_failure_rate = {rate}\nhealth_services = web\nhealth_interval = 0\n"
        )
        _, raw = EnrollmentToken.issue(tenant, name)
        run_agent(config, "enroll", "--server", live_server.url, "--token", raw)
        device = Device.objects.get(tenant=tenant)
        results[name] = (config, queue(device, {"packages": [OPENSSL], "reboot": "never"}, max_attempts=2))
    for config, _ in results.values():
        run_agent(config, "once")
    good, bad = (Job.objects.get(pk=job.pk) for _, job in results.values())
    assert good.state == JobState.SUCCEEDED
    assert bad.state == JobState.QUEUED and bad.attempt == 1 and "simulated failure" in bad.output
    assert HealthReport.objects.filter(job=good).get().checks[1]["name"] == "service:web"


def run_agent(config: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agent", "--config", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


class _closed_port:
    def __enter__(self) -> str:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return f"http://127.0.0.1:{sock.getsockname()[1]}"

    def __exit__(self, *exc) -> None:
        return None
