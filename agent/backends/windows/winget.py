"""Third-party updates from ``winget upgrade``, whose output is a table meant for people.

The columns have no separator: their positions are where the header's words start, in
screen cells (a CJK character takes two). Long values are cut with "…", and since winget
1.29 they are not cut at all when the output is redirected; the header is translated with
the Windows display language, which is why columns are found by position, never by name.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import unicodedata

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_RULE = re.compile(r"^-{10,}$")
# winget's own columns, in order: Name, Id, Version, Available and, without --source, Source.
_MIN_COLUMNS = 4


def cell_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def clean_lines(text: str) -> list[str]:
    """Output lines without colour codes and without the spinner frames a carriage return overwrote."""
    lines = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        raw = _ANSI_ESCAPE.sub("", raw)
        segments = [segment for segment in raw.split("\r") if segment.strip()]
        lines.append(segments[-1].rstrip() if segments else "")
    return lines


def column_starts(header: str) -> list[int]:
    """The screen column where each header word starts."""
    starts = []
    column = 0
    previous_blank = True
    for char in header:
        if not char.isspace() and previous_blank:
            starts.append(column)
        previous_blank = char.isspace()
        column += cell_width(char)
    return starts


def split_row(line: str, starts: list[int]) -> list[str]:
    """Cut ``line`` into one stripped cell per column, by screen position."""
    cells = [""] * len(starts)
    column = 0
    index = 0
    for char in line:
        while index + 1 < len(starts) and column >= starts[index + 1]:
            index += 1
        cells[index] += char
        column += cell_width(char)
    return [cell.strip() for cell in cells]


def _tables(lines: list[str]) -> list[tuple[list[int], list[str]]]:
    """Every (column starts, rows) block: a header line, a rule of dashes, then rows to a blank line."""
    tables = []
    for index, line in enumerate(lines):
        if not _RULE.match(line.strip()) or index == 0:
            continue
        header = lines[index - 1]
        starts = column_starts(header)
        if len(starts) < _MIN_COLUMNS:
            continue
        rows = []
        for row in lines[index + 1 :]:
            if not row.strip() or _RULE.match(row.strip()):
                break
            rows.append(row)
        tables.append((starts, rows))
    return tables


def parse_winget_upgrade(text: str) -> list[dict[str, str | None]]:
    """Protocol ``winget`` updates from ``winget upgrade`` output.

    A row needs an id (which never contains spaces), an installed version and an available
    one; the "6 upgrades available." footer and winget's other messages have no such cells.
    """
    updates: list[dict[str, str | None]] = []
    for starts, rows in _tables(clean_lines(text)):
        for line in rows:
            cells = split_row(line, starts)
            name, package_id, current, available = cells[:4]
            source = cells[4] if len(cells) > 4 else ""
            if not package_id or " " in package_id or not current or not available:
                continue
            updates.append(
                {
                    "kind": "winget",
                    "id": package_id,
                    "name": name,
                    "current_version": current,
                    "available_version": available,
                    "source": source or None,
                }
            )
    return updates


def decode_output(data: bytes) -> str:
    """winget writes UTF-8 when redirected; older builds used the console's code page."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("mbcs" if os.name == "nt" else "latin-1", "replace")


def find_winget() -> str | None:
    """winget.exe, also when running as SYSTEM (a service), where it is not on PATH."""
    found = shutil.which("winget")
    if found:
        return found
    program_files = os.environ.get("PROGRAMFILES", r"C:\Program Files")
    pattern = os.path.join(
        program_files, "WindowsApps", "Microsoft.DesktopAppInstaller_*_x64__8wekyb3d8bbwe", "winget.exe"
    )
    candidates = sorted(glob.glob(pattern))
    return candidates[-1] if candidates else None
