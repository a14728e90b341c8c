"""Enrollment hands the agent the script-signing key; the real agent pins it and trusts nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from agent.scripts import ScriptRefused, run_signed_script
from agent.state import State
from devices.models import EnrollmentToken
from portal import signing
from tests.agent.signing_helpers import other_key
from tests.devices.agent_helpers import enroll

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_redis():
    from portal.redis import client

    client().flushdb()


def test_the_enrollment_answer_carries_the_public_script_signing_key(client, world):
    answer = enroll(client, world.tenant_a)
    assert answer["script_signing_key"] == signing.public_jwk()
    assert set(answer["script_signing_key"]) == {"kty", "n", "e", "kid"}  # nothing private


def agent(tmp_path, *args) -> subprocess.CompletedProcess:
    config = tmp_path / "agent.conf"
    if not config.exists():
        config.write_text(f"[agent]\nstate_dir = {tmp_path / 'state'}\nlog_file =\n")
    return subprocess.run(
        [sys.executable, "-m", "agent", "--config", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def enroll_agent(live_server, world, tmp_path, *extra) -> subprocess.CompletedProcess:
    _, raw = EnrollmentToken.issue(world.tenant_a, "script-key")
    return agent(tmp_path, "enroll", "--server", live_server.url, "--token", raw, *extra)


def marker_script(marker) -> str:
    return f'echo ran > "{marker}"\n'


@pytest.mark.django_db(transaction=True)
def test_the_real_agent_pins_the_key_at_enrollment_and_refuses_a_changed_one(live_server, world, tmp_path, settings):
    result = enroll_agent(live_server, world, tmp_path)
    assert result.returncode == 0, result.stderr
    state = State(str(tmp_path / "state"))
    portal_key = signing.public_jwk()
    assert state.load_script_key() == portal_key
    assert json.loads((tmp_path / "state" / "script_signing_key.json").read_text())["kid"] == portal_key["kid"]

    # A script the portal signs runs with the pinned key.
    first = tmp_path / "first"
    run_signed_script(signing.sign_script("s", 1, "sh", marker_script(first)), state.load_script_key(), timeout=30)
    assert first.read_text() == "ran\n"

    # The portal now signs with another key: re-enrolling does not silently accept it.
    new_key_file = tmp_path / "rotated.pem"
    new_key_file.write_bytes(
        other_key().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    settings.SCRIPT_SIGNING_KEY_FILE = new_key_file
    assert signing.public_jwk() != portal_key
    result = enroll_agent(live_server, world, tmp_path)
    assert result.returncode == 1
    assert "is not the pinned key" in result.stderr and "--replace-script-key" in result.stderr
    assert state.load_script_key() == portal_key

    second = tmp_path / "second"
    with pytest.raises(ScriptRefused, match="another key"):
        run_signed_script(signing.sign_script("s", 2, "sh", marker_script(second)), state.load_script_key())
    assert not second.exists()

    # Only an operator's explicit --replace-script-key moves the pin.
    result = enroll_agent(live_server, world, tmp_path, "--replace-script-key")
    assert result.returncode == 0, result.stderr
    assert state.load_script_key() == signing.public_jwk()
    run_signed_script(signing.sign_script("s", 3, "sh", marker_script(second)), state.load_script_key(), timeout=30)
    assert second.exists()
