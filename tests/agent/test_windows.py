"""The Windows back-end's pure parts: winget tables, Uninstall entries, Windows Update records.

The winget tables are real outputs quoted in public issue threads (data/SOURCES.md). No
real output of the agent's own WUA script exists (it has never run on Windows), so the
Windows Update records below are built in this file from the WUA documentation's types
and enumerations, and say so; likewise the registry entries other than the two recorded ones.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.backends.base import BackendError
from agent.backends.windows import WindowsBackend
from agent.backends.windows.registry import software_from_uninstall_entries
from agent.backends.windows.winget import clean_lines, column_starts, parse_winget_upgrade, split_row
from agent.backends.windows.wua import (
    INSTALL_SCRIPT,
    SCAN_SCRIPT,
    classification,
    install_arguments,
    powershell,
    release_date,
    updates_from_wua,
)
from agent.hashing import inventory_hash, updates_hash

from .conftest import read_data

# --- winget upgrade --------------------------------------------------------------------------


def test_winget_table_with_footer():
    updates = parse_winget_upgrade(read_data("windows", "winget-upgrade-winget-cli-1869.txt"))
    assert len(updates) == 6  # "6 upgrades available." is the footer, not a row
    assert updates[0] == {
        "kind": "winget",
        "id": "OpenWhisperSystems.Signal",
        "name": "Signal",
        "current_version": "5.27.1",
        "available_version": "5.29.0",
        "source": "winget",
    }
    office = updates[3]
    assert office["name"] == "Microsoft 365 Apps for enterprise"
    assert office["id"] == "Microsoft.Office"
    assert office["available_version"] == "16.0.14729.20228"
    # The Id column is exactly as wide as its longest id here: no space before Version.
    assert updates[2]["id"] == "Microsoft.EdgeWebView2Runtime"


def test_winget_unknown_installed_version_and_a_misaligned_source():
    updates = parse_winget_upgrade(read_data("windows", "winget-upgrade-winget-pkgs-36722.txt"))
    assert [(u["id"], u["current_version"], u["available_version"], u["source"]) for u in updates] == [
        ("Mega.MEGASync", "Unknown", "4.6.1.0", "winget"),
        ("GOG.Galaxy", "Unknown", "2.0.43.71a", "winget"),
    ]


def test_winget_truncated_names_and_no_source_column():
    updates = parse_winget_upgrade(read_data("windows", "winget-upgrade-source-winget-autoupdate-297.txt"))
    assert len(updates) == 8
    sdk = updates[3]
    assert sdk["name"] == "Windows Software Development Kit - Windows 10.0.1904…"
    assert sdk["id"] == "Microsoft.WindowsSDK"
    assert sdk["current_version"] == "< 10.0.22000.832"
    assert sdk["available_version"] == "10.0.22621.2"
    assert sdk["source"] is None  # `--source winget` drops the Source column
    assert updates[6]["id"] == "IDMComputerSolutions,Inc.UltraEdit"


def test_winget_translated_header_with_non_ascii():
    text = read_data("windows", "winget-upgrade-german-raycast-27331.txt")
    assert "Verfügbar" in text.splitlines()[0]
    updates = parse_winget_upgrade(text)
    assert len(updates) == 7
    assert updates[2] == {
        "kind": "winget",
        "id": "Mozilla.Firefox.de",
        "name": "Mozilla Firefox (x64 de)",
        "current_version": "142.0.1",
        "available_version": "150.0",
        "source": "winget",
    }


def test_winget_columns_are_screen_cells_not_characters():
    header = "名前 ID      Version Available Source"
    assert column_starts(header) == [0, 5, 13, 21, 31]
    row = "微信 Tencent.WeChat 3.9 3.9.12 winget"
    assert split_row(row, [0, 5, 20, 24, 31]) == ["微信", "Tencent.WeChat", "3.9", "3.9.12", "winget"]


def test_winget_progress_spinner_and_colour_codes_are_removed():
    assert clean_lines("   - \r   \\ \r\x1b[2KName  Id\r\n") == ["Name  Id", ""]


def test_winget_with_nothing_to_upgrade():
    assert parse_winget_upgrade("No installed package found matching input criteria.\n") == []


# --- Uninstall registry entries ------------------------------------------------------------------


def recorded_uninstall_entries():
    """The two entries printed by winsoft-main's view.ps1 (name / version / key / uninstall (C) publisher)."""
    entries = []
    pattern = re.compile(r"^# (.+?)\s+/ (\S+)\s+/ (\{[^}]+\}) / (.+?)(?: \(C\) (.+))?$")
    for line in read_data("windows", "uninstall-values-winsoft-main.txt").splitlines():
        name, version, key, uninstall, publisher = pattern.match(line).groups()
        entry = {"key": key, "view": 64, "DisplayName": name, "DisplayVersion": version, "UninstallString": uninstall}
        if publisher:
            entry["Publisher"] = publisher
        entries.append(entry)
    return entries


