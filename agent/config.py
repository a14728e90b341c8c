"""The INI configuration file and the platform's default locations."""

from __future__ import annotations

import configparser
import logging
import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

SECTION = "agent"
BACKENDS = ("auto", "dpkg", "rpm", "windows", "simulated")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Keys and types, in the order the README documents them.
KNOWN_KEYS = (
    "server",
    "interval",
    "jitter",
    "scan_interval",
    "dry_run",
    "state_dir",
    "log_file",
    "log_level",
    "verify_tls",
    "ca_file",
    "backend",
    "timeout",
    "health_services",
    "health_interval",
    "simulated_failure_rate",
    "simulated_healthy",
)


class ConfigError(Exception):
    """The configuration file cannot be used as it is."""


def is_windows() -> bool:
    return os.name == "nt"


def _program_data() -> str:
    return os.environ.get("PROGRAMDATA") or r"C:\ProgramData"


def default_config_path() -> str:
    if is_windows():
        return os.path.join(_program_data(), "PatchPortal", "agent.conf")
    return "/etc/patchportal-agent/agent.conf"


def default_state_dir() -> str:
    if is_windows():
        return os.path.join(_program_data(), "PatchPortal", "state")
    return "/var/lib/patchportal-agent"


def default_log_file() -> str:
    if is_windows():
        return os.path.join(_program_data(), "PatchPortal", "agent.log")
    return "/var/log/patchportal-agent/agent.log"


@dataclass
class Config:
    path: str
    server: str = ""
    interval: int = 300
    jitter: float = 0.10
    scan_interval: int = 3600
    dry_run: bool = False
    state_dir: str = field(default_factory=default_state_dir)
    log_file: str = field(default_factory=default_log_file)
    log_level: str = "INFO"
    verify_tls: bool = True
    ca_file: str = ""
    backend: str = "auto"
    timeout: float = 30.0
    # Services whose state every health report includes (systemd units, Windows services).
    health_services: list[str] = field(default_factory=list)
    health_interval: int = 3600  # seconds between health reports besides those after jobs; 0: only after jobs
    simulated_failure_rate: float = 0.0  # backend = simulated: share of installs that fail
    simulated_healthy: bool = True  # backend = simulated: what its health checks report
    # Reported once logging is set up; the config is read before that.
    warnings: list[str] = field(default_factory=list)


def normalise_server(url: str) -> str:
    """Validate a portal base URL and drop the trailing slash."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigError(f"server must be an http(s) URL such as https://portal.example.com, not {url!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"server must not carry a query or fragment: {url!r}")
    return url.rstrip("/")


def load_config(path: str) -> Config:
    """Read the file at ``path``; a missing file means all defaults."""
    config = Config(path=path)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        return config
    except (OSError, configparser.Error) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not parser.has_section(SECTION):
        raise ConfigError(f"{path} has no [{SECTION}] section")
    section = parser[SECTION]
    for key in section:
        if key not in KNOWN_KEYS:
            config.warnings.append(f"{path}: unknown option {key!r} ignored")

    def number(key: str, cast, minimum, maximum=None):
        raw = section.get(key)
        if raw is None or raw.strip() == "":
            return getattr(config, key)
        try:
            value = cast(raw)
        except ValueError:
            raise ConfigError(f"{path}: {key} must be a number, not {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise ConfigError(f"{path}: {key} must be {bounds}, not {raw!r}")
        return value

    def boolean(key: str) -> bool:
        try:
            return section.getboolean(key, fallback=getattr(config, key))
        except ValueError:
            raise ConfigError(f"{path}: {key} must be true or false, not {section.get(key)!r}") from None

    config.interval = number("interval", int, 10)
    # More than half the interval would let two check-ins almost meet.
    config.jitter = number("jitter", float, 0.0, 0.5)
    config.scan_interval = number("scan_interval", int, 0)
    config.timeout = number("timeout", float, 1.0, 600.0)
    config.dry_run = boolean("dry_run")
    config.health_interval = number("health_interval", int, 0)
    config.simulated_failure_rate = number("simulated_failure_rate", float, 0.0, 1.0)
    config.simulated_healthy = boolean("simulated_healthy")
    services = section.get("health_services", "")
    config.health_services = [name.strip() for name in services.replace(",", " ").split() if name.strip()]
    config.verify_tls = boolean("verify_tls")
    config.state_dir = section.get("state_dir", "").strip() or config.state_dir
    config.log_file = section.get("log_file", config.log_file).strip()
    config.ca_file = section.get("ca_file", "").strip()
    config.log_level = section.get("log_level", config.log_level).strip().upper()
    if config.log_level not in LOG_LEVELS:
        raise ConfigError(f"{path}: log_level must be one of {', '.join(LOG_LEVELS)}")
    config.backend = section.get("backend", config.backend).strip().lower()
    if config.backend not in BACKENDS:
        raise ConfigError(f"{path}: backend must be one of {', '.join(BACKENDS)}")
    server = section.get("server", "").strip()
    if server:
        config.server = normalise_server(server)
    if config.ca_file and not os.path.isfile(config.ca_file):
        raise ConfigError(f"{path}: ca_file {config.ca_file} does not exist")
    return config


def log_config_warnings(config: Config, logger: logging.Logger) -> None:
    for warning in config.warnings:
        logger.warning(warning)
    if config.server.startswith("http://"):
        logger.warning("server %s is plain HTTP: the device token travels unencrypted", config.server)
    if not config.verify_tls:
        logger.warning("verify_tls is off: the portal's certificate is not checked")


_SERVER_LINE = re.compile(r"^\s*server\s*[=:]")
_SECTION_LINE = re.compile(r"^\s*\[([^\]]+)\]")


def save_server(path: str, server: str) -> None:
    """Set ``server`` in the file, keeping every other line (and its comments) as it was."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        lines = []
    new_line = f"server = {server}"
    in_agent = False
    agent_header = None
    for index, line in enumerate(lines):
        header = _SECTION_LINE.match(line)
        if header:
            in_agent = header.group(1).strip() == SECTION
            if in_agent:
                agent_header = index
            continue
        if in_agent and _SERVER_LINE.match(line):
            lines[index] = new_line
            break
    else:
        if agent_header is None:
            lines = [f"[{SECTION}]", new_line, *([""] if lines else []), *lines]
        else:
            lines.insert(agent_header + 1, new_line)
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(temporary, path)
