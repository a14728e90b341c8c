"""Every findings, CVE, advisory and feed page and REST endpoint, for every persona."""

from __future__ import annotations

import pytest

from advisories.models import Advisory, Cve, FeedRun, FeedSource
from patches.models import Finding
from tests.access import PERSONAS, Route, check_route
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db

CVE_ID = "CVE-2024-6387"
ADVISORY_ID = "DSA-5724-1"


@pytest.fixture
def exposure(world):
    """One advisory with a CVE, open on a device of each tenant; one feed source with a run."""
    advisory = Advisory.objects.create(
        advisory_id=ADVISORY_ID, kind="osv", summary="openssh - security update", cves=[CVE_ID], content_hash="x"
    )
    Cve.objects.create(cve_id=CVE_ID, description="Signal handler race in sshd.")
    for tenant, host in [(world.tenant_a, "alpha-ssh"), (world.tenant_b, "bravo-ssh")]:
        Finding.objects.create(
            tenant=tenant,
            device=DeviceFactory(tenant=tenant, hostname=host),
            advisory=advisory,
            reference=ADVISORY_ID,
            package_name="openssh-server",
            installed_version="1:9.2p1-2+deb12u2",
            fixed_version="1:9.2p1-2+deb12u3",
            cves=[CVE_ID],
            score=36.5,
            label="track",
        )
    source = FeedSource.objects.create(name="Debian DSAs", kind="osv", url="/srv/feeds/debian.zip")
    FeedRun.objects.create(source=source, kind="osv", location=source.url, status=FeedRun.Status.SUCCESS)


def finding_a(w):
    return {"pk": Finding.objects.get(device__hostname="alpha-ssh").pk}


def source(w):
    return {"pk": FeedSource.objects.get(name="Debian DSAs").pk}


def run(w):
    return {"pk": FeedRun.objects.get().pk}


NONE = lambda w: {}  # noqa: E731
CVE = lambda w: {"cve_id": CVE_ID}  # noqa: E731
ADVISORY = lambda w: {"advisory_id": ADVISORY_ID}  # noqa: E731
NEW_SOURCE = lambda w: {"name": "KEV", "kind": "kev", "url": "https://example.test/kev.json", "interval_minutes": 60}  # noqa: E731
EDITED_SOURCE = lambda w: {"name": "Debian", "kind": "osv", "url": "/srv/feeds/d.zip", "interval_minutes": 30}  # noqa: E731

ROUTES = [
    # Pages
    Route("finding_list", capability="finding.view"),
    Route("cve_detail", kwargs=CVE),
    Route("advisory_list", kwargs=NONE, staff=True),
    Route("advisory_detail", kwargs=ADVISORY, staff=True),
    Route("feed_status", kwargs=NONE, staff=True),
    Route("feed_source_create", kwargs=NONE, admin=True),
    Route("feed_source_create", "post", kwargs=NONE, admin=True, data=NEW_SOURCE),
    Route("feed_source_edit", kwargs=source, admin=True),
    Route("feed_source_edit", "post", kwargs=source, admin=True, data=EDITED_SOURCE),
    Route("feed_sync", "post", kwargs=source, admin=True),
    # REST API
    Route("finding-list", kwargs=NONE, api=True, anywhere="finding.view"),
    Route("finding-detail", kwargs=finding_a, capability="finding.view", api=True),
    Route("cve-detail", kwargs=CVE, api=True),
    Route("advisory-list", kwargs=NONE, staff=True, api=True),
    Route("advisory-detail", kwargs=ADVISORY, staff=True, api=True),
    Route("feedsource-list", kwargs=NONE, staff=True, api=True),
    Route("feedsource-list", "post", kwargs=NONE, admin=True, api=True, data=NEW_SOURCE),
    Route("feedsource-detail", kwargs=source, staff=True, api=True),
    Route("feedsource-detail", "patch", kwargs=source, admin=True, api=True, data=lambda w: {"enabled": False}),
    Route("feedsource-detail", "delete", kwargs=source, admin=True, api=True),
    Route("feedsource-sync", "post", kwargs=source, admin=True, api=True),
    Route("feedrun-list", kwargs=NONE, staff=True, api=True),
    Route("feedrun-detail", kwargs=run, staff=True, api=True),
]


@pytest.mark.parametrize("persona", list(PERSONAS))
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_access(client, world, exposure, route, persona):
    check_route(client, world, route, persona)
