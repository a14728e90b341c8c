"""A back-end that only pretends, for simulated fleets and end-to-end tests.

Its "installed packages" live in a JSON file in the state directory, in dpkg's inventory
format, so an install it reports as done really changes what the next check-in uploads and
the portal can verify the job. Installs fail at the configured rate
(``simulated_failure_rate``: 0 never, 1 always); services and the extra "simulated" health
check report ``simulated_healthy``. Nothing on the machine is run or changed.

Each state directory is a machine of its own: a machine id (and a hostname derived from
it) is chosen on first use and kept in ``simulated_machine.json``, so several simulated
agents on one host enroll as several devices.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Mapping, Sequence

from ..state import write_private_file
from .base import Backend, InstallResult

PACKAGES_FILE = "simulated_packages.json"
MACHINE_FILE = "simulated_machine.json"
DEFAULT_PACKAGES = [
    {"name": "bash", "version": "5.2.15-2+b7", "arch": "amd64", "source": "bash", "source_version": "5.2.15-2"},
    {
        "name": "curl",
        "version": "7.88.1-10+deb12u5",
        "arch": "amd64",
        "source": "curl",
        "source_version": "7.88.1-10+deb12u5",
    },
    {
        "name": "openssl",
        "version": "3.0.13-1~deb12u1",
        "arch": "amd64",
        "source": "openssl",
        "source_version": "3.0.13-1~deb12u1",
    },
]


class SimulatedBackend(Backend):
    name = "simulated"
    inventory_format = "dpkg"

    def __init__(self, state_dir: str, failure_rate: float = 0.0, healthy: bool = True, rng=None):
        self.path = os.path.join(state_dir, PACKAGES_FILE)
        self.state_dir = state_dir
        self.failure_rate = failure_rate
        self.healthy = healthy
        self.rng = rng or random.Random()
        self.reboots = 0

    def _load(self) -> list[dict[str, str]]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (FileNotFoundError, ValueError):
            return [dict(p) for p in DEFAULT_PACKAGES]
        return data if isinstance(data, list) else [dict(p) for p in DEFAULT_PACKAGES]

    def _save(self, packages: list[dict[str, str]]) -> None:
        os.makedirs(self.state_dir, exist_ok=True)
        write_private_file(self.path, json.dumps(packages, indent=1, sort_keys=True) + "\n")

    def inventory(self) -> list[dict[str, str]]:
        return self._load()

    def updates(self) -> list[dict[str, object]]:
        return []

    def _change(self, verb: str, packages: Sequence[Mapping[str, str]], dry_run: bool) -> InstallResult:
        argv = [
            "simulated",
            verb,
            *[f"{p.get('name') or p.get('id') or p.get('kb')}={p.get('version', '')}" for p in packages],
        ]
        failed = self.failure_rate > 0 and self.rng.random() < self.failure_rate
        installed = self._load()
        actions = []
        for package in packages:
            name = str(package.get("name") or package.get("id") or package.get("kb") or "")
            current = next((p for p in installed if p["name"] == name), None)
            actions.append(
                {
                    "action": verb,
                    "name": name,
                    "from_version": current["version"] if current else None,
                    "to_version": package.get("version"),
                }
            )
            if not (failed or dry_run) and package.get("name") and package.get("version"):
                if current is None:
                    current = {"name": name, "arch": str(package.get("arch") or "amd64"), "source": name}
                    installed.append(current)
                current["version"] = current["source_version"] = str(package["version"])
        if not (failed or dry_run):
            self._save(installed)
        if failed:
            return InstallResult(dry_run, argv, 100, False, actions, "simulated failure (simulated_failure_rate)")
        return InstallResult(dry_run, argv, 0, True, actions, ("dry run: " if dry_run else "") + f"simulated {verb}")

    def install(self, packages: Sequence[Mapping[str, str]], dry_run: bool) -> InstallResult:
        return self._change("upgrade", packages, dry_run)

    def rollback(self, packages: Sequence[Mapping[str, str]], dry_run: bool) -> InstallResult:
        return self._change("downgrade", packages, dry_run)

    def reboot(self, dry_run: bool, delay_minutes: int = 1) -> InstallResult:
        if not dry_run:
            self.reboots += 1
        return InstallResult(dry_run, ["simulated", "reboot"], 0, True, [{"action": "reboot"}], "simulated reboot")

    def service_active(self, name: str) -> tuple[bool, str]:
        return self.healthy, "active" if self.healthy else "failed"

    def health_checks(self) -> list[dict[str, object]]:
        return [{"name": "simulated", "ok": self.healthy, "detail": f"simulated_healthy = {self.healthy}"}]

    def arch(self) -> str:
        return "amd64"

    def identity(self) -> dict[str, str]:
        path = os.path.join(self.state_dir, MACHINE_FILE)
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            if isinstance(data, dict) and data.get("machine_id") and data.get("hostname"):
                return {"machine_id": str(data["machine_id"]), "hostname": str(data["hostname"])}
        except (FileNotFoundError, ValueError):
            pass
        machine = uuid.uuid4().hex
        data = {"machine_id": machine, "hostname": f"sim-{machine[:8]}"}
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        write_private_file(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
        return data
