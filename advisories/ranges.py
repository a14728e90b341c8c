"""OSV ranges in words, for people: "from 1.0, fixed in 1.4.2", "up to and including 3.1.0"."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ReadableRange", "readable_ranges"]


@dataclass
class ReadableRange:
    type: str
    repo: str = ""
    # One entry per affected interval, e.g. ("1.0", "fixed in", "1.4.2").
    intervals: list[tuple[str, str, str]] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)

    @property
    def is_git(self) -> bool:
        return self.type == "GIT"


def _start(version: str) -> str:
    return "the first version" if version == "0" else version


def readable_ranges(ranges: list[dict]) -> list[ReadableRange]:
    """Pair each `introduced` with the `fixed` or `last_affected` that ends it; keep `limit`s."""
    readable = []
    for raw in ranges or []:
        item = ReadableRange(type=str(raw.get("type", "")), repo=str(raw.get("repo", "")))
        start = None
        for event in raw.get("events", []):
            if "introduced" in event:
                if start is not None:
                    item.intervals.append((_start(start), "no fix yet", ""))
                start = str(event["introduced"])
            elif "fixed" in event:
                item.intervals.append((_start(start or "0"), "fixed in", str(event["fixed"])))
                start = None
            elif "last_affected" in event:
                item.intervals.append((_start(start or "0"), "up to and including", str(event["last_affected"])))
                start = None
            elif "limit" in event:
                item.limits.append(str(event["limit"]))
        if start is not None:
            item.intervals.append((_start(start), "no fix yet", ""))
        readable.append(item)
    return readable
