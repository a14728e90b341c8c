"""Windows: Windows Update (WUA), winget, and the Uninstall registry keys."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ...logs import get_logger
from ..base import Backend, BackendError, InstallResult, run_command, run_or_describe, tail
from .registry import read_uninstall_entries, software_from_uninstall_entries
from .winget import decode_output, find_winget, parse_winget_upgrade
from .wua import SCAN_SCRIPT, install_arguments, load_script_output, powershell, updates_from_wua

WUA_SCAN_TIMEOUT = 3600
WINGET_TIMEOUT = 600
INSTALL_TIMEOUT = 4 * 3600
_WINGET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_WINGET_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_KB = re.compile(r"^(?:KB)?(\d{4,8})$", re.IGNORECASE)
_SERVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._$-]{0,200}$")
REBOOT_KEYS = (
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending",
)

log = get_logger("windows")


class WindowsBackend(Backend):
    name = "windows"
    inventory_format = "windows"

    def inventory(self) -> list[dict[str, str]]:
        return software_from_uninstall_entries(read_uninstall_entries())

    def windows_updates(self) -> list[dict[str, object]]:
        result = run_command(powershell(SCAN_SCRIPT), WUA_SCAN_TIMEOUT, decode=decode_output)
        try:
            return updates_from_wua(load_script_output(result.stdout))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BackendError(f"unexpected Windows Update record from {SCAN_SCRIPT}: {exc!r}") from None

    def winget_updates(self) -> list[dict[str, object]]:
        winget = find_winget()
        if not winget:
            return []
        result = run_command(
            [winget, "upgrade", "--accept-source-agreements", "--disable-interactivity"],
            WINGET_TIMEOUT,
            ok_codes=None,
            decode=decode_output,
        )
        return parse_winget_upgrade(result.stdout)  # type: ignore[return-value]

    def updates(self) -> list[dict[str, object]]:
        updates = self.windows_updates()
        try:
            updates += self.winget_updates()
        except BackendError as exc:
            # winget is missing or broken on many servers; Windows Update still gets reported.
            log.warning("winget updates skipped: %s", exc)
        return updates

    def install(self, packages: Sequence[Mapping[str, str]], dry_run: bool) -> InstallResult:
        kinds = {package.get("kind") or ("windows" if "update_id" in package else "winget") for package in packages}
        if kinds == {"windows"}:
            return self._install_windows_updates([package["update_id"] for package in packages], dry_run)
        if kinds == {"winget"} and len(packages) == 1:
            return self._install_winget(packages[0], dry_run)
        raise BackendError("one install is either Windows Update ids or a single winget package")

    def _install_windows_updates(self, update_ids: Sequence[str], dry_run: bool) -> InstallResult:
        argv = install_arguments(update_ids, dry_run)
        result = run_command(argv, INSTALL_TIMEOUT, ok_codes=None, decode=decode_output)
        try:
            document = load_script_output(result.stdout)
        except BackendError:
            document = {}
        return InstallResult(
            dry_run=dry_run,
            command=argv,
            returncode=result.returncode,
            succeeded=result.returncode == 0,
            actions=list(document.get("updates") or []),
            output=tail(result.stderr or result.stdout),
        )

    def _install_winget(self, package: Mapping[str, str], dry_run: bool) -> InstallResult:
        package_id, version = package.get("id", ""), package.get("version", "")
        if not _WINGET_ID.match(package_id) or (version and not _WINGET_VERSION.match(version)):
            raise BackendError(f"refusing to install {package_id!r} {version!r}: not a winget id and version")
        winget = find_winget() or "winget"
        argv = [winget, "upgrade", "--id", package_id, "--exact", "--silent", "--disable-interactivity"]
        if version:
            argv += ["--version", version]
        argv += ["--accept-package-agreements", "--accept-source-agreements"]
        action = {"action": "upgrade", "id": package_id, "to_version": version or None}
        if dry_run:
            # winget has no simulation mode: report the command without running it.
            return InstallResult(True, argv, 0, True, [action], "dry run: winget was not started")
        result = run_command(argv, INSTALL_TIMEOUT, ok_codes=None, decode=decode_output)
        return InstallResult(False, argv, result.returncode, result.returncode == 0, [action], tail(result.stdout))

    def rollback(self, packages: Sequence[Mapping[str, str]], dry_run: bool) -> InstallResult:
        """KBs: ``wusa /uninstall /kb:N /quiet /norestart``; winget: install the earlier version."""
        if len(packages) == 1 and (packages[0].get("kind") == "winget" or "id" in packages[0]):
            return self._winget_version(packages[0], dry_run)
        results = [self._uninstall_kb(str(package.get("kb", "")), dry_run) for package in packages]
        if not results:
            raise BackendError("nothing to roll back")
        return InstallResult(
            dry_run=dry_run,
            command=[arg for result in results for arg in result.command],
            returncode=next((r.returncode for r in results if not r.succeeded), 0),
            succeeded=all(r.succeeded for r in results),
            actions=[action for result in results for action in result.actions],
            output="\n".join(r.output for r in results if r.output),
        )

    def _uninstall_kb(self, kb: str, dry_run: bool) -> InstallResult:
        match = _KB.match(kb.strip())
        if not match:
            raise BackendError(f"refusing to uninstall {kb!r}: not a KB number")
        argv = ["wusa.exe", "/uninstall", f"/kb:{match.group(1)}", "/quiet", "/norestart"]
        # wusa has no simulation mode; 3010 means "done, restart required".
        result = run_or_describe(argv, dry_run, "uninstall")
        result.actions = [{"action": "uninstall", "kb": f"KB{match.group(1)}"}]
        if result.returncode == 3010:
            result.succeeded = True
        return result

    def _winget_version(self, package: Mapping[str, str], dry_run: bool) -> InstallResult:
        package_id, version = package.get("id", ""), package.get("version", "")
        if not _WINGET_ID.match(package_id) or not _WINGET_VERSION.match(version):
            raise BackendError(f"refusing to install {package_id!r} {version!r}: not a winget id and version")
        winget = find_winget() or "winget"
        argv = [winget, "install", "--id", package_id, "--exact", "--version", version, "--force", "--silent"]
        argv += ["--disable-interactivity", "--accept-package-agreements", "--accept-source-agreements"]
        result = run_or_describe(argv, dry_run, "downgrade", timeout=INSTALL_TIMEOUT)
        result.actions = [{"action": "downgrade", "id": package_id, "to_version": version}]
        return result

    def reboot(self, dry_run: bool, delay_minutes: int = 1) -> InstallResult:
        argv = ["shutdown.exe", "/r", "/t", str(delay_minutes * 60), "/c", "PatchPortal: restarting to finish updates"]
        return run_or_describe(argv, dry_run, "reboot")

    def service_active(self, name: str) -> tuple[bool, str]:
        if not _SERVICE.match(name):
            return False, f"not a service name: {name!r}"
        try:
            result = run_command(["sc.exe", "query", name], 30, ok_codes=None, decode=decode_output)
        except BackendError as exc:
            return False, str(exc)
        running = result.returncode == 0 and "RUNNING" in result.stdout
        state = next((line.split(":", 1)[1].strip() for line in result.stdout.splitlines() if "STATE" in line), "")
        return running, state or tail(result.stdout, 2)

    def reboot_required(self) -> bool:
        import winreg

        for key in REBOOT_KEYS:
            try:
                winreg.CloseKey(
                    winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key, 0, winreg.KEY_READ | winreg.KEY_WOW64_64KEY)
                )
            except OSError:
                continue
            return True
        return False

    def arch(self) -> str:
        import platform

        return platform.machine().lower() or "unknown"
