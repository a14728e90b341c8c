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
figure with its target. The host's speed varies from hour to hour: each section gives its "host
pace", the time of a fixed Python loop right after the run (it went from 0.31 s to 0.52 s within
one seven-minute `make bench` on 22 November), so figures of different runs can be compared.
"""


def machine() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def host_pace() -> float:
    """Seconds a 10-million-step Python loop takes now: this machine's speed varies from hour to
    hour (a shared host), and the figures with it; recorded beside each section to compare runs."""
    import time

    started = time.perf_counter()
    total = 0
    for step in range(10_000_000):
        total += step
    return time.perf_counter() - started


def write_section(name: str, title: str, rows: list[tuple[str, str, str, str]], notes: str = "") -> None:
    """rows: (figure, value, target, met)."""
    text = PATH.read_text() if PATH.exists() else HEADER
    lines = [
        f"<!-- bench:{name} -->",
        f"## {title}",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}; host pace "
        f"{host_pace():.2f} s (a 10-million-step Python loop, measured after the run; lower is faster).",
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
