"""Display helpers for the feed status page."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def run_duration(run) -> str:
    """How long a feed run took, e.g. "0.4 s", "3 min 5 s"; empty while it runs."""
    if run.finished_at is None or run.started_at is None:
        return ""
    seconds = max(0.0, (run.finished_at - run.started_at).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"
