"""Windows Update through the Windows Update Agent API, by way of two PowerShell scripts.

The scripts do the COM calls and print JSON; the mapping to the protocol stays here in
Python where it can be tested without Windows.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence

from ..base import BackendError

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
SCAN_SCRIPT = os.path.join(SCRIPTS, "wua_scan.ps1")
INSTALL_SCRIPT = os.path.join(SCRIPTS, "wua_install.ps1")
# WUA InstallationBehavior.RebootBehavior: irbNeverReboots, irbAlwaysRequiresReboot, irbCanRequestReboot.
REBOOT_BEHAVIOUR = {0: "never", 1: "required", 2: "may"}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def powershell(script: str, *arguments: str) -> list[str]:
    # Bypass applies to this one process only; the machine's execution policy is untouched.
    return [
        "powershell.exe",
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-File",
        script,
        *arguments,
    ]


def load_script_output(stdout: str) -> dict:
    try:
        document = json.loads(stdout.lstrip("\ufeff").strip() or "{}")
    except ValueError as exc:
        raise BackendError(f"the Windows Update script printed something that is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BackendError("the Windows Update script printed JSON that is not an object")
    return document


def classification(categories: Sequence[Mapping[str, object]]) -> str | None:
    """The category whose type is UpdateClassification ("Security Updates", "Drivers", …).

    An update's other categories are products ("Windows 11") and the company; they are
    not classifications.
    """
    for category in categories or ():
        if category.get("type") == "UpdateClassification" and category.get("name"):
            return str(category["name"])
    return None


def release_date(timestamp: str | None) -> str | None:
    """``2024-01-09T00:00:00`` → ``2024-01-09``."""
    if not timestamp:
        return None
    day = str(timestamp)[:10]
    return day if re.match(r"^\d{4}-\d{2}-\d{2}$", day) else None


def updates_from_wua(document: Mapping[str, object]) -> list[dict[str, object]]:
    """Protocol ``windows`` updates from the scan script's JSON."""
    updates = []
    for record in document.get("updates") or []:  # type: ignore[union-attr]
        kbs = [str(kb) for kb in record.get("KBArticleIDs") or []]
        reboot = record.get("RebootBehavior")
        updates.append(
            {
                "kind": "windows",
                "update_id": str(record["UpdateID"]),
                "revision": int(record.get("RevisionNumber") or 0),
                "kb": f"KB{kbs[0]}" if kbs else None,
                "title": str(record.get("Title") or ""),
                "classification": classification(record.get("Categories") or []),
                "severity": record.get("MsrcSeverity") or None,
                "reboot": REBOOT_BEHAVIOUR.get(reboot, "may") if isinstance(reboot, int) else "may",
                "supersedes": [str(update_id) for update_id in record.get("SupersededUpdateIDs") or []],
                "size": int(record.get("MaxDownloadSize") or 0),
                "installed": bool(record.get("IsInstalled")),
                "released": release_date(record.get("LastDeploymentChangeTime")),
            }
        )
    return updates


def install_arguments(update_ids: Sequence[str], dry_run: bool) -> list[str]:
    """Arguments for wua_install.ps1; ids are checked because they come from the portal."""
    if not update_ids:
        raise BackendError("nothing to install")
    for update_id in update_ids:
        if not _GUID.match(update_id):
            raise BackendError(f"refusing to install {update_id!r}: not a Windows Update id (GUID)")
    # -File passes each argument as one string, so the list travels comma-separated.
    arguments = ["-UpdateId", ",".join(update_ids)]
    if dry_run:
        arguments.append("-DryRun")
    return powershell(INSTALL_SCRIPT, *arguments)
