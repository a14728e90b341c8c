"""Charts as server-rendered SVG: the same markup in the HTML preview and in the PDF.

Each function takes snapshot data (plain JSON) and returns SVG text, marked safe, with every
label escaped. No scripts, no external references, numbers with fixed decimals: the same
data always gives the same bytes.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

__all__ = ["SEVERITY_COLOURS", "bars", "severity_bars", "trend_line"]

SEVERITY_COLOURS = {
    "critical": "#b3261e",
    "high": "#e8710a",
    "medium": "#f2b600",
    "low": "#3b7d23",
    "unknown": "#8a8f98",
}
FONT = 'font-family="DejaVu Sans" font-size="9"'
GRID = "#d9dde3"
INK = "#3c4043"


def _n(value: float) -> str:
    return f"{value:.1f}"


def _svg(width: int, height: int, title: str, body: list[str]) -> SafeString:
    return mark_safe(  # noqa: S308 - every piece of text in `body` is escaped by its builder
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def trend_line(points: list[dict], *, colour: str, width: int = 640, height: int = 180) -> SafeString:
    """Compliance (percent of devices) per day: a line over a 0-100 % grid, with the first and last days."""
    left, right, top, bottom = 36, 12, 10, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    body = []
    for percent in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - percent / 100)
        body.append(f'<line x1="{left}" y1="{_n(y)}" x2="{width - right}" y2="{_n(y)}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 4}" y="{_n(y + 3)}" text-anchor="end" {FONT} fill="{INK}">{percent}%</text>')
    values = [(i, p["percent"]) for i, p in enumerate(points) if p.get("percent") is not None]
    if not values:
        body.append(
            f'<text x="{_n(left + plot_w / 2)}" y="{_n(top + plot_h / 2)}" text-anchor="middle" {FONT} '
            f'fill="{INK}">No daily snapshots yet</text>'
        )
        return _svg(width, height, "Compliance trend", body)
    span = max(len(points) - 1, 1)

    def xy(index: int, percent: float) -> str:
        return f"{_n(left + plot_w * index / span)},{_n(top + plot_h * (1 - percent / 100))}"

    line = " ".join(xy(i, v) for i, v in values)
    body.append(f'<polyline points="{line}" fill="none" stroke="{escape(colour)}" stroke-width="2"/>')
    last_i, last_v = values[-1]
    x, y = xy(last_i, last_v).split(",")
    body.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{escape(colour)}"/>')
    body.append(
        f'<text x="{left}" y="{height - 6}" {FONT} fill="{INK}">{escape(points[0]["day"])}</text>'
        f'<text x="{width - right}" y="{height - 6}" text-anchor="end" {FONT} fill="{INK}">'
        f"{escape(points[-1]['day'])}</text>"
    )
    return _svg(width, height, "Compliance trend", body)


def bars(
    items: list[tuple[str, float | None, str]], *, title: str, unit: str = "", width: int = 320, row: int = 20
) -> SafeString:
    """Horizontal bars: (label, value, colour) per row, the value written after each bar."""
    label_w, value_w, pad = 70, 56, 4
    height = row * len(items) + pad * 2
    plot_w = width - label_w - value_w
    peak = max((v for _, v, _ in items if v), default=0) or 1
    body = []
    for index, (label, value, colour) in enumerate(items):
        y = pad + index * row
        length = plot_w * (value or 0) / peak
        text = "n/a" if value is None else (f"{value:g}{unit}")
        body.append(
            f'<text x="{label_w - 6}" y="{_n(y + row * 0.65)}" text-anchor="end" {FONT} fill="{INK}">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{_n(y + 3)}" width="{_n(length)}" height="{row - 6}" fill="{escape(colour)}"/>'
            f'<text x="{_n(label_w + length + 4)}" y="{_n(y + row * 0.65)}" {FONT} fill="{INK}">{escape(text)}</text>'
        )
    return _svg(width, height, title, body)


def severity_bars(counts: dict[str, int], *, title: str = "Open findings by severity", **kwargs) -> SafeString:
    items = [(name.capitalize(), counts.get(name, 0), colour) for name, colour in SEVERITY_COLOURS.items()]
    return bars(items, title=title, **kwargs)