def test_recorded_uninstall_entries_become_inventory_rows():
    software = software_from_uninstall_entries(recorded_uninstall_entries())
    assert software == [
        {"name": "ParaView", "version": "5.11.0", "publisher": "Kitware, Inc."},
        {"name": "WinFsp 2022", "version": "1.10.22006", "publisher": ""},
    ]
    assert len(inventory_hash("windows", software)) == 64


def test_system_components_nameless_and_versionless_entries_are_skipped():
    # Constructed entries (see the module docstring): hidden components, entries without a
    # name or a version (the portal requires one), and a product present in both views.
    paraview = recorded_uninstall_entries()[0]
    constructed = [
        {"key": "{HIDDEN}", "view": 64, "DisplayName": "Runtime part", "SystemComponent": 1},
        {"key": "{NONAME}", "view": 32, "DisplayVersion": "1.0"},
        {"key": "{BLANK}", "view": 32, "DisplayName": "   "},
        {"key": "{NOVERSION}", "view": 64, "DisplayName": "Compatibility Fix Database"},
        {"key": "{SHOWN}", "view": 32, "DisplayName": "Visible", "DisplayVersion": "2.0", "SystemComponent": 0},
        dict(paraview, view=32),
    ]
    software = software_from_uninstall_entries([paraview, *constructed])
    assert [row["name"] for row in software] == ["ParaView", "Visible"]


# --- Windows Update records ----------------------------------------------------------------------

# Constructed, not recorded: the shape wua_scan.ps1 prints, one offered and one installed
# update, with RebootBehavior values from the InstallationRebootBehavior enumeration.
WUA_DOCUMENT = {
    "updates": [
        {
            "UpdateID": "11111111-2222-3333-4444-555555555555",
            "RevisionNumber": 201,
            "Title": "2024-01 Security Update for Windows 10 (KB5034441)",
            "KBArticleIDs": ["5034441"],
            "Categories": [
                {"name": "Windows 10", "type": "Product"},
                {"name": "Security Updates", "type": "UpdateClassification"},
            ],
            "MsrcSeverity": "Important",
            "RebootBehavior": 1,
            "SupersededUpdateIDs": ["66666666-7777-8888-9999-000000000000"],
            "MaxDownloadSize": 262144000,
            "IsInstalled": False,
            "LastDeploymentChangeTime": "2024-01-09T00:00:00",
        },
        {
            "UpdateID": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "RevisionNumber": 1,
            "Title": "Security Intelligence Update for Microsoft Defender Antivirus",
            "KBArticleIDs": [],
            "Categories": [{"name": "Definition Updates", "type": "UpdateClassification"}],
            "MsrcSeverity": None,
            "RebootBehavior": 0,
            "SupersededUpdateIDs": [],
            "MaxDownloadSize": 0,
            "IsInstalled": True,
            "LastDeploymentChangeTime": None,
        },
    ]
}


