"""dpkg-query and apt-get simulation parsers on outputs recorded on a Debian 12 machine."""

from __future__ import annotations

import pytest

from agent.backends.base import BackendError
from agent.backends.dpkg import (
    install_command,
    is_security_origin,
    parse_apt_actions,
    parse_apt_simulation,
    parse_dpkg_query,
    plain_name,
)

from .conftest import read_data


@pytest.fixture(scope="module")
def packages():
    return {package["name"]: package for package in parse_dpkg_query(read_data("dpkg", "dpkg-query-debian12.txt"))}


@pytest.fixture(scope="module")
def updates():
    simulation = read_data("dpkg", "apt-get-s-upgrade-debian12.txt")
    return {update["name"]: update for update in parse_apt_simulation(simulation)}


def test_every_installed_line_becomes_one_package(packages):
    text = read_data("dpkg", "dpkg-query-debian12.txt")
    installed_lines = [line for line in text.splitlines() if line.startswith("ii ")]
    assert len(installed_lines) == 887
    assert len(parse_dpkg_query(text)) == 887
    assert len(packages) == 887  # names are unique on this single-architecture machine


def test_binnmu_keeps_its_own_version_and_its_source_version(packages):
    # bash 5.2.15-2+b8 is the 8th binary-only rebuild of source bash 5.2.15-2.
    assert packages["bash"] == {
        "name": "bash",
        "version": "5.2.15-2+b8",
        "arch": "amd64",
        "source": "bash",
        "source_version": "5.2.15-2",
    }


def test_source_package_and_version_can_differ_entirely(packages):
    # cpp comes from gcc-defaults 1.203 and carries an epoch in its own version.
    assert packages["cpp"]["version"] == "4:12.2.0-3"
    assert packages["cpp"]["source"] == "gcc-defaults"
    assert packages["cpp"]["source_version"] == "1.203"


def test_epochs_are_kept(packages):
    assert packages["bsdutils"]["version"] == "1:2.38.1-5+deb12u3"
    assert packages["bsdutils"]["source"] == "util-linux"
    assert packages["dmsetup"]["version"] == "2:1.02.185-2"


def test_multiarch_suffix_is_stripped_and_arch_kept(packages):
    text = read_data("dpkg", "dpkg-query-debian12.txt")
    assert "libssl3:amd64\t" in text
    assert sum(":amd64\t" in line for line in text.splitlines()) == 462
    # No foreign architecture on this machine: ":i386" is covered by the scratch database below.
    assert ":i386\t" not in text
    assert packages["libssl3"]["arch"] == "amd64"
    assert packages["libssl3"]["source"] == "openssl"
    assert not any(":" in name for name in packages)


def test_scratch_database_rc_line_ignored_and_i386_entry_kept():
    text = read_data("dpkg", "dpkg-query-scratch-admindir.txt")
    assert text.splitlines()[0].startswith("rc \tdemo-conffile\t")
    parsed = parse_dpkg_query(text)
    assert [(p["name"], p["arch"]) for p in parsed] == [("demo-lib", "amd64"), ("demo-lib", "i386")]
    assert parsed[1] == {
        "name": "demo-lib",
        "version": "1.0-1+b1",
        "arch": "i386",
        "source": "demo-src",
        "source_version": "1.0-1",
    }


def test_empty_source_fields_default_to_the_binary():
    # dpkg fills ${source:*} itself; the agent still defaults them as PROTOCOL.md requires.
    assert parse_dpkg_query("ii \tfoo:amd64\t1.0-1\tamd64\t\t\n") == [
        {"name": "foo", "version": "1.0-1", "arch": "amd64", "source": "foo", "source_version": "1.0-1"}
    ]


def test_malformed_line_is_an_error_not_a_silent_skip():
    with pytest.raises(BackendError, match="line 1 has 3 fields"):
        parse_dpkg_query("ii \tfoo\t1.0\n")


def test_plain_name_only_strips_its_own_architecture():
    assert plain_name("libc6:i386", "i386") == "libc6"
    assert plain_name("libc6", "amd64") == "libc6"
    assert plain_name("weird:name", "amd64") == "weird:name"


def test_upgrade_simulation_lists_every_upgradable_package(updates):
    text = read_data("dpkg", "apt-get-s-upgrade-debian12.txt")
    assert "113 upgraded, 0 newly installed" in text
    assert len(parse_apt_simulation(text)) == 113
    assert len(updates) == 113


