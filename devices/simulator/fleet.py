"""Run simulated agents against the agent API over HTTP, many at a time.

Each simulated machine enrolls, checks in and uploads what the server asks for, using
the agent package's own client and protocol functions (agent.transport, agent.protocol,
agent.hashing), so the simulation speaks exactly what a real agent speaks.

`follow` keeps the fleet alive afterwards: each machine runs the agent's own loop
(agent.runner.Agent) with a back-end that only pretends (`FleetBackend`), so the machines
check in, claim deployment jobs, "install" them, report results and health, and upload the
changed inventory that verifies the install.
"""

from __future__ import annotations

import random
import tempfile
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from agent import hashing, protocol
from agent.backends.base import InstallResult
from agent.backends.simulated import SimulatedBackend
from agent.config import Config
from agent.runner import Agent
from agent.state import State
from agent.transport import PortalClient
from devices.simulator import profiles


@dataclass
class SimulatedDevice:
    index: int
    hostname: str
    machine_id: str
    profile: profiles.Profile
    device_id: str = ""
    token: str = ""


@dataclass
class Report:
    enrolled: int = 0
    checkins: int = 0
    inventories: int = 0
    updates: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, name: str) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def build_devices(prefix: str, count: int, mix: list[str], inventory: str, packages: int, seed: int = 0):
    devices = []
    for index in range(count):
        rng = random.Random(f"{seed}:{prefix}:{index}")
        kind = mix[index % len(mix)]
        if kind == "debian12":
            profile = profiles.debian(rng, packages=packages if inventory == "full" else 0)
        else:
            profile = profiles.PROFILES[kind](rng)
        if inventory == "none":
            profile.packages, profile.updates = [], []
        devices.append(SimulatedDevice(index, f"{prefix}-{index:05d}", f"sim-{prefix}-{index:05d}", profile))
    return devices


def enroll(server: str, enrollment_token: str, device: SimulatedDevice) -> None:
    facts = {
        "hostname": device.hostname,
        "fqdn": f"{device.hostname}.sim.invalid",
        "machine_id": device.machine_id,
        "arch": device.profile.arch,
        "os": device.profile.os,
    }
    answer = PortalClient(server, timeout=120).post("enroll", protocol.enroll_body(enrollment_token, facts, "sim-1.0"))
    result = protocol.enrollment_result(answer)
    device.device_id, device.token = str(result["device_id"]), str(result["device_token"])


def cycle(server: str, device: SimulatedDevice, report: Report, upload: bool = True) -> None:
    """One agent cycle: check in, then upload inventory and updates if the server asks."""
    client = PortalClient(server, token=device.token, timeout=120)
    packages, updates = device.profile.packages, device.profile.updates
    fmt = device.profile.inventory_format
    inventory_digest = hashing.inventory_hash(fmt, packages) if packages else None
    updates_digest = hashing.updates_hash(updates) if updates else None
    body = protocol.checkin_body(device.hostname, inventory_digest, updates_digest, False, 86400, "sim-1.0")
    answer = client.post("checkin", body)
    report.count("checkins")
    if upload and packages and answer.get("send_inventory"):
        protocol.upload_inventory(client, fmt, inventory_digest, packages)
        report.count("inventories")
    if upload and updates and answer.get("send_updates"):
        protocol.upload_updates(client, updates_digest, updates)
        report.count("updates")


def run(
    server: str, enrollment_token: str, devices: list[SimulatedDevice], *, cycles: int = 1, concurrency: int = 16
) -> Report:
    report = Report()

    def lifecycle(device: SimulatedDevice) -> None:
        try:
            enroll(server, enrollment_token, device)
            report.count("enrolled")
            for _ in range(cycles):
                cycle(server, device, report)
        except Exception as exc:  # noqa: BLE001 - one failing simulated machine must not stop the fleet
            report.error(f"{device.hostname}: {exc}")

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in as_completed([pool.submit(lifecycle, d) for d in devices]):
            future.result()
    return report


class FleetBackend(SimulatedBackend):
    """A simulated machine's packages and offered updates, changed by the jobs it runs.

    Named "simulated" like the agent's own pretend back-end, so the agent hands it apt and
    dnf packages, Windows updates and winget packages alike; nothing on this host is touched.
    """

    def __init__(self, device: SimulatedDevice, state_dir: str):
        super().__init__(state_dir, failure_rate=0.0, healthy=True)
        self.device = device
        self.inventory_format = device.profile.inventory_format

    def inventory(self) -> list[dict]:
        return self.device.profile.packages

    def updates(self) -> list[dict]:
        return self.device.profile.updates

    def identity(self) -> dict[str, str]:
        return {"machine_id": self.device.machine_id, "hostname": self.device.hostname}

    def arch(self) -> str:
        return self.device.profile.arch

    def _change(self, verb: str, packages: Sequence[Mapping[str, str]], dry_run: bool) -> InstallResult:
        profile = self.device.profile
        actions = []
        for item in packages:
            if item.get("kind") == "windows" or item.get("kb"):
                key = "update_id" if item.get("update_id") else "kb"
                for update in profile.updates:
                    if update.get("kind") == "windows" and update.get(key) == item.get(key):
                        actions.append({"action": verb, "name": update["kb"]})
                        if not dry_run:
                            update["installed"] = verb == "upgrade"
                continue
            name = str(item.get("id") if item.get("kind") == "winget" else item.get("name") or "")
            version = str(item.get("version") or "")
            offered = next((u for u in profile.updates if u.get("id", u.get("name")) == name), None)
            if item.get("kind") == "winget" and offered is not None:
                name = offered["name"]  # the application's display name in the inventory
                version = version or offered["available_version"]
            current = next((p for p in profile.packages if p["name"] == name), None)
            actions.append({"action": verb, "name": name, "from_version": current and current["version"]})
            if dry_run or current is None or not version:
                continue
            # dpkg: the binaries built from the same source go up together, as apt upgrades them.
            siblings = [current]
            if current.get("source"):
                key = (current["source"], current.get("source_version"))
                siblings = [q for q in profile.packages if (q.get("source"), q.get("source_version")) == key]
            for package in siblings or [current]:
                package["version"] = version
                if "source_version" in package:
                    package["source_version"] = version
            profile.updates = [u for u in profile.updates if u is not offered and u.get("name") != name]
        text = ("dry run: " if dry_run else "") + f"simulated {verb} of {len(actions)} item(s)"
        return InstallResult(dry_run, ["simulated", verb], 0, True, actions, text)


def follow(server: str, devices: list[SimulatedDevice], stop: threading.Event, *, interval: float = 15.0) -> Report:
    """Run every enrolled machine's agent loop until `stop` is set: check-ins, jobs, health."""
    report = Report()
    with tempfile.TemporaryDirectory(prefix="patchportal-fleet-") as base:
        agents = []
        for device in devices:
            if not device.token:
                continue
            directory = f"{base}/{device.index:05d}"
            config = Config(path="", server=server, state_dir=directory, health_interval=0, scan_interval=0)
            client = PortalClient(server, device.token, timeout=120)
            agents.append(Agent(config, State(directory), FleetBackend(device, directory), client=client))

        def one(agent: Agent) -> None:
            try:
                agent.cycle()
                report.count("checkins")
            except Exception as exc:  # noqa: BLE001 - a failing machine retries on the next round
                report.error(f"{agent.backend.device.hostname}: {exc}")

        with ThreadPoolExecutor(max_workers=16) as pool:
            while not stop.is_set():
                list(pool.map(one, agents))
                stop.wait(interval)
    return report