def test_wua_records_map_to_protocol_updates():
    offered, installed = updates_from_wua(WUA_DOCUMENT)
    assert offered == {
        "kind": "windows",
        "update_id": "11111111-2222-3333-4444-555555555555",
        "revision": 201,
        "kb": "KB5034441",
        "title": "2024-01 Security Update for Windows 10 (KB5034441)",
        "classification": "Security Updates",
        "severity": "Important",
        "reboot": "required",
        "supersedes": ["66666666-7777-8888-9999-000000000000"],
        "size": 262144000,
        "installed": False,
        "released": "2024-01-09",
    }
    assert installed["kb"] is None
    assert installed["severity"] is None
    assert installed["reboot"] == "never"
    assert installed["installed"] is True
    assert installed["released"] is None
    assert len(updates_hash([offered, installed])) == 64


@pytest.mark.parametrize(("behaviour", "expected"), [(0, "never"), (1, "required"), (2, "may")])
def test_reboot_behaviour_mapping(behaviour, expected):
    record = dict(WUA_DOCUMENT["updates"][0], RebootBehavior=behaviour)
    assert updates_from_wua({"updates": [record]})[0]["reboot"] == expected


def test_classification_ignores_product_categories():
    assert classification([{"name": "Windows 11", "type": "Product"}]) is None
    assert classification([{"name": "Drivers", "type": "UpdateClassification"}]) == "Drivers"


def test_release_date():
    assert release_date("2023-11-14T00:00:00") == "2023-11-14"
    assert release_date("") is None
    assert release_date("14.11.2023") is None


def test_powershell_invocation_bypasses_the_policy_for_this_process_only():
    assert powershell(SCAN_SCRIPT) == [
        "powershell.exe",
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-File",
        SCAN_SCRIPT,
    ]


def test_install_arguments_dry_run_and_id_checks():
    ids = ["11111111-2222-3333-4444-555555555555", "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"]
    argv = install_arguments(ids, True)
    assert argv[:7] == powershell(INSTALL_SCRIPT)
    assert argv[7:] == ["-UpdateId", ",".join(ids), "-DryRun"]
    assert "-DryRun" not in install_arguments(["11111111-2222-3333-4444-555555555555"], False)
    with pytest.raises(BackendError, match="refusing"):
        install_arguments(["11111111-2222-3333-4444-555555555555; Remove-Item"], True)


def test_winget_dry_run_install_runs_nothing():
    result = WindowsBackend().install([{"kind": "winget", "id": "Mozilla.Firefox", "version": "122.0.1"}], True)
    assert result.dry_run and result.succeeded and result.returncode == 0
    assert result.command[1:4] == ["upgrade", "--id", "Mozilla.Firefox"]
    assert "--version" in result.command
    with pytest.raises(BackendError, match="refusing"):
        WindowsBackend().install([{"kind": "winget", "id": "--all", "version": ""}], True)


def test_scripts_ship_with_the_agent_and_use_the_wua_api():
    scan = Path(SCAN_SCRIPT).read_text(encoding="utf-8")
    install = Path(INSTALL_SCRIPT).read_text(encoding="utf-8")
    assert "New-Object -ComObject Microsoft.Update.Session" in scan
    assert "Search($criteria)" in scan and "'IsInstalled=0 and IsHidden=0', 'IsInstalled=1'" in scan
    for field in ("KBArticleIDs", "MsrcSeverity", "RebootBehavior", "SupersededUpdateIDs", "MaxDownloadSize"):
        assert field in scan
    assert "[switch]$DryRun" in install
    # The dry run must leave before anything is accepted, downloaded or installed.
    dry_run_exit = install.index("if ($DryRun)")
    assert dry_run_exit < install.index("AcceptEula()") < install.index(".Download()") < install.index(".Install()")
