"""Run simulated agents against the agent API over HTTP, many at a time.

Each simulated machine enrolls, checks in and uploads what the server asks for, using
the agent package's own client and protocol functions (agent.transport, agent.protocol,
agent.hashing), so the simulation speaks exactly what a real agent speaks.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from agent import hashing, protocol
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
            profile = profiles.windows(rng)
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
