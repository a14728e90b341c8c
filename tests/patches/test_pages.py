"""The findings page, the CVE page, the device's Findings section, the tenant panel, the MSP
overview's exposure columns and the findings and CVE API, over a fleet built by the real pipeline."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patches import risk
from patches.models import Finding, FindingState
from tests.fixtures.personas import sign_in
from tests.patches.pipeline import ALPHA_HOST, BRAVO_HOST, SHARED_CVE, build_fleet

pytestmark = pytest.mark.django_db

# A signed-in page costs about 26 statements before the view runs (session, user, 2FA devices,
# memberships, tenant, switcher, and the savepoints and set_config calls of the RLS scope); the
# findings page adds four: the count, the rows (device joined), their KEV CVEs and the summary.
FINDINGS_PAGE_QUERIES = 30


@pytest.fixture
def fleet(world, tmp_path):
    return build_fleet(world, tmp_path)


def findings_url(tenant, **params):
    url = reverse("finding_list", kwargs={"tenant_slug": tenant.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def shown_references(response) -> list[str]:
    """The advisory or KB of each row, in the order the page shows them."""
    return [f.reference for f in response.context["rows"]]


def shown_hosts(html: str) -> set[str]:
    return set(re.findall(r"(alpha-hard-cases|bravo-old-build)", html))


# ---- The findings page ---------------------------------------------------------------------------


def test_findings_are_sorted_by_risk_and_explained(client, world, fleet):
    sign_in(client, world.owner_b)
    response = client.get(findings_url(world.tenant_b))
    assert response.status_code == 200
    rows = response.context["rows"]
    scores = [f.score for f in rows]
    assert scores == sorted(scores, reverse=True)
    expected = list(
        Finding.objects.filter(tenant=world.tenant_b, state="open").order_by("-score", "id")[:50].values_list("pk")
    )
    assert [(f.pk,) for f in rows] == expected
    # Looney Tunables (KEV, EPSS 0.75) leads; the KEV Chromium findings follow, then the rest.
    assert rows[0].reference == "DSA-5514-1" and rows[0].kev
    assert all(f.kev for f in rows[:5]) and not any(f.kev for f in rows[5:])
    html = response.content.decode()
    assert "In CISA KEV" in html and f"+{risk.KEV_POINTS:g}" in html and "EPSS 0.750" in html
    assert html.index("DSA-5514-1") < html.index("DSA-5724-1") < html.index("DSA-5916-1")
    assert '<span class="badge kev">KEV</span>' in html
    counts = response.context["summary"]
    assert counts["open"] == len(rows) and counts["kev"] == 5


def test_open_is_the_default_and_each_filter_narrows(client, world, fleet):
    alpha, _ = fleet
    fixed = Finding.objects.get(device=alpha, reference="DSA-5954-1")
    Finding.objects.filter(pk=fixed.pk).update(state=FindingState.FIXED)
    sign_in(client, world.tech_all)
    tenant = world.tenant_a
    everything = shown_references(client.get(findings_url(tenant)))
    assert "DSA-5954-1" not in everything and len(everything) == 20
    assert shown_references(client.get(findings_url(tenant, state="fixed"))) == ["DSA-5954-1"]
    assert len(shown_references(client.get(findings_url(tenant, state="all")))) == 21
    assert shown_references(client.get(findings_url(tenant, package="libxslt1-dev"))) == ["DSA-5979-1"]
    assert set(shown_references(client.get(findings_url(tenant, reference="DSA-59")))) < set(everything)
    assert shown_references(client.get(findings_url(tenant, cve=SHARED_CVE))) == ["DSA-5764-1", "DSA-5764-1"]
    assert shown_references(client.get(findings_url(tenant, host="nomatch"))) == []
    assert len(shown_references(client.get(findings_url(tenant, host="alpha-hard")))) == 20

    bravo = world.tenant_b
    kev = client.get(findings_url(bravo, kev="true")).context["rows"]
    assert len(kev) == 5 and all(f.kev for f in kev)
    assert shown_references(client.get(findings_url(bravo, severity="high"))) == ["DSA-5724-1"]
    assert shown_references(client.get(findings_url(bravo, label="attend")))[:1] == ["DSA-5514-1"]
    assert shown_references(client.get(findings_url(bravo, label="act"))) == []


def test_htmx_asks_for_rows_only(client, world, fleet):
    sign_in(client, world.viewer_b)
    response = client.get(findings_url(world.tenant_b, kev="true"), HTTP_HX_REQUEST="true")
    html = response.content.decode().strip()
    assert response.status_code == 200
    assert html.startswith('<tr class="finding">') and "<html" not in html and "<thead" not in html
    assert html.count('<tr class="finding">') == 5


def test_clients_read_advisory_ids_as_text_and_staff_get_links(client, world, fleet):
    sign_in(client, world.owner_a)
    html = client.get(findings_url(world.tenant_a)).content.decode()
    assert "DSA-5764-1" in html and "/advisories/DSA-5764-1/" not in html
    assert f"/cves/{SHARED_CVE}/" in html  # CVE pages are for everyone
    sign_in(client, world.tech_a)
    assert "/advisories/DSA-5764-1/" in client.get(findings_url(world.tenant_a)).content.decode()


def count_queries(client, url) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


def test_the_findings_page_costs_a_bounded_number_of_queries(client, world, fleet):
    sign_in(client, world.owner_b)
    many, response = count_queries(client, findings_url(world.tenant_b, state="all"))
    assert len(response.context["rows"]) > 20
    one, response = count_queries(client, findings_url(world.tenant_b, reference="DSA-5514-1"))
    assert len(response.context["rows"]) == 1
    assert many == one <= FINDINGS_PAGE_QUERIES


# ---- The CVE page --------------------------------------------------------------------------------


def test_a_client_sees_only_their_own_devices_on_a_cve_page(client, world, fleet):
    url = reverse("cve_detail", kwargs={"cve_id": SHARED_CVE})
    sign_in(client, world.owner_a)
    html = client.get(url).content.decode()
    assert shown_hosts(html) == {ALPHA_HOST}
    assert "DSA-5764-1" in html and "/advisories/" not in html
    sign_in(client, world.owner_b)
    assert shown_hosts(client.get(url).content.decode()) == {BRAVO_HOST}
    sign_in(client, world.tech_a)
    assert shown_hosts(client.get(url).content.decode()) == {ALPHA_HOST}
    sign_in(client, world.msp_admin)
    assert shown_hosts(client.get(url).content.decode()) == {ALPHA_HOST, BRAVO_HOST}


def test_a_cve_only_another_tenant_has_is_public_knowledge_without_their_devices(client, world, fleet):
    sign_in(client, world.owner_a)
    response = client.get(reverse("cve_detail", kwargs={"cve_id": "CVE-2023-4911"}))
    html = response.content.decode()
    assert response.status_code == 200
    assert "listed since" in html and "2023-12-12" in html  # KEV entry and its due date
    assert "0.7500" in html  # EPSS
    assert shown_hosts(html) == set() and "None of your devices is affected." in html
    nvd = client.get(reverse("cve_detail", kwargs={"cve_id": "CVE-2025-32462"})).content.decode()
    assert "9.8" in nvd and "Second line &lt;b&gt;not markup&lt;/b&gt;" in nvd and "<br>" in nvd
    assert client.get("/cves/CVE-1999-0000/").status_code == 404


def test_the_cve_api_limits_devices_as_the_page_does(client, world, fleet):
    sign_in(client, world.owner_a)
    body = client.get(f"/api/v1/cves/{SHARED_CVE}/").json()
    assert {f["hostname"] for f in body["findings"]} == {ALPHA_HOST}
    assert {f["tenant"] for f in body["findings"]} == {"alpha"} and body["open_findings"] == 2
    assert body["advisories"] == ["DSA-5764-1"] and body["epss"]["score"] == pytest.approx(0.00512)
    other = client.get("/api/v1/cves/CVE-2023-4911/").json()
    assert other["findings"] == [] and other["kev"]["due_date"] == "2023-12-12"
    listed = client.get("/api/v1/findings/", {"cve": SHARED_CVE}).json()["results"]
    assert {f["hostname"] for f in listed} == {ALPHA_HOST}
    assert client.get("/api/v1/findings/", {"tenant": "bravo"}).json()["results"] == []


# ---- The findings API ----------------------------------------------------------------------------


def test_the_findings_api_filters_and_orders(client, world, fleet):
    alpha, bravo = fleet
    sign_in(client, world.msp_admin)
    results = client.get("/api/v1/findings/", {"page_size": 500}).json()["results"]
    assert [f["score"] for f in results] == sorted((f["score"] for f in results), reverse=True)
    assert {f["tenant"] for f in results} == {"alpha", "bravo"}
    kev = client.get("/api/v1/findings/", {"kev": "true"}).json()["results"]
    assert len(kev) == 5 and {f["hostname"] for f in kev} == {BRAVO_HOST}
    on_alpha = client.get("/api/v1/findings/", {"device": str(alpha.uid), "page_size": 500}).json()["results"]
    assert len(on_alpha) == 21 and {f["device"] for f in on_alpha} == {str(alpha.uid)}
    assert [f["reference"] for f in client.get("/api/v1/findings/", {"severity": "critical"}).json()["results"]] == [
        "DSA-5954-1"
    ]
    oldest_first = client.get("/api/v1/findings/", {"ordering": "first_seen_at", "page_size": 500}).json()["results"]
    seen = [f["first_seen_at"] for f in oldest_first]
    assert seen == sorted(seen)
    assert client.get("/api/v1/findings/", {"label": "attend", "tenant": "alpha"}).json()["results"] == []
    top = Finding.objects.filter(device=bravo).order_by("-score").first()
    detail = client.get(f"/api/v1/findings/{top.pk}/").json()
    assert detail["reference"] == "DSA-5514-1"
    assert {"factor": "In CISA KEV", "points": f"+{risk.KEV_POINTS:g}"} in detail["factors"]


def test_findings_api_hides_other_tenants_findings(client, world, fleet):
    _, bravo = fleet
    sign_in(client, world.viewer_a)
    other = Finding.objects.filter(device=bravo).first()
    assert client.get(f"/api/v1/findings/{other.pk}/").status_code == 404
    results = client.get("/api/v1/findings/", {"page_size": 500}).json()["results"]
    assert results and {f["tenant"] for f in results} == {"alpha"}


# ---- Other apps' pages ---------------------------------------------------------------------------


def test_the_device_page_has_a_findings_section_sorted_by_risk(client, world, fleet):
    _, bravo = fleet
    sign_in(client, world.viewer_b)
    url = reverse("device_detail", kwargs={"tenant_slug": "bravo", "uid": bravo.uid})
    page = client.get(url)
    assert page.context["section"] == "software" and 'href="?section=findings"' in page.content.decode()
    assert client.get(url, {"section": "no-such-section"}).context["section"] == "software"
    response = client.get(url, {"section": "findings"})
    rows = response.context["rows"]
    assert [f.score for f in rows] == sorted((f.score for f in rows), reverse=True)
    assert response.context["risk"]["score"] == rows[0].score and response.context["risk"]["kev"] == 5
    assert "device risk" in response.content.decode()
    partial = client.get(url, {"section": "findings", "partial": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "DSA-5514-1" in partial


def test_the_tenant_summary_has_a_findings_panel(client, world, fleet):
    sign_in(client, world.owner_b)
    response = client.get(reverse("tenant_detail", kwargs={"tenant_slug": "bravo"}))
    html = response.content.decode()
    assert "Riskiest open findings" in html
    panel = next(p for p in response.context["panels"] if p["template"] == "patches/_tenant_panel.html")
    assert [f.reference for f in panel["top"]][:1] == ["DSA-5514-1"] and len(panel["top"]) == 5
    assert panel["counts"]["kev"] == 5 and panel["counts"]["high"] == 1


def test_the_msp_overview_shows_each_tenants_exposure(client, world, fleet, monkeypatch):
    from patches.panels import overview_exposure
    from tenants import extensions

    sign_in(client, world.msp_admin)
    queries, response = count_queries(client, reverse("msp_overview"))
    tenants = {t.slug: t for t in response.context["tenants"]}
    assert tenants["alpha"].findings_open_critical == 1 and tenants["alpha"].findings_open_kev == 0
    assert tenants["bravo"].findings_open_kev == 5 and tenants["bravo"].findings_open_critical == 0
    assert tenants["alpha"].findings_oldest_open_at is not None
    html = response.content.decode()
    assert "Open KEV" in html and "Oldest open (days)" in html and "/t/bravo/findings/?kev=true" in html
    # The columns are subqueries of the tenants query: not one statement more than without them.
    others = [hook for hook in extensions.OVERVIEW_ANNOTATIONS if hook is not overview_exposure]
    monkeypatch.setattr(extensions, "OVERVIEW_ANNOTATIONS", others)
    monkeypatch.setattr("tenants.views.overview.OVERVIEW_ANNOTATIONS", others)
    without, _ = count_queries(client, reverse("msp_overview"))
    assert queries == without


# ---- The score in plain words --------------------------------------------------------------------


def test_the_score_help_states_the_formula_that_patches_risk_computes():
    import datetime as dt

    from django.template.loader import render_to_string
    from django.utils import timezone

    now = timezone.now()
    today = now.date()

    def points(**factors) -> float:
        return risk.score(risk.Factors(**{"cvss": 0.0, **factors}), now)[0]

    kev = risk.KEV_POINTS
    assert points(kev=True, kev_due=today - dt.timedelta(days=1)) == kev + 20
    assert points(kev=True, kev_due=today + dt.timedelta(days=3)) == kev + 15
    assert points(kev=True, kev_due=today + dt.timedelta(days=20)) == kev + 10
    assert points(kev=True, kev_due=today + dt.timedelta(days=60)) == kev + 5
    assert points(kev=True, kev_due=today + dt.timedelta(days=60), ransomware=True) == kev + 10
    assert points(epss=1.0) == 40 and points(cvss=10.0) == 40
    assert points(first_seen=now - dt.timedelta(days=200)) == 10
    assert points(kev=True, cvss=10.0, criticality="critical") == kev + 5 + 40 * risk.CRITICALITY_FACTOR["critical"]

    text = " ".join(render_to_string("patches/_score_help.html", _help_context()).split())
    assert f"adds {kev:g} points" in text
    assert "adds 20 if overdue, 15 within 7 days, 10 within 30 days, 5 otherwise; known ransomware use adds 5" in text
    times = "\u00d7"  # the multiplication sign the page uses
    assert f"40 {times} the EPSS score" in text and f"4 {times} the CVSS base score" in text
    assert "up to 10 points over the first 90 days" in text and f"critical {times}1.4" in text


def _help_context() -> dict:
    from patches.templatetags.findings import score_help

    return score_help()
