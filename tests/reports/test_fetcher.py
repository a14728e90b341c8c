"""The url_fetcher reads only the static files and the uploaded branding; nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from weasyprint.urls import path2url

from reports.rendering import LocalFetcher, URLRefused, context, render_pdf

STATIC = Path(settings.STATICFILES_DIRS[0]).resolve()


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    (settings.MEDIA_ROOT / "branding").mkdir(parents=True)
    (settings.MEDIA_ROOT / "branding" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (settings.MEDIA_ROOT / "reports").mkdir()
    (settings.MEDIA_ROOT / "reports" / "other.pdf").write_bytes(b"%PDF- someone else's report")
    return settings.MEDIA_ROOT


def test_it_serves_static_files_and_branding(media):
    fetcher = LocalFetcher()
    css = fetcher.fetch(path2url(str(STATIC / "reports" / "report.css")))
    assert css.content_type == "text/css" and b"@page" in css.read()
    font = fetcher.fetch(path2url(str(STATIC / "fonts" / "DejaVuSans.ttf")))
    assert len(font.read()) > 100_000
    logo = fetcher.fetch(path2url(str(media / "branding" / "logo.svg")))
    assert logo.read().startswith(b"<svg")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/logo.png",
        "https://example.com/font.ttf",
        "ftp://example.com/x",
        "data:text/css,body{}",
        "file:///etc/passwd",
        "file://otherhost" + str(STATIC / "reports" / "report.css"),
    ],
)
def test_it_refuses_other_schemes_and_hosts(media, url):
    with pytest.raises(URLRefused):
        LocalFetcher().fetch(url)


def test_it_refuses_files_outside_static_and_branding(media, tmp_path):
    fetcher = LocalFetcher()
    with pytest.raises(URLRefused):
        fetcher.fetch(path2url(str(media / "reports" / "other.pdf")))  # media, but not branding
    with pytest.raises(URLRefused):
        fetcher.fetch(path2url(str(STATIC)) + "/../manage.py")  # climbing out
    with pytest.raises(URLRefused):
        fetcher.fetch(path2url(str(STATIC.parent / "portal" / "settings.py")))
    link = media / "branding" / "sneaky.txt"
    link.symlink_to(Path(settings.BASE_DIR) / "manage.py")
    with pytest.raises(URLRefused):
        fetcher.fetch(path2url(str(link)))  # a symbolic link is followed before the check


def test_a_snapshot_cannot_point_the_logo_elsewhere(media):
    data = {
        "kind": "executive",
        "generated_at": "2026-11-21T12:00:00+00:00",
        "tenant": {"name": "Alpha Dental"},
        "branding": {"name": "MSP", "logo": "../../../../etc/passwd", "primary_colour": "red;}body{x:y"},
        "period": {"start": "2026-11-01", "end": "2026-11-30"},
        "headline": {},
        "open_by_severity": {},
        "trend": [],
        "top_findings": [],
    }
    ctx = context(data, for_pdf=True)
    assert ctx["logo_url"] == "" and ctx["primary"] == "#1f3a5f"
    assert render_pdf(data).startswith(b"%PDF-")


def test_rendering_never_fetches_a_remote_url(media, monkeypatch):
    """An http reference in the HTML reaches the fetcher and is refused, never opened."""
    from weasyprint import HTML

    asked = []
    fetcher = LocalFetcher()
    original = fetcher.fetch

    def spy(url, headers=None):
        asked.append(url)
        return original(url, headers)

    monkeypatch.setattr(fetcher, "fetch", spy)
    html = '<img src="http://127.0.0.1:1/x.png"><link rel="stylesheet" href="https://example.com/a.css"><p>x</p>'
    pdf = HTML(string=html, base_url=path2url(str(STATIC)) + "/", url_fetcher=fetcher).write_pdf()
    assert pdf.startswith(b"%PDF-")
    assert set(asked) == {"http://127.0.0.1:1/x.png", "https://example.com/a.css"}
