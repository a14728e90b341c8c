"""RHEL family: inventory from rpm, offered updates and installs through dnf (or yum on EL7).

Versions in the updates list are written like the rpm inventory's: ``EPOCH:VERSION-RELEASE``
with the epoch always present, so ``current_version`` equals the installed package's
inventory ``version`` and the portal can join the two without parsing.
"""

from __future__ import annotations

import re
import shutil
import string
from collections.abc import Iterable, Mapping, Sequence

from .base import C_LOCALE, Backend, BackendError, InstallResult, run_command, tail, unique

RPM_QUERY_FORMAT = "%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n"
INVENTORY_TIMEOUT = 120
CHECK_UPDATE_TIMEOUT = 900
INSTALL_TIMEOUT = 3600
# dnf check-update: 100 means updates are available, 0 none, anything else an error.
CHECK_UPDATE_AVAILABLE = 100

# Architectures a `name.arch` column can end in; anything else is not a package row.
ARCHES = frozenset(
    (
        "noarch", "src", "nosrc", "x86_64", "i386", "i486", "i586", "i686", "athlon", "aarch64", "armv7hl",
        "armv7l", "armhfp", "ppc", "ppc64", "ppc64le", "ppc64p7", "s390", "s390x", "ia64", "riscv64",
        "loongarch64", "mips64el",
    )
)  # fmt: skip
_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")
_EVR = re.compile(r"^(?:[0-9]+:)?[A-Za-z0-9._+~^]+-[A-Za-z0-9._+~^]+$")


# --- inventory ------------------------------------------------------------------------------


def parse_rpm_qa(text: str) -> list[dict[str, str]]:
    """Installed packages from ``rpm -qa --qf RPM_QUERY_FORMAT``.

    gpg-pubkey entries are the imported signing keys, not software, so they are skipped.
    """
    packages = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise BackendError(f"rpm line {number} has {len(fields)} fields instead of 4: {line!r}")
        name, version, arch, source_rpm = fields
        if name == "gpg-pubkey":
            continue
        packages.append(
            {
                "name": name,
                "version": version,
                "arch": "" if arch == "(none)" else arch,
                "source_rpm": "" if source_rpm == "(none)" else source_rpm,
            }
        )
    return packages


# --- version comparison (rpm's rpmvercmp) -------------------------------------------------


def rpmvercmp(left: str, right: str) -> int:
    """Compare two version (or release) strings the way rpm does; -1, 0 or 1."""
    if left == right:
        return 0
    alnum = string.ascii_letters + string.digits
    i = j = 0
    while i < len(left) or j < len(right):
        while i < len(left) and left[i] not in alnum and left[i] not in "~^":
            i += 1
        while j < len(right) and right[j] not in alnum and right[j] not in "~^":
            j += 1
        # A tilde sorts before everything, even the end of the string (1.0~rc1 < 1.0).
        left_tilde = i < len(left) and left[i] == "~"
        right_tilde = j < len(right) and right[j] == "~"
        if left_tilde or right_tilde:
            if not left_tilde:
                return 1
            if not right_tilde:
                return -1
            i, j = i + 1, j + 1
            continue
        # A caret sorts after the end of the string but before anything else (1.0^git1 > 1.0).
        left_caret = i < len(left) and left[i] == "^"
        right_caret = j < len(right) and right[j] == "^"
        if left_caret or right_caret:
            if i >= len(left):
                return -1
            if j >= len(right):
                return 1
            if not left_caret:
                return 1
            if not right_caret:
                return -1
            i, j = i + 1, j + 1
            continue
        if i >= len(left) or j >= len(right):
            break
        numeric = left[i] in string.digits
        kind = string.digits if numeric else string.ascii_letters
        start_i, start_j = i, j
        while i < len(left) and left[i] in kind:
            i += 1
        while j < len(right) and right[j] in kind:
            j += 1
        left_segment, right_segment = left[start_i:i], right[start_j:j]
        if not right_segment:
            # Different kinds of segment: a number is newer than letters.
            return 1 if numeric else -1
        if numeric:
            left_segment, right_segment = left_segment.lstrip("0"), right_segment.lstrip("0")
            if len(left_segment) != len(right_segment):
                return 1 if len(left_segment) > len(right_segment) else -1
        if left_segment != right_segment:
            return 1 if left_segment > right_segment else -1
    if i >= len(left) and j >= len(right):
        return 0
    return -1 if i >= len(left) else 1


