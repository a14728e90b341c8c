"""Facts about this machine: the enrollment's host and OS fields, uptime."""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import socket
import time

from .backends.base import C_LOCALE, Backend, BackendError, run_command

OS_RELEASE_PATHS = ("/etc/os-release", "/usr/lib/os-release")
MACHINE_ID_PATHS = ("/etc/machine-id", "/var/lib/dbus/machine-id")
WINDOWS_VERSION_KEY = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"
# Windows 11 still writes "Windows 10" into ProductName; the build number tells them apart.
FIRST_WINDOWS_11_BUILD = 22000


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY=value`` lines of os-release(5); values may be quoted shell-style."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw, posix=True)
        except ValueError:
            parts = [raw.strip("\"'")]
        values[key.strip()] = parts[0] if parts else ""
    return values


def linux_os_info(os_release: dict[str, str], kernel: str, pro: bool) -> dict[str, object]:
    return {
        "family": "linux",
        "id": os_release.get("ID", ""),
        "id_like": os_release.get("ID_LIKE", ""),
        "name": os_release.get("NAME", ""),
        "version_id": os_release.get("VERSION_ID", ""),
        "version": os_release.get("VERSION", ""),
        "codename": os_release.get("VERSION_CODENAME", ""),
        "pretty_name": os_release.get("PRETTY_NAME", ""),
        "kernel": kernel,
        "pro": pro,
        "build": None,
    }


def read_os_release() -> dict[str, str]:
    for path in OS_RELEASE_PATHS:
        try:
            with open(path, encoding="utf-8") as handle:
                return parse_os_release(handle.read())
        except FileNotFoundError:
            continue
    return {}


def ubuntu_pro_attached() -> bool:
    """Ubuntu Pro / ESM is enabled when the pro client reports the machine as attached."""
    tool = shutil.which("pro") or shutil.which("ua")
    if not tool:
        return False
    try:
        result = run_command([tool, "status", "--format", "json"], 60, env=C_LOCALE)
        return bool(json.loads(result.stdout).get("attached"))
    except (BackendError, ValueError, AttributeError):
        return False


def windows_product_name(product_name: str, build: int) -> str:
    if build >= FIRST_WINDOWS_11_BUILD and product_name.startswith("Windows 10"):
        return "Windows 11" + product_name[len("Windows 10") :]
    return product_name


def windows_os_info() -> dict[str, object]:
    import winreg

    def value(name: str, default=""):
        try:
            return winreg.QueryValueEx(key, name)[0]
        except OSError:
            return default

    with winreg.OpenKey(
        winreg.HKEY_LOCAL_MACHINE, WINDOWS_VERSION_KEY, 0, winreg.KEY_READ | winreg.KEY_WOW64_64KEY
    ) as key:
        current_build = str(value("CurrentBuild", "0"))
        revision = value("UBR", 0)
        product_name = str(value("ProductName"))
        display_version = str(value("DisplayVersion") or value("ReleaseId"))
        major = value("CurrentMajorVersionNumber", 10)
        minor = value("CurrentMinorVersionNumber", 0)
    build_number = int(current_build) if current_build.isdigit() else 0
    name = windows_product_name(product_name, build_number)
    return {
        "family": "windows",
        "id": "windows",
        "id_like": "",
        "name": name,
        "version_id": display_version,
        "version": display_version,
        "codename": "",
        "pretty_name": f"{name} {display_version}".strip(),
        "kernel": platform.version(),
        "pro": False,
        "build": f"{major}.{minor}.{current_build}.{revision}",
    }


def machine_id() -> str:
    if os.name == "nt":
        import winreg

        with winreg.OpenKey(
            winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography", 0, winreg.KEY_READ | winreg.KEY_WOW64_64KEY
        ) as key:
            return str(winreg.QueryValueEx(key, "MachineGuid")[0])
    for path in MACHINE_ID_PATHS:
        try:
            with open(path, encoding="ascii") as handle:
                value = handle.read().strip()
        except (FileNotFoundError, UnicodeDecodeError):
            continue
        if value:
            return value
    raise BackendError("no machine id: neither /etc/machine-id nor /var/lib/dbus/machine-id is set")


def uptime_seconds() -> int:
    if os.name == "nt":
        import ctypes

        return int(ctypes.windll.kernel32.GetTickCount64() // 1000)  # type: ignore[attr-defined]
    try:
        with open("/proc/uptime", encoding="ascii") as handle:
            return int(float(handle.read().split()[0]))
    except (OSError, ValueError, IndexError):
        return int(time.monotonic())


def os_info() -> dict[str, object]:
    if os.name == "nt":
        return windows_os_info()
    release = read_os_release()
    pro = release.get("ID") == "ubuntu" and ubuntu_pro_attached()
    return linux_os_info(release, platform.release(), pro)


def fqdn() -> str:
    try:
        return socket.getfqdn()
    except OSError:
        return socket.gethostname()


def host_facts(backend: Backend) -> dict[str, object]:
    """Everything the enrollment body says about the machine (all but the token and version)."""
    own = backend.identity()
    return {
        "hostname": own.get("hostname") or socket.gethostname(),
        "fqdn": own.get("hostname") or fqdn(),
        "machine_id": own.get("machine_id") or machine_id(),
        "arch": backend.arch(),
        "os": os_info(),
    }
