"""Real agent processes (simulated back-end) against a live portal, for the end-to-end tests.

Each `SimAgent` is one pretend machine: its own state directory, so its own machine id,
device token and installed packages (agent/backends/simulated.py). It is enrolled with an
enrollment token and run as `python -m agent … once`, as on a real machine.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from django.utils import timezone

from advisories.feeds.osv import parse_record
from advisories.store import store_advisories
from deployments.models import Job, JobEvent
from deployments.tasks import tick
from devices.models import Device, EnrollmentToken
from patches.matching import engine
from patches.models import Finding
from tests.fixtures.worker_process import wait_until

__all__ = [
    "FIXED",
    "INSTALLED",
    "SimAgent",
    "enroll_all",
    "installed_version",
    "job_snapshot",
    "publish_openssl_advisory",
    "run_all",
    "run_tick",
]

ROOT = Path(__file__).resolve().parents[2]
# The simulated machine's openssl (agent/backends/simulated.py) and the version that fixes it.
INSTALLED = "3.0.13-1~deb12u1"
FIXED = "3.0.15-1~deb12u1"


def publish_openssl_advisory(now: dt.datetime) -> None:
    """A Debian 12 advisory fixed in FIXED: every simulated machine misses the patch."""
    record = parse_record(
        {
            "id": "DSA-9901-1",
            "modified": "2026-01-01T00:00:00Z",
            "published": "2026-01-01T00:00:00Z",
            "upstream": ["CVE-2099-9901"],
            "summary": "openssl issue",
            "affected": [
                {
                    "package": {"ecosystem": "Debian:12", "name": "openssl"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": FIXED}]}],
                }
            ],
        }
    )
    store_advisories("osv", [record], None)
    engine.match_advisories([record.key], now=now)


class SimAgent:
    def __init__(self, directory: Path, *, failure_rate: float = 0.0, healthy: bool = True):
        self.directory = directory
        directory.mkdir(parents=True)
        self.config = directory / "agent.conf"
        self.state_dir = directory / "state"
        self.config.write_text(
            "[agent]\n"
            f"state_dir = {self.state_dir}\n"
            "log_file =\n"
            "log_level = DEBUG\n"
            "backend = simulated\n"
            f"simulated_failure_rate = {failure_rate}\n"
            f"simulated_healthy = {'true' if healthy else 'false'}\n"
            "health_interval = 0\n"
            "scan_interval = 0\n"
            "timeout = 60\n"
        )
        self.logs: list[str] = []

    # --- running the real agent ---------------------------------------------------------------

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "agent", "--config", str(self.config), *args]

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(*args), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def finish(self, process: subprocess.Popen, timeout: float = 120) -> str:
        output, _ = process.communicate(timeout=timeout)
        self.logs.append(output)
        assert process.returncode == 0, f"agent {self.directory.name} exited {process.returncode}:\n{output}"
        return output

    def run(self, *args: str) -> str:
        return self.finish(self.start(*args))

    def enroll(self, server: str, tenant) -> Device:
        _, raw = EnrollmentToken.issue(tenant, f"e2e {self.directory.name}")
        self.run("enroll", "--server", server, "--token", raw)
        return self.device

    def once(self) -> str:
        return self.run("once")

    # --- what it is -----------------------------------------------------------------------------

    @property
    def machine_id(self) -> str:
        return json.loads((self.state_dir / "simulated_machine.json").read_text())["machine_id"]

    @property
    def device(self) -> Device:
        return Device.objects.get(machine_id=self.machine_id)

    @property
    def token(self) -> str:
        return (self.state_dir / "device_token").read_text().strip()

    def client(self, server: str):
        """The agent's own HTTP client with this machine's device token."""
        from agent.transport import PortalClient

        return PortalClient(server, self.token, timeout=60)

    def packages(self) -> dict[str, str]:
        from agent.backends.simulated import DEFAULT_PACKAGES, PACKAGES_FILE

        path = self.state_dir / PACKAGES_FILE
        packages = json.loads(path.read_text()) if path.exists() else DEFAULT_PACKAGES
        return {p["name"]: p["version"] for p in packages}

    def log(self) -> str:
        return "\n".join(self.logs)


def run_all(agents, *args: str) -> None:
    """Run the command on every agent at once (separate processes), and wait for all."""
    processes = [(agent, agent.start(*(args or ("once",)))) for agent in agents]
    for agent, process in processes:
        agent.finish(process)


def enroll_all(agents, server: str, tenant) -> list[Device]:
    """Enroll every agent, then have each upload its inventory; the worker matches it."""
    for agent in agents:
        agent.enroll(server, tenant)
    run_all(agents)
    devices = [agent.device for agent in agents]
    ids = [d.pk for d in devices]
    wait_until(
        lambda: Finding.objects.filter(device_id__in=ids, state="open", package_name="openssl").count() == len(ids),
        timeout=30,
        what="the worker to match the uploaded inventories",
    )
    return devices


def run_tick(now: dt.datetime | None = None, timeout: float = 30) -> dict:
    """`deployments.tasks.tick` on the real worker, with the clock at `now`; its step results."""
    moment = now or timezone.now()
    return tick.apply_async(kwargs={"now": moment.isoformat()}, ignore_result=False).get(timeout=timeout)


def installed_version(device: Device, name: str = "openssl") -> str | None:
    """What the portal's copy of the device's inventory says is installed."""
    from devices.models import DeviceSoftware

    row = DeviceSoftware.objects.filter(device=device, package__name=name).select_related("package").first()
    return row.package.version if row else None


def job_snapshot(job: Job) -> tuple[dict, int]:
    """The job's row and the length of its log, to show that something changed nothing."""
    row = Job.objects.filter(pk=job.pk).values().get()
    return row, JobEvent.objects.filter(job_id=job.pk).count()
