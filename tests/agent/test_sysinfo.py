"""Host facts for the enrollment body."""

from __future__ import annotations

import os
import platform

import pytest

from agent.sysinfo import linux_os_info, machine_id, parse_os_release, uptime_seconds, windows_product_name

from .conftest import read_data


def test_os_release_of_debian_12():
    release = parse_os_release(read_data("dpkg", "os-release-debian12"))
    assert linux_os_info(release, "6.1.0-18-amd64", pro=False) == {
        "family": "linux",
        "id": "debian",
        "id_like": "",
        "name": "Debian GNU/Linux",
        "version_id": "12",
        "version": "12 (bookworm)",
        "codename": "bookworm",
        "pretty_name": "Debian GNU/Linux 12 (bookworm)",
        "kernel": "6.1.0-18-amd64",
        "pro": False,
        "build": None,
    }


def test_os_release_quoting_and_comments():
    text = "# comment\nNAME='Red Hat Enterprise Linux'\nID_LIKE=\"fedora\"\nVERSION_ID=9.4\nBROKEN\n"
    assert parse_os_release(text) == {"NAME": "Red Hat Enterprise Linux", "ID_LIKE": "fedora", "VERSION_ID": "9.4"}


def test_windows_11_is_named_from_its_build_number():
    assert windows_product_name("Windows 10 Pro", 22631) == "Windows 11 Pro"
    assert windows_product_name("Windows 10 Pro", 19045) == "Windows 10 Pro"
    assert windows_product_name("Windows Server 2022 Standard", 20348) == "Windows Server 2022 Standard"


@pytest.mark.skipif(not os.path.exists("/etc/machine-id"), reason="needs systemd's machine id")
def test_machine_id_is_etc_machine_id():
    with open("/etc/machine-id") as handle:
        assert machine_id() == handle.read().strip()


@pytest.mark.skipif(platform.system() != "Linux", reason="reads /proc/uptime")
def test_uptime_is_positive_seconds():
    assert uptime_seconds() > 0
