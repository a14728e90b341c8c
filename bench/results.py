"""bench/RESULTS.md: one section per benchmark, replaced each time that benchmark runs."""

from __future__ import annotations

import datetime as dt
import platform
import re

from bench.env import ROOT

PATH = ROOT / "bench" / "RESULTS.md"
HEADER = """# Benchmark results

Measured with `make bench` on this machine; each section is rewritten when its benchmark runs
(`make bench BENCH_ARGS="checkin"` runs one). Targets come from the issues; "met" compares the
figure with its target.
"""


def machine() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_section(name: str, title: str, rows: list[tuple[str, str, str, str]], notes: str = "") -> None:
    """rows: (figure, value, target, met)."""
    text = PATH.read_text() if PATH.exists() else HEADER
    lines = [
        f"<!-- bench:{name} -->",
        f"## {title}",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        "",
        "| figure | value | target | met |",
        "| --- | --- | --- | --- |",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        notes.strip(),
        f"<!-- /bench:{name} -->",
    ]
    section = "\n".join(lines)
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    PATH.write_text(text)


def met(value: float, target: float, higher_is_better: bool) -> str:
    ok = value >= target if higher_is_better else value <= target
    return "yes" if ok else "**no**"
