"""The files shipped in agent/packaging."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from agent.config import Config, load_config

from .conftest import REPO_ROOT

PACKAGING = REPO_ROOT / "agent" / "packaging"


def test_example_config_documents_the_defaults():
    path = str(PACKAGING / "agent.conf.example")
    config = load_config(path)
    assert config == Config(path=path)


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_unit_verifies_without_unknown_settings(tmp_path):
    unit = tmp_path / "patchportal-agent.service"
    shutil.copy(PACKAGING / "patchportal-agent.service", unit)
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert "Unknown key" not in output and "Unknown section" not in output, output
    assert "Failed to parse" not in output, output


def test_systemd_unit_runs_the_agent_as_documented():
    unit = (PACKAGING / "patchportal-agent.service").read_text()
    assert "ExecStart=/usr/bin/python3 -m agent --config /etc/patchportal-agent/agent.conf run" in unit
    assert "KillMode=mixed" in unit
    assert "RestartPreventExitStatus=2 3" in unit
    # Settings that would stop apt, dpkg or dnf from installing packages.
    for breaking in ("ProtectSystem=", "ProtectHome=", "NoNewPrivileges=", "RestrictSUIDSGID="):
        assert f"\n{breaking}" not in unit
