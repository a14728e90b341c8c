"""The INI file, the state directory and the token file's permissions."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from agent.config import Config, ConfigError, load_config, normalise_server, save_server
from agent.state import State, write_private_file

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def write(tmp_path, text: str) -> str:
    path = tmp_path / "agent.conf"
    path.write_text(text)
    return str(path)


def test_missing_file_means_defaults(tmp_path):
    config = load_config(str(tmp_path / "absent.conf"))
    assert config == Config(path=str(tmp_path / "absent.conf"))
    assert (config.interval, config.jitter, config.backend, config.verify_tls, config.dry_run) == (
        300,
        0.10,
        "auto",
        True,
        False,
    )
    assert config.state_dir == "/var/lib/patchportal-agent"
    assert config.log_file == "/var/log/patchportal-agent/agent.log"


def test_every_option_is_read(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked here\n")
    config = load_config(
        write(
            tmp_path,
            f"""[agent]
server = https://portal.example.com/
interval = 600
jitter = 0.2
scan_interval = 0
dry_run = yes
state_dir = {tmp_path}/state
log_file =
log_level = debug
verify_tls = false
ca_file = {ca}
backend = rpm
timeout = 12.5
""",
        )
    )
    assert config.server == "https://portal.example.com"
    assert (config.interval, config.jitter, config.scan_interval, config.timeout) == (600, 0.2, 0, 12.5)
    assert config.dry_run is True and config.verify_tls is False
    assert config.state_dir == f"{tmp_path}/state"
    assert config.log_file == ""  # empty: stderr only
    assert config.log_level == "DEBUG"
    assert config.ca_file == str(ca)
    assert config.backend == "rpm"
    assert config.warnings == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("interval = often", "interval must be a number"),
        ("interval = 5", "interval must be at least 10"),
        ("jitter = 0.9", "jitter must be between 0.0 and 0.5"),
        ("backend = apk", "backend must be one of auto, dpkg, rpm, windows"),
        ("log_level = LOUD", "log_level must be one of"),
        ("verify_tls = maybe", "verify_tls must be true or false"),
        ("server = ftp://portal.example.com", "server must be an http(s) URL"),
        ("ca_file = /nonexistent/ca.pem", "ca_file /nonexistent/ca.pem does not exist"),
    ],
)
def test_invalid_values_are_reported_with_the_option_name(tmp_path, line, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(write(tmp_path, f"[agent]\n{line}\n"))


def test_unknown_option_is_a_warning_not_an_error(tmp_path):
    config = load_config(write(tmp_path, "[agent]\nintervall = 60\n"))
    assert config.warnings == [f"{tmp_path}/agent.conf: unknown option 'intervall' ignored"]


def test_file_without_agent_section_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"no \[agent\] section"):
        load_config(write(tmp_path, "[other]\nserver = https://x\n"))


def test_normalise_server():
    assert normalise_server(" https://portal.example.com/ ") == "https://portal.example.com"
    assert normalise_server("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    for bad in ("portal.example.com", "https://", "https://p.example.com/?a=1"):
        with pytest.raises(ConfigError):
            normalise_server(bad)


def test_save_server_creates_the_file(tmp_path):
    path = tmp_path / "etc" / "agent.conf"
    save_server(str(path), "https://portal.example.com")
    assert path.read_text() == "[agent]\nserver = https://portal.example.com\n"
    assert load_config(str(path)).server == "https://portal.example.com"


def test_save_server_replaces_only_that_line_and_keeps_comments(tmp_path):
    path = write(
        tmp_path,
        "# managed by hand\n[agent]\n# where to report\nserver = https://old.example.com\ninterval = 120\n",
    )
    save_server(path, "https://new.example.com")
    assert Path(path).read_text() == (
        "# managed by hand\n[agent]\n# where to report\nserver = https://new.example.com\ninterval = 120\n"
    )


def test_save_server_adds_the_line_to_an_existing_section(tmp_path):
    path = write(tmp_path, "[agent]\ninterval = 120\n")
    save_server(path, "https://new.example.com")
    assert Path(path).read_text() == "[agent]\nserver = https://new.example.com\ninterval = 120\n"


def test_token_file_is_0600_and_directory_0700(tmp_path):
    os.umask(0o022)
    state = State(str(tmp_path / "state"))
    state.save_enrollment("8d0f-uuid", "pdt_secret", "https://portal.example.com", 300)
    assert mode(tmp_path / "state") == 0o700
    assert mode(state.token_path) == 0o600
    assert mode(tmp_path / "state" / "device.json") == 0o600
    assert state.load_token() == "pdt_secret"
    device = state.load_device()
    assert device["device_id"] == "8d0f-uuid"
    assert device["server"] == "https://portal.example.com"
    assert device["checkin_interval"] == 300
    assert "pdt_secret" not in json.dumps(device)


def test_rewriting_the_token_keeps_0600_even_if_someone_loosened_it(tmp_path):
    state = State(str(tmp_path))
    state.save_enrollment("a", "pdt_first", "https://p.example", None)
    os.chmod(state.token_path, 0o644)
    state.save_enrollment("a", "pdt_second", "https://p.example", None)
    assert mode(state.token_path) == 0o600
    assert state.load_token() == "pdt_second"


def test_private_file_write_leaves_no_temporary_file(tmp_path):
    write_private_file(str(tmp_path / "secret"), "x")
    assert sorted(os.listdir(tmp_path)) == ["secret"]


def test_last_sent_hashes_are_remembered_and_reset_by_enrollment(tmp_path):
    state = State(str(tmp_path))
    assert state.load_last_sent() == {}
    state.save_last_sent("inventory", "9f2c")
    state.save_last_sent("updates", "77ab")
    assert State(str(tmp_path)).load_last_sent() == {"inventory": "9f2c", "updates": "77ab"}
    state.save_enrollment("b", "pdt_x", "https://p.example", None)
    assert state.load_last_sent() == {}


def test_not_enrolled_state(tmp_path):
    state = State(str(tmp_path / "never-created"))
    assert state.load_token() is None
    assert state.load_device() is None
