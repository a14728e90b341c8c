"""A CVE: what the world knows about it, and which of the user's devices it affects.

The CVE itself is public knowledge, so any signed-in user may open it; the devices are
limited to the tenants the user may see (a client owner sees only their own company's).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views import View

from advisories.access import msp_can
from advisories.models import Advisory, Cve, EpssScore, KevEntry
from patches import queries
from patches.models import Finding
from portal.views import PortalView

__all__ = ["CVE_PATTERN", "CveDetailView", "cve_exposure"]

CVE_PATTERN = r"CVE-\d{4}-\d{4,}"
PAGE_SIZE = 50


def cve_exposure(access, cve_id: str) -> dict:
    """Everything the page and the API show about a CVE; 404 when nothing at all is known."""
    findings = Finding.objects.visible_to(access, "finding.view").naming_cve(cve_id)
    facts = {
        "cve_id": cve_id,
        "cve": Cve.objects.filter(pk=cve_id).first(),
        "kev": KevEntry.objects.filter(cve_id=cve_id).first(),
        "epss": EpssScore.objects.filter(cve_id=cve_id).first(),
        "advisories": list(
            Advisory.objects.filter(cves__contains=[cve_id]).only("advisory_id", "summary", "severity", "published")
        ),
        "findings": queries.ranked(findings.select_related("tenant", "device")),
    }
    known = facts["cve"] or facts["kev"] or facts["epss"] or facts["advisories"]
    if not known and not findings.exists():
        raise Http404("Nothing is known about this CVE.")
    return facts


class CveDetailView(PortalView, View):
    def get(self, request, cve_id):
        facts = cve_exposure(request.access, cve_id)
        page = Paginator(facts["findings"], PAGE_SIZE).get_page(request.GET.get("page"))
        context = {
            **facts,
            "page": page,
            "summary": queries.summary(facts["findings"]),
            "show_tenant": request.access.all_tenants or len(request.access.tenant_ids) > 1,
            "link_advisories": msp_can(request.access, "advisory.view"),
        }
        template = "patches/cve_detail.html"
        if request.htmx and not request.htmx.boosted:
            template = "patches/_cve_device_rows.html"
        return render(request, template, context)