def split_evr(evr: str) -> tuple[int, str, str]:
    epoch, _, rest = evr.rpartition(":")
    version, _, release = rest.partition("-")
    return (int(epoch) if epoch.isdigit() else 0), version, release


def compare_evr(left: str, right: str) -> int:
    left_epoch, left_version, left_release = split_evr(left)
    right_epoch, right_version, right_release = split_evr(right)
    if left_epoch != right_epoch:
        return 1 if left_epoch > right_epoch else -1
    return rpmvercmp(left_version, right_version) or rpmvercmp(left_release, right_release)


def with_epoch(evr: str) -> str:
    """``1.0-1.el9`` → ``0:1.0-1.el9``: the inventory's form, epoch always present."""
    return evr if ":" in evr else "0:" + evr


def split_nevra(nevra: str) -> tuple[str, str, str]:
    """``perl-4:5.10.1-130.el6_4.x86_64`` → (``perl``, ``4:5.10.1-130.el6_4``, ``x86_64``)."""
    base, _, arch = nevra.rpartition(".")
    rest, _, release = base.rpartition("-")
    name, _, version = rest.rpartition("-")
    if not name or not version or not release or arch not in ARCHES:
        raise ValueError(f"not a name-[epoch:]version-release.arch: {nevra!r}")
    return name, with_epoch(f"{version}-{release}"), arch


# --- dnf check-update ---------------------------------------------------------------------


def _name_arch(token: str) -> tuple[str, str] | None:
    name, dot, arch = token.rpartition(".")
    if not dot or arch not in ARCHES or not _NAME.match(name):
        return None
    return name, arch


def _table_rows(lines: Iterable[str]):
    """Yield ``(indented, [name.arch, version, repo])`` for each row of a check-update table.

    dnf and yum wrap a row whose name (or version) is wider than its column: the rest
    continues on the next, indented line. Lines that are not rows (plugin chatter,
    "Last metadata expiration check", "Security: …" notices) are skipped.
    """
    pending: tuple[bool, list[str]] | None = None
    for line in lines:
        if not line.strip():
            continue
        tokens = line.split()
        indented = line[0].isspace()
        if pending is not None and indented and _name_arch(tokens[0]) is None:
            pending[1].extend(tokens)
            if len(pending[1]) >= 3:
                yield pending[0], pending[1][:3]
                pending = None
            continue
        pending = None
        if _name_arch(tokens[0]) is None:
            continue
        if len(tokens) >= 3:
            yield indented, tokens[:3]
        else:
            pending = (indented, tokens)


def _row(tokens: list[str]) -> dict[str, str] | None:
    name_arch = _name_arch(tokens[0])
    if name_arch is None or not _EVR.match(tokens[1]):
        return None
    return {"name": name_arch[0], "arch": name_arch[1], "version": tokens[1], "repo": tokens[2]}


