"""The advisories list and detail, the feed status page and its actions, and their REST API,
over advisories ingested from the fixtures and findings materialised by the matcher."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from advisories.ingest import ingest, sync_source
from advisories.models import Advisory, FeedRun, FeedSource
from patches.models import Finding
from tenants.models import AuditEntry
from tests.fixtures.personas import sign_in
from tests.patches.pipeline import ALPHA_HOST, BRAVO_HOST, FIXTURES, GIT_FOLDER, SHARED_CVE, build_fleet

pytestmark = pytest.mark.django_db

GIT_SENTENCE = (
    "GIT ranges name commits, not package versions: they are stored and shown here but not used to match "
    "installed packages."
)
LIMIT_RECORD = FIXTURES / "advisories" / "constructed" / "osv" / "osv_limit_events.json"
OPENVEX = FIXTURES / "advisories" / "vex" / "ubuntu_openvex_CVE-2023-38545.json"
# A signed-in staff page costs about 20 statements before the view runs (session, user, 2FA,
# switcher, and the savepoints and set_config calls of the RLS scope).
LIST_PAGE_QUERIES = 26


@pytest.fixture
def fleet(world, tmp_path):
    return build_fleet(world, tmp_path)


def advisory_ids(response) -> list[str]:
    return [a.advisory_id for a in response.context["rows"]]


def count_queries(client, url, **params) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries), response


# ---- The advisories list -------------------------------------------------------------------------


def test_the_list_searches_by_id_cve_and_text(client, world, fleet):
    sign_in(client, world.tech_all)
    url = reverse("advisory_list")
    assert advisory_ids(client.get(url, {"q": "dsa-5764"})) == ["DSA-5764-1"]
    assert advisory_ids(client.get(url, {"q": SHARED_CVE.lower()})) == ["DSA-5764-1"]
    by_text = advisory_ids(client.get(url, {"q": "openssl - security"}))
    assert "DSA-5532-1" in by_text and "DSA-5764-1" in by_text and "DSA-5724-1" not in by_text
    assert advisory_ids(client.get(url, {"q": "no-such-advisory"})) == []


def test_the_list_filters_narrow(client, world, fleet, tmp_path):
    ingest("osv", str(GIT_FOLDER))
    sign_in(client, world.msp_admin)
    url = reverse("advisory_list")
    everything = client.get(url).context["page"].paginator.count
    assert everything == 154 + 7
    debian = client.get(url, {"ecosystem": "debian"}).context["page"].paginator.count
    assert debian == 154
    assert client.get(url, {"ecosystem": "Debian:13"}).context["page"].paginator.count < debian
    kev = set(advisory_ids(client.get(url, {"kev": "true"})))
    assert {"DSA-5514-1", "DSA-5877-1", "DSA-5963-1"} <= kev and "DSA-5764-1" not in kev
    fleet_ids = advisory_ids(client.get(url, {"affects_fleet": "true", "page": 1}))
    assert "DSA-5764-1" in fleet_ids and "DSA-5532-1" not in fleet_ids
    assert client.get(url, {"kind": "kev"}).context["page"].paginator.count == 0
    Advisory.objects.filter(advisory_id="DSA-5724-1").update(severity="high")
    assert advisory_ids(client.get(url, {"severity": "high"})) == ["DSA-5724-1"]


def test_counts_cover_only_the_tenants_a_technician_works_on(client, world, fleet):
    url = reverse("advisory_list")
    sign_in(client, world.msp_admin)
    shared = next(a for a in client.get(url, {"q": "DSA-5764-1"}).context["rows"])
    assert (shared.open_findings, shared.tenants_affected) == (3, 2)
    sign_in(client, world.tech_a)
    shared = next(a for a in client.get(url, {"q": "DSA-5764-1"}).context["rows"])
    assert (shared.open_findings, shared.tenants_affected) == (2, 1)
    # Bravo's own advisory does not "affect my fleet" for a technician of Alpha only.
    assert "DSA-5514-1" not in advisory_ids(client.get(url, {"affects_fleet": "true"}))


def test_htmx_pages_through_rows_only(client, world, fleet):
    sign_in(client, world.tech_all)
    response = client.get(reverse("advisory_list"), {"page": 2}, HTTP_HX_REQUEST="true")
    html = response.content.decode().strip()
    assert html.startswith("<tr>") and "<html" not in html and "<thead" not in html
    assert len(response.context["rows"]) == 50 and "Page 2 of 4" in html
    assert 'hx-get="?page=3"' in html


def test_the_list_costs_a_bounded_number_of_queries(client, world, fleet):
    sign_in(client, world.tech_all)
    full, response = count_queries(client, reverse("advisory_list"))
    assert len(response.context["rows"]) == 50
    one, response = count_queries(client, reverse("advisory_list"), q="DSA-5764-1")
    assert len(response.context["rows"]) == 1
    # page count, page rows, their exposure counts, their KEV CVEs: the same for 1 row or 50.
    assert full == one <= LIST_PAGE_QUERIES


# ---- One advisory --------------------------------------------------------------------------------


def test_an_advisory_shows_its_cves_packages_references_and_devices(client, world, fleet):
    Advisory.objects.filter(advisory_id="DSA-5514-1").update(
        details="Qualys found a buffer overflow.\n<script>alert(1)</script>",
        references=[
            {"type": "ADVISORY", "url": "https://www.debian.org/security/2023/dsa-5514"},
            {"type": "WEB", "url": "javascript:alert(1)"},
        ],
    )
    sign_in(client, world.tech_all)
    response = client.get(reverse("advisory_detail", kwargs={"advisory_id": "DSA-5514-1"}))
    html = response.content.decode()
    assert "glibc - security update" in html
    assert "Qualys found a buffer overflow.<br>&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert re.search(r'href="/cves/CVE-2023-4911/".*?badge kev">KEV</span> due 2023-12-12', html, re.S)
    assert "0.750" in html  # EPSS
    assert "affected from <code>the first version</code>, fixed in <code>2.36-9+deb12u3</code>" in html
    assert '<a href="https://www.debian.org/security/2023/dsa-5514" rel="noopener noreferrer"' in html
    assert 'href="javascript:' not in html and "javascript:alert(1)" in html
    assert BRAVO_HOST in html and ALPHA_HOST not in html
    assert GIT_SENTENCE not in html


def test_a_technician_sees_devices_of_their_tenants_only(client, world, fleet):
    url = reverse("advisory_detail", kwargs={"advisory_id": "DSA-5764-1"})
    sign_in(client, world.tech_a)
    html = client.get(url).content.decode()
    assert ALPHA_HOST in html and BRAVO_HOST not in html
    partial = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and ALPHA_HOST in partial
    sign_in(client, world.msp_admin)
    assert BRAVO_HOST in client.get(url).content.decode()


def test_git_ranges_are_shown_with_the_sentence(client, world):
    assert ingest("osv", str(GIT_FOLDER)).skipped == 0
    sign_in(client, world.tech_all)
    html = client.get(reverse("advisory_detail", kwargs={"advisory_id": "OSV-2018-389"})).content.decode()
    assert GIT_SENTENCE in html
    assert "https://github.com/boostorg/boost.git" in html
    assert "fixed in <code>1b085e6b351350816a6ad6e2f1a88e519b093382</code>" in html
    assert "boost-1.66.0" in html  # the explicit versions


def test_limit_and_last_affected_events_read_as_words(client, world):
    ingest("osv", str(LIMIT_RECORD))
    sign_in(client, world.tech_all)
    html = client.get(reverse("advisory_detail", kwargs={"advisory_id": "TEST-OSV-LIMIT-0001"})).content.decode()
    assert "affected from <code>1.0</code>, fixed in <code>1.4.2</code>" in html
    assert "affected from <code>2.0</code>, no fix yet" in html
    assert "search limited to versions below <code>2.5</code>" in html
    assert "up to and including <code>3.1.0</code>" in html
    assert "2 affected versions listed" in html


def test_vex_statements_about_its_cves_are_listed(client, world, tmp_path):
    record = {
        "id": "USN-6429-1",
        "summary": "curl vulnerabilities",
        "modified": "2023-10-11T00:00:00Z",
        "published": "2023-10-11T00:00:00Z",
        "upstream": ["CVE-2023-38545"],
        "affected": [
            {
                "package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "curl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "7.81.0-1ubuntu1.14"}]}],
            }
        ],
    }
    path = tmp_path / "USN-6429-1.json"
    path.write_text(json.dumps(record))
    assert ingest("osv", str(path)).added == 1
    assert ingest("csaf", str(OPENVEX)).status in ("success", "partial")
    sign_in(client, world.tech_all)
    html = client.get(reverse("advisory_detail", kwargs={"advisory_id": "USN-6429-1"})).content.decode()
    assert "Vendor statements (VEX)" in html and "Not affected" in html


# ---- Feeds ---------------------------------------------------------------------------------------


def test_the_feed_page_shows_a_failing_source_and_its_error(client, world, tmp_path):
    folder = tmp_path / "osv"
    folder.mkdir()
    (folder / "GOOD-1.json").write_text(json.dumps({"id": "GOOD-1", "modified": "2025-01-01T00:00:00Z"}))
    bad_range = {"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": [{"type": "BOGUS", "events": []}]}
    (folder / "BAD-1.json").write_text(
        json.dumps({"id": "BAD-1", "modified": "2025-01-01T00:00:00Z", "affected": [bad_range]})
    )
    healthy = FeedSource.objects.create(name="Local OSV", kind="osv", url=str(folder))
    broken = FeedSource.objects.create(name="Mirror gone", kind="osv", url=str(tmp_path / "missing.zip"))
    partial = sync_source(healthy)
    assert partial.status == "partial" and partial.errors[0]["record"] == "BAD-1"
    assert sync_source(broken).status == "failed"
    broken.refresh_from_db()
    sign_in(client, world.tech_a)
    queries, response = count_queries(client, reverse("feed_status"))
    html = " ".join(response.content.decode().split())
    assert 'Mirror gone <span class="badge bad">failing</span>' in html
    assert 'Local OSV <span class="badge ok">healthy</span>' in html
    assert "<summary>1 record error</summary>" in html and "BAD-1" in html
    assert broken.last_error and broken.last_error in response.content.decode()
    assert "Sync now" not in html and "Add a source" not in html  # technicians only read
    assert queries <= LIST_PAGE_QUERIES  # sources and their recent runs are two queries


def test_an_admin_adds_and_edits_a_source_audited(client, world):
    sign_in(client, world.msp_admin)
    data = {"name": "KEV", "kind": "kev", "url": "https://example.test/kev.json", "interval_minutes": 60}
    assert client.post(reverse("feed_source_create"), {**data, "url": "relative/path"}).status_code == 400
    assert client.post(reverse("feed_source_create"), data).status_code == 302
    source = FeedSource.objects.get(name="KEV")
    edit = reverse("feed_source_edit", kwargs={"pk": source.pk})
    assert client.post(edit, {**data, "interval_minutes": 720, "enabled": "on"}).status_code == 302
    source.refresh_from_db()
    assert source.interval_minutes == 720
    entries = AuditEntry.objects.filter(object_type="advisories.feedsource", object_id=str(source.pk))
    actions = list(entries.order_by("id").values_list("action", "changes"))
    assert actions[0][0] == "feed_source_created"
    assert any(a == "feed_source_updated" and c["interval_minutes"] == [60, 720] for a, c in actions)
    html = client.get(reverse("feed_status")).content.decode()
    assert "Sync now" in html and "Add a source" in html


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sync_now_is_audited_and_a_worker_runs_it(celery_worker, client, world):
    source = FeedSource.objects.create(name="OSV GIT sample", kind="osv", url=str(GIT_FOLDER))
    sign_in(client, world.msp_admin)
    response = client.post(reverse("feed_sync", kwargs={"pk": source.pk}))
    assert response.status_code == 302 and response["Location"] == reverse("feed_status")
    entry = AuditEntry.objects.get(action="feed_sync_requested")
    assert entry.object_id == str(source.pk) and entry.actor_label == world.msp_admin.email
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not FeedRun.objects.filter(source=source).exclude(status="running").exists():
        time.sleep(0.1)
    run = FeedRun.objects.get(source=source)
    assert run.status == "success" and run.added == 7
    assert Advisory.objects.get(advisory_id="OSV-2018-389").has_git_ranges


# ---- REST API ------------------------------------------------------------------------------------


def test_the_advisories_api_lists_filters_and_details(client, world, fleet):
    sign_in(client, world.tech_a)
    listed = client.get("/api/v1/advisories/", {"q": SHARED_CVE}).json()["results"]
    assert [a["advisory_id"] for a in listed] == ["DSA-5764-1"] and "affected" not in listed[0]
    alpha_advisories = Finding.objects.filter(tenant=world.tenant_a, state="open").values("advisory").distinct()
    assert client.get("/api/v1/advisories/", {"affects_fleet": "true"}).json()["count"] == alpha_advisories.count()
    detail = client.get("/api/v1/advisories/DSA-5764-1/").json()
    assert detail["cves"] == [SHARED_CVE]
    assert detail["affected"][0]["name"] == "openssl" and detail["affected"][0]["fixed_versions"] == [
        "3.0.14-1~deb12u2"
    ]


def test_the_feed_api_is_read_by_staff_and_changed_by_admins(client, world, django_capture_on_commit_callbacks):
    sign_in(client, world.msp_admin)
    created = client.post(
        "/api/v1/feed-sources/",
        {"name": "EPSS", "kind": "epss", "url": "https://example.test/epss.csv.gz", "interval_minutes": 1440},
        content_type="application/json",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    bad = client.patch(f"/api/v1/feed-sources/{pk}/", {"url": "epss.csv"}, content_type="application/json")
    assert bad.status_code == 400 and "url" in bad.json()
    disabled = client.patch(f"/api/v1/feed-sources/{pk}/", {"enabled": False}, content_type="application/json")
    assert disabled.json()["enabled"] is False
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert client.post(f"/api/v1/feed-sources/{pk}/sync/").status_code == 202
    assert len(callbacks) == 1  # sync_feed.delay, once the request commits
    actions = set(AuditEntry.objects.filter(object_id=str(pk)).values_list("action", flat=True))
    assert {"feed_source_created", "feed_source_updated", "feed_sync_requested"} <= actions

    sign_in(client, world.tech_all)
    assert client.get("/api/v1/feed-sources/").json()["count"] == 1
    assert client.post(f"/api/v1/feed-sources/{pk}/sync/").status_code == 403
    assert client.delete(f"/api/v1/feed-sources/{pk}/").status_code == 403
    sign_in(client, world.msp_admin)
    assert client.delete(f"/api/v1/feed-sources/{pk}/").status_code == 204
    assert AuditEntry.objects.filter(action="feed_source_deleted", object_id=str(pk)).exists()


def test_feed_runs_are_listed_newest_first(client, world, tmp_path):
    source = FeedSource.objects.create(name="Gone", kind="osv", url=str(Path(tmp_path) / "none"))
    sync_source(source)
    ingest("osv", str(LIMIT_RECORD))
    sign_in(client, world.tech_a)
    runs = client.get("/api/v1/feed-runs/").json()["results"]
    assert [r["status"] for r in runs] == ["success", "failed"]
    assert runs[1]["source"] == source.pk and runs[1]["error"]
    assert client.get("/api/v1/feed-runs/", {"status": "failed"}).json()["count"] == 1
