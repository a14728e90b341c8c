"""``python -m agent`` run as a real process on this machine."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.hashing import inventory_hash

from .conftest import REPO_ROOT

needs_dpkg = pytest.mark.skipif(not shutil.which("dpkg-query"), reason="needs a Debian-family machine")


def agent(*arguments: str, python: str = sys.executable, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [python, "-B", "-m", "agent", *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def write_config(tmp_path, **values) -> str:
    values.setdefault("state_dir", str(tmp_path / "state"))
    values.setdefault("log_file", str(tmp_path / "agent.log"))
    path = tmp_path / "agent.conf"
    path.write_text("[agent]\n" + "".join(f"{key} = {value}\n" for key, value in values.items()))
    return str(path)


@needs_dpkg
def test_inventory_prints_json_without_a_server(tmp_path):
    result = agent("--config", str(tmp_path / "absent.conf"), "inventory")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["backend"] == "dpkg"
    assert document["format"] == "dpkg"
    assert document["hash"] == inventory_hash("dpkg", document["packages"])
    assert "updates" not in document


@needs_dpkg
@pytest.mark.slow
def test_inventory_with_updates(tmp_path):
    result = agent("inventory", "--updates", "--config", str(tmp_path / "absent.conf"))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert isinstance(document["updates"], list)
    assert all(update["kind"] == "apt" for update in document["updates"])
    assert len(document["updates_hash"]) == 64


def test_once_before_enrollment_says_what_to_do(tmp_path):
    result = agent("--config", write_config(tmp_path), "once")
    assert result.returncode == 2
    assert "not enrolled" in result.stderr
    assert "python -m agent enroll --server URL --token TOKEN" in result.stderr


def test_bad_config_exits_2_with_the_reason(tmp_path):
    result = agent("--config", write_config(tmp_path, backend="apk"), "once")
    assert result.returncode == 2
    assert "backend must be one of" in result.stderr


@needs_dpkg
def test_enroll_dry_run_prints_the_body_and_writes_nothing(tmp_path):
    config = write_config(tmp_path)
    server = "https://portal.example.com/"
    result = agent("--config", config, "--dry-run", "enroll", "--server", server, "--token", "pet_s3cret")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["would_post"] == "https://portal.example.com/api/agent/v1/enroll"
    body = document["body"]
    assert body["token"] == "<redacted>"
    assert "pet_s3cret" not in result.stdout + result.stderr
    assert body["os"]["family"] == "linux"
    with open("/etc/os-release") as handle:
        assert f"ID={body['os']['id']}" in handle.read()
    with open("/etc/machine-id") as handle:
        assert body["machine_id"] == handle.read().strip()
    assert not (tmp_path / "state").exists()
    assert "server =" not in Path(config).read_text()


@needs_dpkg
def test_enroll_against_an_unreachable_portal_writes_nothing(tmp_path):
    config = write_config(tmp_path)
    result = agent("--config", config, "enroll", "--server", closed_port_url(), "--token", "pet_x", timeout=60)
    assert result.returncode == 1
    assert "cannot reach" in result.stderr
    assert not (tmp_path / "state").exists()
    assert "server =" not in Path(config).read_text()


@needs_dpkg
@pytest.mark.slow
def test_run_stops_cleanly_on_sigterm(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    (state_dir / "device_token").write_text("pdt_test\n")
    log_file = tmp_path / "agent.log"
    config = write_config(tmp_path, server=closed_port_url(), state_dir=str(state_dir), log_file=str(log_file))
    process = subprocess.Popen(
        [sys.executable, "-B", "-m", "agent", "--config", config, "run"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        # Wait until the first cycle failed and the agent sleeps its back-off.
        while "retrying in" not in (log_file.read_text() if log_file.exists() else ""):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no back-off message in time"
            time.sleep(0.2)
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        assert time.monotonic() - stopped_at < 5
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    log = log_file.read_text()
    assert "cannot reach" in log and "agent stopped" in log


def python39():
    """A working Python 3.9 (a pyenv shim can exist without the version being selected)."""
    pyenv = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python")))
    candidates = [*pyenv, shutil.which("python3.9")]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "--version"], capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.startswith("Python 3.9"):
            return candidate
    return None


@needs_dpkg
@pytest.mark.skipif(python39() is None, reason="no Python 3.9 on this machine")
def test_the_agent_runs_on_python_3_9(tmp_path):
    result = agent("--config", str(tmp_path / "absent.conf"), "inventory", python=python39())
    assert result.returncode == 0, result.stderr
    current = agent("--config", str(tmp_path / "absent.conf"), "inventory")
    assert json.loads(result.stdout)["hash"] == json.loads(current.stdout)["hash"]
