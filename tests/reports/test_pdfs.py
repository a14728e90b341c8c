"""Real WeasyPrint PDFs, read back with poppler: contents, page furniture and layout."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess

import pytest

from reports.rendering import render_html, render_pdf
from tests.reports.conftest import BRANDING
from tests.reports.helpers import KEV_CVE, PLAIN_CVE, pdf_pages, pdf_text, pdf_words

MM = 72 / 25.4
# report.css: @page margins 24mm 15mm 18mm 15mm on A4.
LEFT = RIGHT = 15 * MM


def squeeze(text: str) -> str:
    """Text with line breaks and runs of spaces folded: wrapped cells read as one line."""
    return re.sub(r"\s+", " ", text)


def row(text: str, first_cell: str, *, last: bool = False) -> str:
    """A table row of `pdftotext -layout` output: from the line starting with `first_cell` to
    the next blank line, folded into one line (columns interleave, phrases stay whole)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().startswith(first_cell + " ")]
    assert starts, first_cell
    start = starts[-1] if last else starts[0]
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return squeeze(" ".join(lines[start:end]))


def test_deployment_report_names_hosts_cves_kev_and_confirmations(rendered, tmp_path):
    text = pdf_text(rendered.pdfs["deployment"], tmp_path)
    flat = squeeze(text)
    for host in rendered.world.hosts_a:
        assert host in text
    assert KEV_CVE in text and PLAIN_CVE in text
    assert re.search(rf"{KEV_CVE}\s+Critical\s+9\.8\s+KEV ransomware", flat)
    assert re.search(rf"{PLAIN_CVE}\s+High\s+7\.5\s+\u2013", flat)
    # Confirmation per device: by inventory, not by the agent's word; reboots done and pending.
    web = row(text, "web-01")
    assert "libssl3 → 3.0.15-1~deb12u1" in web and "Verified by inventory" in web and "Rebooted" in web
    assert "Confirmed by the device's" in web and "inventory on 2026-11-21" in web
    app = row(text, "app-01")
    assert "Installed, not yet confirmed" in app and "Reboot pending" in app
    assert "next inventory has not" in app
    # Failures with their next step.
    failure = row(text, "db-01", last=True)
    assert "Failed after 3 of 3 attempts (exit code 100)." in failure
    assert "E: dpkg was interrupted" in failure and "A technician reviews the job log" in failure
    for host in rendered.world.hosts_b:
        assert host not in text


def test_deployment_snapshot_counts(rendered):
    data = rendered.data["deployment"]
    summary = data["summary"]
    assert (summary["devices"], summary["verified"], summary["unverified"], summary["failed"]) == (22, 20, 1, 1)
    assert (summary["reboots_done"], summary["reboots_pending"]) == (1, 1)
    assert [(v["cve"], v["kev"], v["severity"], v["devices_fixed"]) for v in data["vulnerabilities"]] == [
        (KEV_CVE, True, "critical", 20),
        (PLAIN_CVE, False, "high", 20),
    ]
    json.dumps(data)  # plain JSON all through


def test_every_page_has_number_branding_and_client(rendered, tmp_path):
    for kind, pdf in rendered.pdfs.items():
        pages = pdf_pages(pdf, tmp_path)
        for number, page in enumerate(pages, start=1):
            flat = squeeze(page)
            assert f"Page {number} of {len(pages)}" in flat, (kind, number)
            assert "Alpha Dental" in flat, (kind, number)
            assert BRANDING["name"] in flat, (kind, number)
            assert BRANDING["contact_line"] in flat, (kind, number)


def test_long_reports_have_a_table_of_contents_with_page_numbers(rendered, tmp_path):
    deployment = squeeze(pdf_pages(rendered.pdfs["deployment"], tmp_path)[0])
    assert "Contents" in deployment
    assert re.search(r"Confirmation per device \.+ ?\d+", deployment)
    monthly_pages = pdf_pages(rendered.pdfs["monthly"], tmp_path)
    first = squeeze(monthly_pages[0])
    entries = dict(re.findall(r"(Accepted risks|Devices not seen recently) \.+ ?(\d+)", first))
    assert len(entries) == 2
    page = int(entries["Accepted risks"])
    assert "Accepted risks" in monthly_pages[page - 1]  # the number points at the right page


