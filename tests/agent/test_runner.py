"""The cycle's local side and the loop's reaction to an unreachable portal.

The back-end is replaced by a small in-memory one so the tests are fast and can make a
scan fail on purpose; the portal is never imitated, only made unreachable.
"""

from __future__ import annotations

import socket
import threading

import pytest

from agent import __version__
from agent.backends.base import Backend, BackendError
from agent.config import Config
from agent.hashing import inventory_hash, updates_hash
from agent.protocol import (
    checkin_body,
    checkin_interval,
    due_jobs,
    enroll_body,
    enrollment_result,
    inventory_full_body,
    inventory_probe_body,
    updates_full_body,
    updates_probe_body,
)
from agent.runner import EXIT_OK, Agent, NotEnrolled
from agent.state import State
from agent.transport import PortalClient, PortalError

PACKAGE = {"name": "bash", "version": "5.2.15-2+b8", "arch": "amd64", "source": "bash", "source_version": "5.2.15-2"}
UPDATE = {
    "kind": "apt",
    "name": "bash",
    "arch": "amd64",
    "current_version": "5.2.15-2+b8",
    "available_version": "5.2.15-2+b13",
    "origin": "Debian:12.15/oldstable",
    "security": False,
}


class InMemoryBackend(Backend):
    name = "memory"
    inventory_format = "dpkg"

    def __init__(self):
        self.scans = 0
        self.fail_scan = False
        self.fail_inventory = False

    def inventory(self):
        if self.fail_inventory:
            raise BackendError("dpkg-query exited with 2")
        return [PACKAGE]

    def updates(self):
        self.scans += 1
        if self.fail_scan:
            raise BackendError("apt-get exited with 100")
        return [UPDATE]

    def arch(self):
        return "amd64"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def make_agent(tmp_path, **config_values):
    config = Config(path=str(tmp_path / "agent.conf"), state_dir=str(tmp_path / "state"), **config_values)
    state = State(config.state_dir)
    client = PortalClient(closed_port_url(), "pdt_test", timeout=2)
    clock = Clock()
    return Agent(config, state, InMemoryBackend(), client=client, clock=clock), clock


def test_updates_are_rescanned_only_after_scan_interval(tmp_path):
    agent, clock = make_agent(tmp_path, scan_interval=3600)
    first = agent.current_updates()
    assert first.digest == updates_hash([UPDATE])
    clock.now += 3599
    assert agent.current_updates() is first
    assert agent.backend.scans == 1
    clock.now += 2
    agent.current_updates()
    assert agent.backend.scans == 2


def test_zero_scan_interval_rescans_every_time(tmp_path):
    agent, _ = make_agent(tmp_path, scan_interval=0)
    agent.current_updates()
    agent.current_updates()
    assert agent.backend.scans == 2


def test_a_failed_rescan_reports_the_previous_scan(tmp_path):
    agent, _ = make_agent(tmp_path, scan_interval=0)
    good = agent.current_updates()
    agent.backend.fail_scan = True
    assert agent.current_updates() is good


def test_snapshot_is_the_checkin_body_and_its_data(tmp_path):
    agent, _ = make_agent(tmp_path)
    snapshot = agent.snapshot()
    assert snapshot.packages == [PACKAGE]
    assert snapshot.inventory_hash == inventory_hash("dpkg", [PACKAGE])
    assert snapshot.body["inventory_hash"] == snapshot.inventory_hash
    assert snapshot.body["updates_hash"] == updates_hash([UPDATE])
    assert snapshot.body["reboot_required"] is False
    assert snapshot.body["agent_version"] == __version__
    assert isinstance(snapshot.body["uptime_seconds"], int)


def test_without_any_successful_scan_the_updates_hash_is_null_not_empty(tmp_path):
    # An empty list would tell the portal that every update disappeared.
    agent, _ = make_agent(tmp_path)
    agent.backend.fail_scan = True
    snapshot = agent.snapshot()
    assert snapshot.scan is None
    assert snapshot.body["updates_hash"] is None
    assert snapshot.body["updates_hash"] != updates_hash([])


