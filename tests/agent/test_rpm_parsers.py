"""rpm and dnf parsers on outputs recorded by other public projects (see data/SOURCES.md).

No RHEL-family machine was available, so none of these outputs was produced by the
agent's own commands: the rpm listing is re-serialised into the agent's query format,
and the check-update tables come from yum, whose table format dnf 4 keeps.
"""

from __future__ import annotations

import re

import pytest

from agent.backends.base import BackendError
from agent.backends.rpm import (
    build_updates,
    compare_evr,
    install_command,
    parse_check_update,
    parse_rpm_qa,
    parse_updateinfo_security,
    rpmvercmp,
    split_nevra,
    with_epoch,
)

from .conftest import read_data


def oraclelinux9_in_agent_format() -> str:
    """The recorded Oracle Linux 9 listing as ``rpm -qa --qf RPM_QUERY_FORMAT`` prints it.

    The recording used go-rpmdb's ¶-separated query (EPOCH¶NAME¶VERSION¶RELEASE¶ARCH¶
    SOURCERPM¶…), where an absent epoch prints as nothing; the agent asks for
    %{EPOCHNUM}, which prints 0 instead, and %{ARCH}, which prints (none) when absent.
    """
    lines = []
    for line in read_data("rpm", "oraclelinux9-rpm-qa.psv").splitlines():
        epoch, name, version, release, arch, source_rpm = line.split("¶")[:6]
        lines.append(f"{name}\t{epoch or '0'}:{version}-{release}\t{arch or '(none)'}\t{source_rpm}\n")
    return "".join(lines)


@pytest.fixture(scope="module")
def ol9():
    return {package["name"]: package for package in parse_rpm_qa(oraclelinux9_in_agent_format())}


def test_gpg_pubkeys_are_skipped_and_every_package_kept(ol9):
    assert len(read_data("rpm", "oraclelinux9-rpm-qa.psv").splitlines()) == 183
    assert len(parse_rpm_qa(oraclelinux9_in_agent_format())) == 181
    assert "gpg-pubkey" not in ol9


def test_epoch_is_always_present(ol9):
    assert ol9["bash"]["version"] == "0:5.1.8-6.el9_1"
    assert ol9["redhat-release"]["version"] == "3:9.2-0.13.0.1.el9"
    assert ol9["dhcp-client"]["version"] == "12:4.4.2-18.b1.el9"
    assert ol9["openssl-libs"] == {
        "name": "openssl-libs",
        "version": "1:3.0.7-17.0.1.el9_2",
        "arch": "x86_64",
        "source_rpm": "openssl-3.0.7-17.0.1.el9_2.src.rpm",
    }
    assert all(re.match(r"^\d+:", package["version"]) for package in ol9.values())


def test_subpackages_name_their_source_rpm(ol9):
    assert ol9["libgcc"]["source_rpm"] == "gcc-11.3.1-4.3.0.1.el9.src.rpm"
    assert ol9["python3-libs"]["source_rpm"] == "python3.9-3.9.16-1.el9_2.1.src.rpm"
    assert ol9["tzdata"]["arch"] == "noarch"


def test_malformed_rpm_line_is_an_error():
    with pytest.raises(BackendError, match="fields instead of 4"):
        parse_rpm_qa("bash\t0:5.1\n")


# --- check-update ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def centos7():
    return parse_check_update(read_data("rpm", "yum-check-update-obsoletes-centos7.txt"))


def test_check_update_rows_including_a_wrapped_one(centos7):
    upgrades, _ = centos7
    # 178 lines above "Obsoleting Packages" start with name.arch (awk), one of them wrapped.
    assert len(upgrades) == 178
    by_name_arch = {(row["name"], row["arch"]): row for row in upgrades}
    # "device-mapper-persistent-data.x86_64" is alone on its line; the rest follows indented.
    assert by_name_arch[("device-mapper-persistent-data", "x86_64")] == {
        "name": "device-mapper-persistent-data",
        "arch": "x86_64",
        "version": "0.4.1-2.el7",
        "repo": "base",
    }
    assert by_name_arch[("bind-libs-lite", "x86_64")]["version"] == "32:9.9.4-18.el7_1.1"
    assert by_name_arch[("yum-plugin-fastestmirror", "noarch")]["repo"] == "base"
    # The same name offered for two architectures stays two rows.
    assert ("hwdata", "noarch") in by_name_arch and ("hwdata", "x86_64") in by_name_arch


