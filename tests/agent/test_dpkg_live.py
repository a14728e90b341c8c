"""The dpkg back-end against the real dpkg and apt of the machine the tests run on."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from agent.backends.dpkg import DPKG_QUERY_FORMAT, DpkgBackend

pytestmark = pytest.mark.skipif(
    not (shutil.which("dpkg-query") and shutil.which("apt-get")), reason="needs a Debian-family machine"
)


def installed_version(name: str) -> str:
    return subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", name], capture_output=True, text=True, check=True
    ).stdout


def test_inventory_has_one_package_per_installed_line():
    output = subprocess.run(
        ["dpkg-query", "-W", f"-f={DPKG_QUERY_FORMAT}"],
        capture_output=True,
        text=True,
        check=True,
        env={"LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    ).stdout
    installed_lines = [line for line in output.splitlines() if line.startswith("ii")]
    packages = DpkgBackend().inventory()
    assert len(packages) == len(installed_lines) > 0
    assert all(set(package) == {"name", "version", "arch", "source", "source_version"} for package in packages)


def test_scratch_database_through_the_backend(scratch_dpkg_admindir):
    """Real dpkg states this machine lacks: rc is left out, both architectures stay."""
    packages = DpkgBackend(admindir=str(scratch_dpkg_admindir)).inventory()
    assert sorted((p["name"], p["arch"], p["version"], p["source_version"]) for p in packages) == [
        ("demo-lib", "amd64", "1.0-1+b1", "1.0-1"),
        ("demo-lib", "i386", "1.0-1+b1", "1.0-1"),
    ]


def test_arch_is_dpkgs_native_architecture():
    expected = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    assert DpkgBackend().arch() == expected


@pytest.mark.slow
def test_dry_run_install_of_a_real_upgrade_changes_nothing():
    backend = DpkgBackend()
    updates = backend.updates()
    if not updates:
        pytest.skip("nothing is upgradable on this machine")
    # The first one apt offers for the native architecture; which one does not matter.
    native = backend.arch()
    update = next((u for u in updates if u["arch"] in (native, "all")), updates[0])
    before = installed_version(update["name"])
    assert before == update["current_version"]

    result = backend.install([{"name": update["name"], "version": update["available_version"]}], dry_run=True)

    assert result.dry_run is True
    assert result.succeeded, result.output
    assert result.command[:4] == ["apt-get", "-s", "-o", "Debug::NoLocking=1"]
    planned = {(a["name"], a["to_version"]) for a in result.actions if a["action"] == "upgrade"}
    assert (update["name"], update["available_version"]) in planned
    assert installed_version(update["name"]) == before