def test_not_enrolled_without_token(tmp_path):
    config = Config(path=str(tmp_path / "agent.conf"), state_dir=str(tmp_path / "state"), server="https://p.example")
    with pytest.raises(NotEnrolled, match="enroll --server URL --token TOKEN"):
        Agent(config, State(config.state_dir), InMemoryBackend())


def test_server_comes_from_enrollment_state_when_config_has_none(tmp_path):
    config = Config(path=str(tmp_path / "agent.conf"), state_dir=str(tmp_path / "state"))
    State(config.state_dir).save_enrollment("dev", "pdt_t", "https://portal.example.com", 300)
    agent = Agent(config, State(config.state_dir), InMemoryBackend())
    assert agent.client.server == "https://portal.example.com"
    assert agent.client.token == "pdt_t"


class RecordingStop(threading.Event):
    """Stops the loop at its first wait and remembers how long it meant to wait."""

    def __init__(self):
        super().__init__()
        self.waits = []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        self.set()
        return True


def test_unreachable_portal_backs_off_from_thirty_seconds(tmp_path, caplog):
    agent, _ = make_agent(tmp_path, jitter=0.1)
    stop = RecordingStop()
    assert agent.run_forever(stop) == EXIT_OK
    assert len(stop.waits) == 1
    assert 27.0 <= stop.waits[0] <= 33.0  # first back-off step, 30 s ± 10 %


def test_failing_inventory_waits_a_whole_interval(tmp_path):
    agent, _ = make_agent(tmp_path, jitter=0.1, interval=300)
    agent.backend.fail_inventory = True
    stop = RecordingStop()
    agent.run_forever(stop)
    assert 270.0 <= stop.waits[0] <= 330.0


# --- the bodies on the wire ------------------------------------------------------------------


def test_checkin_body_has_exactly_the_protocol_fields():
    body = checkin_body("web-01", "9f2c", "77ab", False, 86400)
    assert body == {
        "agent_version": __version__,
        "hostname": "web-01",
        "inventory_hash": "9f2c",
        "updates_hash": "77ab",
        "reboot_required": False,
        "uptime_seconds": 86400,
    }


def test_enroll_body_has_exactly_the_protocol_fields():
    facts = {"hostname": "web-01", "fqdn": "web-01.corp.example", "machine_id": "4c4c", "arch": "amd64", "os": {}}
    assert set(enroll_body("pet_x", facts)) == {
        "token",
        "hostname",
        "fqdn",
        "machine_id",
        "arch",
        "agent_version",
        "os",
    }


def test_hash_first_bodies():
    digest = inventory_hash("dpkg", [PACKAGE])
    assert inventory_probe_body("dpkg", digest) == {"format": "dpkg", "hash": digest}
    assert inventory_full_body("dpkg", digest, [PACKAGE]) == {"format": "dpkg", "hash": digest, "packages": [PACKAGE]}
    assert updates_probe_body("77ab") == {"hash": "77ab"}
    assert updates_full_body("77ab", [UPDATE]) == {"hash": "77ab", "updates": [UPDATE]}


def test_checkin_answer_helpers():
    assert checkin_interval({"checkin_interval": 120}, 300) == 120
    for bad in ({}, {"checkin_interval": 0}, {"checkin_interval": "60"}, {"checkin_interval": True}):
        assert checkin_interval(bad, 300) == 300
    assert due_jobs({"jobs": [{"id": 1}]}) == [{"id": 1}]
    assert due_jobs({"jobs": None}) == []


def test_enrollment_result_requires_id_and_token():
    answer = {"device_id": "8d0f", "device_token": "pdt_x", "checkin_interval": 300, "server_time": "…"}
    assert enrollment_result(answer) == {
        "device_id": "8d0f",
        "device_token": "pdt_x",
        "checkin_interval": 300,
        "script_signing_key": None,
    }
    key = {"kty": "RSA", "n": "sXch", "e": "AQAB", "kid": "k"}
    assert enrollment_result({**answer, "script_signing_key": key})["script_signing_key"] == key
    with pytest.raises(PortalError):
        enrollment_result({"device_id": "8d0f"})
