"""OSV ecosystem names for devices."""

from __future__ import annotations

import pytest

from devices.ecosystem import ecosystem_key, ecosystems_for


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("linux", "debian", "12"), "Debian:12"),
        (("linux", "debian", "11"), "Debian:11"),
        (("linux", "ubuntu", "22.04"), "Ubuntu:22.04:LTS"),
        (("linux", "ubuntu", "24.04"), "Ubuntu:24.04:LTS"),
        (("linux", "ubuntu", "23.10"), "Ubuntu:23.10"),
        (("linux", "rhel", "9.3"), "Red Hat:9"),
        (("linux", "almalinux", "9.4"), "AlmaLinux:9"),
        (("linux", "rocky", "8.9"), "Rocky Linux:8"),
        (("linux", "alpine", "3.20.3"), "Alpine:v3.20"),
        (("linux", "centos", "9", "rhel fedora"), "Red Hat:9"),
        (("linux", "linuxmint", "21.3", "ubuntu"), ""),
        (("linux", "raspbian", "12", "debian"), "Debian:12"),
        (("linux", "gentoo", "2.15"), ""),
        (("windows", "", "23H2", "", "10.0.22631.3007"), "Windows:10.0.22631.3007"),
        (("macos", "", "14.4"), ""),
    ],
)
def test_ecosystem_key(args, expected):
    assert ecosystem_key(*args) == expected


def test_ubuntu_pro_devices_also_take_esm_advisories():
    assert ecosystems_for("Ubuntu:22.04:LTS", ubuntu_pro=True) == ["Ubuntu:22.04:LTS", "Ubuntu:Pro:22.04:LTS"]
    assert ecosystems_for("Ubuntu:22.04:LTS") == ["Ubuntu:22.04:LTS"]
    assert ecosystems_for("Debian:12", ubuntu_pro=True) == ["Debian:12"]
