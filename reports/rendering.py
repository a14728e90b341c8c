"""Reports as HTML and PDF: template, then HTML, then WeasyPrint.

Everything a report shows comes from its stored snapshot (`Report.data`, branding included),
so rendering the same report again gives the same PDF, byte for byte: the PDF's dates come
from the snapshot, and the charts are SVG built from it (reports.charts).

WeasyPrint reads files only through `LocalFetcher`: the project's static directories (the
stylesheet, the bundled fonts) and the uploaded branding files. Any other URL (http, https,
data, a file elsewhere on disk) is refused, so a report can never reach the network or read
the server's files, whatever text a snapshot holds.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse, path2url

from reports import charts
from reports.models import Report, ReportState
from reports.snapshots.deployment import STATUS_LABELS

__all__ = ["LocalFetcher", "URLRefused", "allowed_roots", "context", "render", "render_html", "render_pdf"]

# A deployment report with more devices than this gets a table of contents; a monthly one always.
TOC_MIN_DEVICES = 15
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class URLRefused(ValueError):
    """The report asked for something outside the static and branding files."""


def allowed_roots() -> list[Path]:
    roots = [Path(d) for d in settings.STATICFILES_DIRS]
    roots.append(Path(settings.MEDIA_ROOT) / "branding")
    return [root.resolve() for root in roots]


class LocalFetcher(URLFetcher):
    """Serves `file:` URLs inside the allowed roots (symbolic links resolved first), refuses the rest."""

    def __init__(self, roots: list[Path] | None = None):
        super().__init__(allowed_protocols={"file"}, allow_redirects=False)
        self.roots = [Path(root).resolve() for root in (roots if roots is not None else allowed_roots())]

    def path_for(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            raise URLRefused(f"refused {url[:200]!r}: reports read only static and branding files")
        path = Path(unquote(parts.path)).resolve()
        if not any(path.is_relative_to(root) for root in self.roots):
            raise URLRefused(f"refused {url[:200]!r}: outside the static and branding directories")
        if not path.is_file():
            raise URLRefused(f"refused {url[:200]!r}: no such file")
        return path

    def fetch(self, url, headers=None):
        path = self.path_for(url)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path2url(str(path)), body=path.read_bytes(), headers={"Content-Type": content_type})


def _static_dir() -> Path:
    return Path(settings.STATICFILES_DIRS[0]).resolve()


def logo_file(data: dict) -> Path | None:
    """The branding logo a snapshot names, if it is still an uploaded branding file."""
    name = (data.get("branding") or {}).get("logo") or ""
    if not name:
        return None
    root = (Path(settings.MEDIA_ROOT) / "branding").resolve()
    path = (Path(settings.MEDIA_ROOT) / name).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def _colour(value, default: str) -> str:
    """A #rrggbb colour, or the default: snapshot text never reaches the stylesheet unchecked."""
    return value if isinstance(value, str) and COLOUR.fullmatch(value) else default


def context(data: dict, *, for_pdf: bool, logo_url: str = "") -> dict:
    """What the templates need: the snapshot, its charts, and where the assets are.

    The PDF reads the logo from disk; the HTML preview is given `logo_url` (a page of the
    portal serves the file: uploads are not public)."""
    branding = data.get("branding") or {}
    primary = _colour(branding.get("primary_colour"), "#1f3a5f")
    logo = logo_file(data)
    if for_pdf:
        asset_base = path2url(str(_static_dir())) + "/"
        logo_url = path2url(str(logo)) if logo else ""
    else:
        asset_base = settings.STATIC_URL
        logo_url = logo_url if logo else ""
    kind = data.get("kind")
    chart = {}
    if kind in ("monthly", "executive"):
        chart["trend"] = charts.trend_line(data.get("trend") or [], colour=primary)
        counts = (data.get("compliance") or {}).get("open_by_severity") or data.get("open_by_severity") or {}
        chart["severity"] = charts.severity_bars(counts)
    if kind == "monthly":
        rows = data["mttp"]
        chart["mttp"] = charts.bars(
            [(r["severity"].capitalize(), r["mean_days"], charts.SEVERITY_COLOURS[r["severity"]]) for r in rows],
            title="Mean time to patch (days)",
            unit=" d",
        )
    if kind == "deployment":
        chart["severity"] = charts.severity_bars(
            data["summary"]["cves_by_severity"], title="Vulnerabilities addressed by severity"
        )
    toc = kind == "monthly" or (kind == "deployment" and len(data.get("devices") or []) > TOC_MIN_DEVICES)
    return {
        "data": data,
        "branding": branding,
        "primary": primary,
        "accent": _colour(branding.get("accent_colour"), "#e07a1f"),
        "logo_url": logo_url,
        "asset_base": asset_base,
        "charts": chart,
        "toc": toc,
        "for_pdf": for_pdf,
        "status_labels": STATUS_LABELS,
    }


def render_html(data: dict, *, for_pdf: bool = False, logo_url: str = "") -> str:
    return render_to_string(f"reports/{data['kind']}.html", context(data, for_pdf=for_pdf, logo_url=logo_url))


def render_pdf(data: dict) -> bytes:
    """The PDF of a snapshot: the same snapshot (and the same static files) gives the same bytes."""
    html = render_html(data, for_pdf=True)
    fetcher = LocalFetcher()
    fonts = FontConfiguration()
    document = HTML(string=html, base_url=path2url(str(_static_dir())) + "/", url_fetcher=fetcher)
    return document.write_pdf(font_config=fonts, pdf_identifier=False, uncompressed_pdf=False)


def render(report: Report) -> bytes:
    """Render the report from its stored snapshot, store the PDF and its SHA-256, mark it ready."""
    pdf = render_pdf(report.data)
    digest = hashlib.sha256(pdf).hexdigest()
    if report.pdf:
        report.pdf.delete(save=False)
    name = f"{report.tenant.slug}-{report.kind}-{report.period_end:%Y-%m-%d}-{report.pk}.pdf"
    report.pdf.save(name, ContentFile(pdf), save=False)
    report.sha256 = digest
    report.state = ReportState.READY
    report.error = ""
    report.save(update_fields=["pdf", "sha256", "state", "error"])
    return pdf
