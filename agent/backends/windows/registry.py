"""Installed software from the Uninstall keys, machine-wide, in the 64- and 32-bit registry views."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

from ..base import unique

UNINSTALL_KEY = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"
VALUE_NAMES = ("DisplayName", "DisplayVersion", "Publisher", "SystemComponent")


def read_uninstall_entries() -> list[dict[str, object]]:
    """The raw values of every Uninstall subkey, with the registry view each came from."""
    import winreg  # only on Windows

    entries: list[dict[str, object]] = []
    for view, bits in ((winreg.KEY_WOW64_64KEY, 64), (winreg.KEY_WOW64_32KEY, 32)):
        try:
            root = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, UNINSTALL_KEY, 0, winreg.KEY_READ | view)
        except OSError:
            continue
        with root:
            index = 0
            while True:
                try:
                    subkey_name = winreg.EnumKey(root, index)
                except OSError:
                    break
                index += 1
                entry: dict[str, object] = {"key": subkey_name, "view": bits}
                try:
                    with winreg.OpenKey(root, subkey_name) as subkey:
                        for value_name in VALUE_NAMES:
                            # A value an entry does not have is simply left out.
                            with contextlib.suppress(OSError):
                                entry[value_name] = winreg.QueryValueEx(subkey, value_name)[0]
                except OSError:
                    continue
                entries.append(entry)
    return entries


def _is_system_component(value: object) -> bool:
    try:
        return int(value) == 1  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def software_from_uninstall_entries(entries: Iterable[Mapping[str, object]]) -> list[dict[str, str]]:
    """Protocol ``windows`` inventory rows.

    SystemComponent=1 marks entries that Programs and Features hides (parts of a larger
    product), and an entry without DisplayName is not shown anywhere either; both are
    skipped. So is an entry without DisplayVersion: the portal requires a version in every
    inventory row and would refuse the whole upload. A product registered in both views
    appears once.
    """
    software = []
    for entry in entries:
        name = str(entry.get("DisplayName") or "").strip()
        version = str(entry.get("DisplayVersion") or "").strip()
        if not name or not version or _is_system_component(entry.get("SystemComponent")):
            continue
        software.append({"name": name, "version": version, "publisher": str(entry.get("Publisher") or "").strip()})
    return unique(software)  # type: ignore[return-value]
