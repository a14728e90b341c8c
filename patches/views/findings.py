"""A tenant's findings, riskiest first, with the factors behind each score."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import render
from django.views import View

from advisories.access import msp_can
from patches import queries
from patches.filters import LABEL_CHOICES, SEVERITY_CHOICES, FindingFilter
from patches.models import Finding, FindingState
from portal.views import TenantView

__all__ = ["FindingListView"]

PAGE_SIZE = 50


def page_filters(request) -> QueryDict:
    """The page's filter values: open findings unless another state (or "all") is asked for."""
    data = request.GET.copy()
    data.pop("page", None)
    state = data.get("state") or FindingState.OPEN
    data["state"] = "" if state == "all" else state
    return data


class FindingListView(TenantView, View):
    capability = "finding.view"

    def get(self, request, tenant_slug):
        findings = Finding.objects.in_tenant(self.tenant)
        data = page_filters(request)
        filterset = FindingFilter(data, queryset=findings.select_related("device"), request=request)
        page = Paginator(queries.ranked(filterset.qs), PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        rows = queries.explained(page.object_list)
        context = {
            "tenant": self.tenant,
            "page": page,
            "rows": rows,
            "kev_cves": queries.kev_cves(rows),
            "filters": {**data.dict(), "state": request.GET.get("state") or FindingState.OPEN},
            "query": query.urlencode(),
            "states": [*FindingState.choices, ("all", "All")],
            "severities": SEVERITY_CHOICES,
            "labels": LABEL_CHOICES,
            "link_advisories": msp_can(request.access, "advisory.view"),
        }
        if request.htmx and not request.htmx.boosted:
            return render(request, "patches/_finding_rows.html", context)
        context["summary"] = queries.summary(findings)
        return render(request, "patches/finding_list.html", context)