def parse_check_update(text: str) -> tuple[list[dict[str, str]], list[dict[str, object]]]:
    """The upgrades ``dnf check-update`` lists, and its "Obsoleting Packages" section.

    Returns ``(upgrades, obsoleting)``; each obsoleting entry names the replacement and,
    in ``obsoletes``, the installed packages it replaces (the indented rows under it).
    """
    lines = text.splitlines()
    split = next((i for i, line in enumerate(lines) if line.strip().lower().startswith("obsoleting packages")), None)
    main_lines = lines if split is None else lines[:split]
    obsoleting_lines = [] if split is None else lines[split + 1 :]
    upgrades = [row for row in (_row(tokens) for _, tokens in _table_rows(main_lines)) if row]
    obsoleting: list[dict[str, object]] = []
    for indented, tokens in _table_rows(obsoleting_lines):
        row = _row(tokens)
        if row is None:
            continue
        if indented and obsoleting:
            obsoleting[-1]["obsoletes"].append(row)  # type: ignore[union-attr]
        elif not indented:
            obsoleting.append({**row, "obsoletes": []})
    return upgrades, obsoleting


def parse_updateinfo_security(text: str) -> set[tuple[str, str]]:
    """``(name, arch)`` of every package a security advisory lists (``dnf updateinfo list --security``).

    Lines look like ``RHSA-2013:0689 Important/Sec. bind-libs-32:9.8.2-0.17.rc1.el6_4.4.x86_64``.
    """
    keys = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3 or not fields[1].endswith("/Sec."):
            continue
        # dnf5 adds an issued date after the package, so look for the package by shape.
        for candidate in fields[2:]:
            try:
                name, _, arch = split_nevra(candidate)
            except ValueError:
                continue
            keys.add((name, arch))
            break
    return keys


def build_updates(
    upgrades: Sequence[Mapping[str, str]],
    installed: Sequence[Mapping[str, str]],
    security: set[tuple[str, str]],
) -> list[dict[str, object]]:
    """Protocol ``dnf`` updates: each upgrade with the installed version it replaces.

    With several versions installed (kernels) the newest is the one being upgraded. A row
    whose name is not installed under that architecture falls back to the same name on
    any architecture (a package that moved from noarch to x86_64); none at all means it is
    not an upgrade of anything installed and it is skipped.
    """
    by_name_arch: dict[tuple[str, str], list[str]] = {}
    by_name: dict[str, list[str]] = {}
    for package in installed:
        by_name_arch.setdefault((package["name"], package["arch"]), []).append(package["version"])
        by_name.setdefault(package["name"], []).append(package["version"])
    updates = []
    for row in upgrades:
        versions = by_name_arch.get((row["name"], row["arch"])) or by_name.get(row["name"])
        if not versions:
            continue
        current = versions[0]
        for version in versions[1:]:
            if compare_evr(version, current) > 0:
                current = version
        updates.append(
            {
                "kind": "dnf",
                "name": row["name"],
                "arch": row["arch"],
                "current_version": current,
                "available_version": with_epoch(row["version"]),
                "repo": row["repo"],
                "security": (row["name"], row["arch"]) in security,
            }
        )
    return updates


# --- installs ------------------------------------------------------------------------------


def install_command(
    tool: str, packages: Sequence[Mapping[str, str]], dry_run: bool, verb: str = "upgrade"
) -> list[str]:
    """``dnf upgrade -y NAME-EPOCH:VERSION-RELEASE[.ARCH] …``; the dry run answers "no" instead.

    ``--assumeno`` resolves the transaction and prints it, then stops before downloading
    anything. ``--setopt=tsflags=test`` was not chosen: it downloads every package and runs
    an rpm test transaction under the rpm lock, which is more than "report what it would do".
    """
    if not packages:
        raise BackendError("nothing to install")
    targets = []
    for package in packages:
        name, version, arch = package.get("name", ""), package.get("version", ""), package.get("arch", "")
        if not _NAME.match(name) or name.startswith("-") or not _EVR.match(version) or (arch and arch not in ARCHES):
            raise BackendError(f"refusing to install {name!r} {version!r} {arch!r}: not a valid rpm name and version")
        targets.append(f"{name}-{version}" + (f".{arch}" if arch else ""))
    return [tool, verb, "--assumeno" if dry_run else "-y", *targets]


