"""Debian and Ubuntu: inventory from dpkg-query, offered updates and installs through apt-get.

Package names are sent without the ``:arch`` suffix that ``${binary:Package}`` adds to
Multi-Arch: same packages: PROTOCOL.md carries the architecture in its own ``arch`` field and
its examples use the plain name (``libssl3``, which dpkg prints as ``libssl3:amd64``), and
apt's updates list must use the same name for the portal to match the two.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

from .base import C_LOCALE, Backend, BackendError, InstallResult, run_command, tail, unique

DPKG_QUERY_FORMAT = (
    "${db:Status-Abbrev}\t${binary:Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n"
)
INVENTORY_TIMEOUT = 120
SIMULATION_TIMEOUT = 600
INSTALL_TIMEOUT = 3600
# Without locking, the simulation runs beside unattended-upgrades or an admin's apt session.
APT_SIMULATE = ("apt-get", "-s", "-o", "Debug::NoLocking=1")

# Inst libssl3 [3.0.14-1~deb12u2] (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64]) []
_INST_LINE = re.compile(
    r"^Inst (?P<name>\S+)"
    r"(?: \[(?P<current>[^\]]*)\])?"
    r" \((?P<candidate>\S+)(?: (?P<origins>.*?))? \[(?P<arch>[^\]]+)\]\)"
)
_REMV_LINE = re.compile(r"^Remv (?P<name>\S+)(?: \[(?P<current>[^\]]*)\])?")
# Debian policy: names are [a-z0-9][a-z0-9+.-]+; versions [epoch:]upstream[-revision].
_PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?$")
_PACKAGE_VERSION = re.compile(r"^[0-9][A-Za-z0-9.+~:-]*$")


def plain_name(binary_package: str, arch: str) -> str:
    """``libssl3:amd64`` → ``libssl3``; the architecture is reported separately."""
    suffix = ":" + arch
    return binary_package[: -len(suffix)] if binary_package.endswith(suffix) else binary_package


def parse_dpkg_query(text: str) -> list[dict[str, str]]:
    """Installed packages from ``dpkg-query -W -f=DPKG_QUERY_FORMAT`` output.

    Only ``ii`` (install ok, installed) counts: ``rc`` means removed with its config files
    left behind, and the half-installed states mean the package is not usable as it stands.
    """
    packages = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 6:
            raise BackendError(f"dpkg-query line {number} has {len(fields)} fields instead of 6: {line!r}")
        status, binary_package, version, arch, source, source_version = fields
        if status.strip() != "ii":
            continue
        packages.append(
            {
                "name": plain_name(binary_package, arch),
                "version": version,
                "arch": arch,
                "source": source or plain_name(binary_package, arch),
                "source_version": source_version or version,
            }
        )
    return packages


def is_security_origin(origin: str) -> bool:
    """``Debian-Security:12/stable-security`` → True: the archive (after the slash) ends in -security."""
    archive = origin.strip().rsplit("/", 1)[-1]
    return archive.endswith("-security")


def parse_apt_simulation(text: str) -> list[dict[str, object]]:
    """Offered upgrades from the ``Inst`` lines of ``apt-get -s upgrade|dist-upgrade``.

    A line without ``[current]`` is a package the upgrade would newly install as a
    dependency; it is not an update of anything installed, so it is not reported.
    """
    updates = []
    for line in text.splitlines():
        match = _INST_LINE.match(line)
        if not match or match.group("current") is None:
            continue
        arch = match.group("arch")
        origins = [origin.strip() for origin in (match.group("origins") or "").split(",") if origin.strip()]
        updates.append(
            {
                "kind": "apt",
                "name": plain_name(match.group("name"), arch),
                "arch": arch,
                "current_version": match.group("current"),
                "available_version": match.group("candidate"),
                "origin": ", ".join(origins),
                "security": any(is_security_origin(origin) for origin in origins),
            }
        )
    return updates


def parse_apt_actions(text: str) -> list[dict[str, object]]:
    """What an install did or would do: one entry per ``Inst``/``Remv`` line."""
    actions: list[dict[str, object]] = []
    for line in text.splitlines():
        inst = _INST_LINE.match(line)
        if inst:
            actions.append(
                {
                    "action": "upgrade" if inst.group("current") is not None else "install",
                    "name": plain_name(inst.group("name"), inst.group("arch")),
                    "arch": inst.group("arch"),
                    "from_version": inst.group("current"),
                    "to_version": inst.group("candidate"),
                }
            )
            continue
        remv = _REMV_LINE.match(line)
        if remv:
            actions.append({"action": "remove", "name": remv.group("name"), "from_version": remv.group("current")})
    return actions


def install_command(packages: Sequence[Mapping[str, str]], dry_run: bool) -> list[str]:
    """``apt-get install --only-upgrade -y PKG=VERSION …``, or its ``-s`` simulation.

    Names and versions come from the portal, so they are checked before they reach argv:
    a value starting with ``-`` would otherwise be read as an option.
    """
    if not packages:
        raise BackendError("nothing to install")
    targets = []
    for package in packages:
        name, version = package.get("name", ""), package.get("version", "")
        if not _PACKAGE_NAME.match(name) or not _PACKAGE_VERSION.match(version):
            raise BackendError(f"refusing to install {name!r}={version!r}: not a valid Debian package name and version")
        targets.append(f"{name}={version}")
    if dry_run:
        prefix = list(APT_SIMULATE)
    else:
        # Keep the admin's changed config files and take the package's default for the rest.
        prefix = ["apt-get", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]
    return [*prefix, "install", "--only-upgrade", "-y", *targets]


def rollback_command(packages: Sequence[Mapping[str, str]], dry_run: bool) -> list[str]:
    """``apt-get install --allow-downgrades -y PKG=PREVIOUS …`` (or its ``-s`` simulation)."""
    argv = install_command(packages, dry_run)
    # Same checks and prefix as an install; a downgrade is an install of the older version.
    index = argv.index("--only-upgrade")
    return [*argv[:index], "--allow-downgrades", *argv[index + 1 :]]


class DpkgBackend(Backend):
    name = "dpkg"
    inventory_format = "dpkg"

    def __init__(self, admindir: str | None = None):
        # Another dpkg database (dpkg-query --admindir), for chroots and tests.
        self.admindir = admindir

    def inventory(self) -> list[dict[str, str]]:
        argv = ["dpkg-query"]
        if self.admindir:
            argv.append(f"--admindir={self.admindir}")
        argv += ["-W", f"-f={DPKG_QUERY_FORMAT}"]
        result = run_command(argv, INVENTORY_TIMEOUT, env=C_LOCALE)
        return unique(parse_dpkg_query(result.stdout))

    def updates(self) -> list[dict[str, object]]:
        # dist-upgrade rather than upgrade: upgrade keeps back every package whose new
        # version needs a new package (each Debian kernel ABI bump, for one), so the
        # portal would never see those updates; install() can apply them, since
        # `apt-get install` may add dependencies.
        result = run_command([*APT_SIMULATE, "dist-upgrade"], SIMULATION_TIMEOUT, env=C_LOCALE)
        return parse_apt_simulation(result.stdout)

    def install(self, packages: Sequence[Mapping[str, str]], dry_run: bool) -> InstallResult:
        return self._apt(install_command(packages, dry_run), dry_run)

    def rollback(self, packages: Sequence[Mapping[str, str]], dry_run: bool) -> InstallResult:
        return self._apt(rollback_command(packages, dry_run), dry_run)

    def _apt(self, argv: list[str], dry_run: bool) -> InstallResult:
        env = dict(C_LOCALE)
        if not dry_run:
            env.update({"DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none"})
        result = run_command(argv, INSTALL_TIMEOUT, env=env, ok_codes=None)
        return InstallResult(
            dry_run=dry_run,
            command=argv,
            returncode=result.returncode,
            succeeded=result.returncode == 0,
            actions=parse_apt_actions(result.stdout),
            output=tail(result.stdout + "\n" + result.stderr),
        )

    def reboot_required(self) -> bool:
        # Written by update-notifier-common / needrestart hooks on Debian and Ubuntu.
        return os.path.exists("/run/reboot-required") or os.path.exists("/var/run/reboot-required")

    def arch(self) -> str:
        return run_command(["dpkg", "--print-architecture"], 30, env=C_LOCALE).stdout.strip()