def test_upgrade_and_dist_upgrade_agree_on_this_machine():
    upgrade = parse_apt_simulation(read_data("dpkg", "apt-get-s-upgrade-debian12.txt"))
    dist_upgrade = parse_apt_simulation(read_data("dpkg", "apt-get-s-dist-upgrade-debian12.txt"))
    assert upgrade == dist_upgrade


def test_security_flag_from_security_archives(updates):
    assert sum(update["security"] for update in updates.values()) == 66
    assert updates["libssl3"] == {
        "kind": "apt",
        "name": "libssl3",
        "arch": "amd64",
        "current_version": "3.0.19-1~deb12u2",
        "available_version": "3.0.22-1~deb12u2",
        "origin": "Debian-Security:12/oldstable-security",
        "security": True,
    }
    assert updates["base-files"]["security"] is False
    assert updates["base-files"]["origin"] == "Debian:12.15/oldstable"


def test_several_origins_are_all_kept_and_any_security_one_counts(updates):
    assert updates["libgcrypt20"]["origin"] == "Debian:12.15/oldstable, Debian-Security:12/oldstable-security"
    assert updates["libgcrypt20"]["security"] is True


def test_trailing_brackets_after_the_candidate_do_not_confuse_the_parser(updates):
    # Inst libext2fs2 [1.47.0-2] (1.47.0-2+b2 Debian:12.15/oldstable [amd64]) [e2fsprogs:amd64 on …]
    assert updates["libext2fs2"]["current_version"] == "1.47.0-2"
    assert updates["libext2fs2"]["available_version"] == "1.47.0-2+b2"
    assert updates["libext2fs2"]["arch"] == "amd64"


def test_arch_all_and_epochs_in_updates(updates):
    assert updates["tzdata"]["arch"] == "all"
    assert updates["libnss3-dev"]["current_version"] == "2:3.87.1-1+deb12u2"
    assert updates["libnss3-dev"]["available_version"] == "2:3.87.1-1+deb12u4"


def test_newly_installed_dependencies_are_not_updates():
    text = "Inst linux-image-6.1.0-99-amd64 (6.1.999-1 Debian-Security:12/oldstable-security [amd64])\n"
    assert parse_apt_simulation(text) == []
    assert parse_apt_actions(text)[0]["action"] == "install"


def test_foreign_architecture_update_gets_a_plain_name():
    text = "Inst libc6:i386 [2.36-9+deb12u7] (2.36-9+deb12u9 Debian:12.9/stable [i386])\n"
    assert parse_apt_simulation(text)[0]["name"] == "libc6"
    assert parse_apt_simulation(text)[0]["arch"] == "i386"


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("Debian-Security:12/stable-security", True),
        ("Ubuntu:22.04/jammy-security", True),
        ("UbuntuESM:22.04/jammy-infra-security", True),
        ("Debian:12.15/oldstable", False),
        ("Ubuntu:22.04/jammy-updates", False),
    ],
)
def test_is_security_origin(origin, expected):
    assert is_security_origin(origin) is expected


def test_actions_of_the_recorded_simulation():
    actions = parse_apt_actions(read_data("dpkg", "apt-get-s-upgrade-debian12.txt"))
    assert len(actions) == 113
    assert {action["action"] for action in actions} == {"upgrade"}


def test_install_command_real_and_simulated():
    packages = [{"name": "libssl3", "version": "3.0.22-1~deb12u2"}]
    assert install_command(packages, dry_run=True) == [
        "apt-get",
        "-s",
        "-o",
        "Debug::NoLocking=1",
        "install",
        "--only-upgrade",
        "-y",
        "libssl3=3.0.22-1~deb12u2",
    ]
    real = install_command(packages, dry_run=False)
    assert real[0] == "apt-get" and "-s" not in real
    assert real[-4:] == ["install", "--only-upgrade", "-y", "libssl3=3.0.22-1~deb12u2"]


@pytest.mark.parametrize(
    "package",
    [
        {"name": "-oAPT::Get::Foo=1", "version": "1.0"},
        {"name": "libssl3", "version": "--reinstall"},
        {"name": "libssl3", "version": ""},
        {"name": "Bad Name", "version": "1.0"},
    ],
)
def test_install_command_refuses_values_that_could_become_options(package):
    with pytest.raises(BackendError, match="refusing"):
        install_command([package], dry_run=True)