def parse_transaction(text: str) -> list[dict[str, object]]:
    """The packages of the transaction table dnf prints before asking (or after --assumeno)."""
    actions: list[dict[str, object]] = []
    section = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.endswith(":") and not line.startswith(" "):
            heading = stripped[:-1].lower()
            section = (
                "upgrade"
                if heading.startswith("upgrading") or heading.startswith("updating")
                else "install"
                if heading.startswith("installing")
                else "downgrade"
                if heading.startswith("downgrading")
                else "remove"
                if heading.startswith("removing")
                else None
            )
            continue
        fields = stripped.split()
        if section and line.startswith(" ") and len(fields) >= 4 and fields[1] in ARCHES:
            actions.append({"action": section, "name": fields[0], "arch": fields[1], "to_version": fields[2]})
    return actions


class RpmBackend(Backend):
    name = "rpm"
    inventory_format = "rpm"

    def __init__(self, tool: str | None = None):
        # EL7 has only yum, whose check-update and updateinfo print the same tables.
        self.tool = tool or ("dnf" if shutil.which("dnf") else "yum")

    def inventory(self) -> list[dict[str, str]]:
        result = run_command(["rpm", "-qa", "--qf", RPM_QUERY_FORMAT], INVENTORY_TIMEOUT, env=C_LOCALE)
        return unique(parse_rpm_qa(result.stdout))

    def _security_keys(self) -> set[tuple[str, str]]:
        try:
            result = run_command(
                [self.tool, "-q", "updateinfo", "list", "--security"], CHECK_UPDATE_TIMEOUT, env=C_LOCALE
            )
        except BackendError:
            # Repositories without updateinfo (EPEL mirrors, third parties) are common;
            # then nothing is marked security rather than the whole scan failing.
            return set()
        return parse_updateinfo_security(result.stdout)

    def updates(self) -> list[dict[str, object]]:
        result = run_command(
            [self.tool, "-q", "check-update"],
            CHECK_UPDATE_TIMEOUT,
            env=C_LOCALE,
            ok_codes=(0, CHECK_UPDATE_AVAILABLE),
        )
        if result.returncode == 0:
            return []
        upgrades, _obsoleting = parse_check_update(result.stdout)
        return build_updates(upgrades, self.inventory(), self._security_keys())

    def install(self, packages: Sequence[Mapping[str, str]], dry_run: bool) -> InstallResult:
        return self._dnf(install_command(self.tool, packages, dry_run), dry_run)

    def rollback(self, packages: Sequence[Mapping[str, str]], dry_run: bool) -> InstallResult:
        """``dnf downgrade -y NAME-PREVIOUS …``: back to the version before the update."""
        return self._dnf(install_command(self.tool, packages, dry_run, verb="downgrade"), dry_run)

    def _dnf(self, argv: list[str], dry_run: bool) -> InstallResult:
        result = run_command(argv, INSTALL_TIMEOUT, env=C_LOCALE, ok_codes=None)
        output = result.stdout + "\n" + result.stderr
        # With --assumeno dnf exits 1 after "Operation aborted.": that is the dry run succeeding.
        succeeded = result.returncode == 0 or (dry_run and "Operation aborted" in output)
        return InstallResult(
            dry_run=dry_run,
            command=argv,
            returncode=result.returncode,
            succeeded=succeeded,
            actions=parse_transaction(result.stdout),
            output=tail(output),
        )

    def reboot_required(self) -> bool:
        # needs-restarting (dnf-utils / yum-utils) -r exits 1 when a reboot is needed.
        if not shutil.which("needs-restarting"):
            return False
        try:
            result = run_command(["needs-restarting", "-r"], 120, env=C_LOCALE, ok_codes=(0, 1))
        except BackendError:
            return False
        return result.returncode == 1

    def arch(self) -> str:
        return run_command(["rpm", "--eval", "%{_arch}"], 30, env=C_LOCALE).stdout.strip()