def test_obsoleting_section_is_kept_apart(centos7):
    upgrades, obsoleting = centos7
    assert [entry["name"] for entry in obsoleting] == [
        "NetworkManager",
        "NetworkManager-adsl",
        "NetworkManager-bluetooth",
        "NetworkManager-team",
        "NetworkManager-wifi",
        "NetworkManager-wwan",
    ]
    assert obsoleting[1]["obsoletes"] == [
        {
            "name": "NetworkManager",
            "arch": "x86_64",
            "version": "1:0.9.9.1-25.git20140326.4dba720.el7_0",
            "repo": "@updates",
        }
    ]
    # Replacements that are not installed do not leak into the upgrades.
    assert "NetworkManager-adsl" not in {row["name"] for row in upgrades}


def test_check_update_wrapped_repository_and_padding():
    upgrades, obsoleting = parse_check_update(read_data("rpm", "yum-check-update-multiline-centos6.txt"))
    assert len(upgrades) == 194  # the lines that start with name.arch, counted with awk
    assert obsoleting == []
    rows = {row["name"]: row for row in upgrades}
    # "libpcap.x86_64  14:1.4.0-1.20130826git2dbcaa1.el6" with the repository on the next line.
    assert rows["libpcap"] == {
        "name": "libpcap",
        "arch": "x86_64",
        "version": "14:1.4.0-1.20130826git2dbcaa1.el6",
        "repo": "base",
    }
    assert rows["facter"]["repo"] == "puppetlabs-products"
    assert rows["abrt"]["repo"] == "base"  # trailing padding removed


def test_plugin_chatter_is_not_a_package():
    text = (
        "Loaded plugins: fastestmirror\n"
        " * base: mirror.example\n"
        "Security: kernel-3.10 is an installed security update\n"
    )
    assert parse_check_update(text) == ([], [])


# --- security advisories ------------------------------------------------------------------------


def test_security_advisories_by_name_and_arch():
    keys = parse_updateinfo_security(read_data("rpm", "yum-list-sec-rhel6.txt"))
    assert len(keys) == 18
    assert ("bind-libs", "x86_64") in keys
    assert ("kernel-firmware", "noarch") in keys
    assert ("perl-Module-Pluggable", "x86_64") in keys  # NEVRA with an epoch


def test_split_nevra():
    assert split_nevra("bind-libs-32:9.8.2-0.17.rc1.el6_4.4.x86_64") == (
        "bind-libs",
        "32:9.8.2-0.17.rc1.el6_4.4",
        "x86_64",
    )
    assert split_nevra("kernel-firmware-2.6.32-358.6.1.el6.noarch") == (
        "kernel-firmware",
        "0:2.6.32-358.6.1.el6",
        "noarch",
    )
    with pytest.raises(ValueError):
        split_nevra("RHSA-2013:0689")


# --- building the protocol's updates -------------------------------------------------------------