def test_monthly_report_contents(rendered, tmp_path):
    flat = squeeze(pdf_text(rendered.pdfs["monthly"], tmp_path))
    data = rendered.data["monthly"]
    assert data["compliance"]["devices"] == 23
    assert f"{data['compliance']['percent']}%" in flat
    top = row(pdf_text(rendered.pdfs["monthly"], tmp_path), "db-01")
    assert "DSA-9901-1" in top and KEV_CVE in top and PLAIN_CVE in top and "Critical KEV" in top
    accepted = row(pdf_text(rendered.pdfs["monthly"], tmp_path), "DSA-9600-1")
    assert "on files-01" in accepted and "Ada Owner" in accepted and "2027-01-31" in accepted
    assert "Legacy imaging software needs the old" in accepted
    assert re.search(r"files-01 \d{4}-\d{2}-\d{2} 20", flat)  # not seen for 20 days
    # Mean time to patch and SLA: critical fixes took 1 and 9 days against the policy's 5.
    critical = next(r for r in data["mttp"] if r["severity"] == "critical")
    assert (critical["fixed"], critical["mean_days"], critical["sla_days"], critical["within_sla"]) == (2, 5.0, 5, 1)
    assert re.search(r"Critical 2 5\.0 5 1 50\.0%", flat)
    assert "20 update jobs on 20 devices confirmed by inventory" in flat
    assert "libssl3 3.0.15-1~deb12u1 19" in flat  # and one device had another package
    assert [m["month"] for m in data["months"]] == ["2026-11", "2026-10", "2026-09"]
    assert "bravo-secret-host" not in flat and "CVE-2099-7777" not in flat


def test_executive_summary_is_one_page(rendered, tmp_path):
    pages = pdf_pages(rendered.pdfs["executive"], tmp_path)
    assert len(pages) == 1
    flat = squeeze(pages[0])
    assert "Executive summary" in flat and "db-01" in flat and "KEV" in flat


@pytest.mark.parametrize("kind", ["deployment", "monthly", "executive"])
def test_tables_stay_inside_the_page(rendered, tmp_path, kind):
    pages = pdf_words(rendered.pdfs[kind], tmp_path)
    assert pages
    for width, _height, words in pages:
        assert words
        for x_min, _y0, x_max, _y1, word in words:
            assert x_min >= LEFT - 1, (kind, word, x_min)
            assert x_max <= width - RIGHT + 1, (kind, word, x_max, width - RIGHT)
    if kind == "deployment":
        text = pdf_text(rendered.pdfs[kind], tmp_path)
        assert "build-agent-" in text and "x" * 10 in text and "libreallylongpackage" in text  # wrapped, not cut


def test_the_logo_is_embedded(rendered, tmp_path):
    path = tmp_path / "deployment.pdf"
    path.write_bytes(rendered.pdfs["deployment"])
    listing = subprocess.run(["pdfimages", "-list", str(path)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"^\s*1\s+\d+\s+image\s+64\s+32\b", listing, re.M), listing


def test_fonts_are_the_bundled_dejavu(rendered, tmp_path):
    path = tmp_path / "monthly.pdf"
    path.write_bytes(rendered.pdfs["monthly"])
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    names = [line.split()[0] for line in fonts.splitlines()[2:]]
    assert names and all(name.split("+")[-1].startswith("DejaVu-Sans") for name in names), fonts


def test_stored_sha256_and_rerender_from_snapshot(rendered):
    for kind, pdf in rendered.stored.items():
        assert hashlib.sha256(pdf).hexdigest() == rendered.sha256[kind]
        again = render_pdf(json.loads(json.dumps(rendered.data[kind])))
        assert again == pdf, kind


def test_charts_are_the_same_svg_in_preview_and_pdf(rendered):
    data = rendered.data["monthly"]
    preview, printed = render_html(data), render_html(data, for_pdf=True)
    charts = re.findall(r"<svg.*?</svg>", preview, re.S)
    assert len(charts) == 3
    assert charts == re.findall(r"<svg.*?</svg>", printed, re.S)
    assert "/static/reports/report.css" in preview and "file://" not in preview
