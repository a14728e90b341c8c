"""Rendered reports shared by a test module: WeasyPrint is slow, so each PDF is made once.

The world is built, reported on and rendered inside one transaction that is rolled back at
the end of the fixture; the tests read the PDFs, the snapshots and the stored hashes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import override_settings

from reports.models import Branding
from reports.services import create_report, render_safely
from tests.reports.helpers import NOW, PERIOD, ReportWorld, build_world

BRANDING = {
    "name": "Northwind IT Services",
    "primary_colour": "#123a5e",
    "accent_colour": "#d9822b",
    "contact_line": "Support +49 30 1234567 · help@northwind.example",
}


def png_logo() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), (18, 58, 94)).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Rendered:
    world: ReportWorld
    pdfs: dict[str, bytes]
    data: dict[str, dict]
    sha256: dict[str, str]
    stored: dict[str, bytes]


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("media")
    with override_settings(MEDIA_ROOT=root):
        yield root


def set_branding(**values) -> Branding:
    branding = Branding.load()
    for key, value in {**BRANDING, **values}.items():
        setattr(branding, key, value)
    branding.logo.save("logo.png", ContentFile(png_logo()), save=False)
    branding.save()
    return branding


@pytest.fixture(scope="module")
def rendered(django_db_setup, django_db_blocker, media_root) -> Rendered:
    with django_db_blocker.unblock(), transaction.atomic():
        set_branding()
        world = build_world()
        reports = {
            "deployment": create_report(world.tenant_a, "deployment", now=NOW, deployment_id=world.deployment.pk),
            "monthly": create_report(world.tenant_a, "monthly", now=NOW, start=PERIOD[0], end=PERIOD[1]),
            "executive": create_report(world.tenant_a, "executive", now=NOW, start=PERIOD[0], end=PERIOD[1]),
        }
        stored = {}
        for kind, report in reports.items():
            assert render_safely(report), report.error
            report.refresh_from_db()
            with report.pdf.open("rb") as handle:
                stored[kind] = handle.read()
        result = Rendered(
            world=world,
            pdfs=dict(stored),
            data={kind: report.data for kind, report in reports.items()},
            sha256={kind: report.sha256 for kind, report in reports.items()},
            stored=stored,
        )
        transaction.set_rollback(True)
    return result