def test_build_updates_joins_the_installed_version(centos7):
    upgrades, obsoleting = centos7
    # The installed NetworkManager version is the one the sample's Obsoleting section shows.
    installed_network_manager = obsoleting[0]["obsoletes"][0]["version"]
    installed = [
        {"name": "NetworkManager", "arch": "x86_64", "version": installed_network_manager, "source_rpm": ""},
        {"name": "bash", "arch": "x86_64", "version": "0:4.2.46-10.el7", "source_rpm": ""},
        {"name": "hwdata", "arch": "noarch", "version": "0:0.252-7.3.el7", "source_rpm": ""},
        # Two kernels installed: the newer one is the one being upgraded.
        {"name": "kernel", "arch": "x86_64", "version": "0:3.10.0-229.el7", "source_rpm": ""},
        {"name": "kernel", "arch": "x86_64", "version": "0:3.10.0-229.1.2.el7", "source_rpm": ""},
    ]
    updates = build_updates(upgrades, installed, {("bash", "x86_64")})
    by_key = {(u["name"], u["arch"]): u for u in updates}
    assert by_key[("NetworkManager", "x86_64")] == {
        "kind": "dnf",
        "name": "NetworkManager",
        "arch": "x86_64",
        "current_version": "1:0.9.9.1-25.git20140326.4dba720.el7_0",
        "available_version": "1:1.0.0-14.git20150121.b4ea599c.el7",
        "repo": "base",
        "security": False,
    }
    assert by_key[("bash", "x86_64")]["available_version"] == "0:4.2.46-12.el7"
    assert by_key[("bash", "x86_64")]["security"] is True
    assert by_key[("kernel", "x86_64")]["current_version"] == "0:3.10.0-229.1.2.el7"
    # hwdata moved from noarch to x86_64: the x86_64 row still finds what it replaces.
    assert by_key[("hwdata", "x86_64")]["current_version"] == "0:0.252-7.3.el7"
    # Upgrades of packages that are not installed at all are not reported.
    assert ("alsa-lib", "x86_64") not in by_key


# --- version comparison ------------------------------------------------------------------------


def rpmvercmp_cases():
    text = read_data("rpm", "rpmvercmp.at")
    return [
        (match.group(1), match.group(2), int(match.group(3)))
        for match in re.finditer(r"^RPMVERCMP\(([^,]*), ([^,]*), (-?\d)\)$", text, flags=re.M)
    ]


def test_rpm_test_suite_cases_were_read():
    assert len(rpmvercmp_cases()) == 69  # grep -c '^RPMVERCMP' (the dnl lines are disabled)


@pytest.mark.parametrize(("left", "right", "expected"), rpmvercmp_cases())
def test_rpmvercmp_matches_rpms_own_test_suite(left, right, expected):
    assert rpmvercmp(left, right) == expected


def test_caret_sorts_after_the_bare_version():
    assert rpmvercmp("1.0^git1", "1.0") == 1
    assert rpmvercmp("1.0^git1", "1.01") == -1


def test_compare_evr_epoch_first():
    assert compare_evr("1:1.0-1", "0:9.9-9") == 1
    assert compare_evr("0:1.0-2", "0:1.0-10") == -1
    assert compare_evr("0:1.0-1.el9", "0:1.0-1.el9") == 0


def test_with_epoch():
    assert with_epoch("1.0-1.el9") == "0:1.0-1.el9"
    assert with_epoch("1:1.0-1.el9") == "1:1.0-1.el9"


# --- installs -----------------------------------------------------------------------------------


def test_install_command_real_and_dry_run():
    packages = [{"name": "openssl-libs", "version": "1:3.0.7-27.el9", "arch": "x86_64"}]
    target = "openssl-libs-1:3.0.7-27.el9.x86_64"
    assert install_command("dnf", packages, dry_run=False) == ["dnf", "upgrade", "-y", target]
    assert install_command("dnf", packages, dry_run=True) == [
        "dnf",
        "upgrade",
        "--assumeno",
        "openssl-libs-1:3.0.7-27.el9.x86_64",
    ]


@pytest.mark.parametrize(
    "package",
    [
        {"name": "--setopt=x", "version": "1.0-1"},
        {"name": "bash", "version": "-y"},
        {"name": "bash", "version": "1.0-1", "arch": "evil arch"},
    ],
)
def test_install_command_refuses_option_like_values(package):
    with pytest.raises(BackendError, match="refusing"):
        install_command("dnf", [package], dry_run=True)
