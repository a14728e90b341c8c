"""Advisories for MSP staff: a searchable list and one advisory with its fleet exposure.

Exposure (open findings, tenants, devices) is read through the relation patches declares
(Advisory.findings) and counted only over the tenants the staff member may see.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, render
from django.views import View

from advisories.access import MspView, finding_tenants
from advisories.filters import SEVERITY_CHOICES, AdvisoryFilter
from advisories.models import Advisory, Cve, EpssScore, FeedKind, KevEntry, VexStatement
from advisories.ranges import readable_ranges

__all__ = ["AdvisoryDetailView", "AdvisoryListView"]

PAGE_SIZE = 50
LIST_COLUMNS = ("advisory_id", "kind", "summary", "cves", "severity", "published")


def _open_findings(access):
    return Q(findings__state="open") & finding_tenants(access)


def with_exposure(advisories: list, access) -> list:
    """Add open findings and tenants affected to a page of advisories, in one query."""
    counts = (
        Advisory.objects.filter(pk__in=[a.pk for a in advisories])
        .annotate(
            open_findings=Count("findings", filter=_open_findings(access)),
            tenants_affected=Count("findings__tenant", filter=_open_findings(access), distinct=True),
        )
        .values_list("pk", "open_findings", "tenants_affected")
    )
    by_pk = {pk: (n, tenants) for pk, n, tenants in counts}
    for advisory in advisories:
        advisory.open_findings, advisory.tenants_affected = by_pk.get(advisory.pk, (0, 0))
    return advisories


def kev_listed(cve_ids) -> set[str]:
    return set(KevEntry.objects.filter(cve_id__in=set(cve_ids)).values_list("cve_id", flat=True))


class AdvisoryListView(MspView, View):
    msp_capability = "advisory.view"

    def get(self, request):
        filterset = AdvisoryFilter(request.GET, queryset=Advisory.objects.only(*LIST_COLUMNS), request=request)
        ordered = filterset.qs.order_by("-published", "advisory_id")
        page = Paginator(ordered, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = with_exposure(list(page.object_list), request.access)
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "page": page,
            "rows": rows,
            "kev_cves": kev_listed(cve for a in rows for cve in a.cves),
            "filters": request.GET.dict(),
            "query": query.urlencode(),
            "kinds": FeedKind.choices,
            "severities": SEVERITY_CHOICES,
        }
        template = "advisories/advisory_list.html"
        if request.htmx and not request.htmx.boosted:
            template = "advisories/_advisory_rows.html"
        return render(request, template, context)


class AdvisoryDetailView(MspView, View):
    msp_capability = "advisory.view"

    def get(self, request, advisory_id):
        advisory = get_object_or_404(Advisory.objects.select_related("source"), advisory_id=advisory_id)
        findings = (
            advisory.findings.visible_to(request.access, "finding.view")
            .select_related("tenant", "device")
            .order_by("-score", "id")
        )
        page = Paginator(findings, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {"advisory": advisory, "page": page}
        if request.htmx and not request.htmx.boosted:
            return render(request, "advisories/_affected_device_rows.html", context)
        context.update(self._knowledge(advisory))
        return render(request, "advisories/advisory_detail.html", context)

    @staticmethod
    def _knowledge(advisory) -> dict:
        """What the advisory says and what is known about its CVEs."""
        cves = {c.pk: c for c in Cve.objects.filter(pk__in=advisory.cves)}
        kev = {k.cve_id: k for k in KevEntry.objects.filter(cve_id__in=advisory.cves)}
        epss = {e.cve_id: e for e in EpssScore.objects.filter(cve_id__in=advisory.cves)}
        packages = list(advisory.affected.order_by("ecosystem", "name", "id"))
        for package in packages:
            package.readable_ranges = readable_ranges(package.ranges)
        return {
            "cve_rows": [(cve_id, cves.get(cve_id), kev.get(cve_id), epss.get(cve_id)) for cve_id in advisory.cves],
            "packages": packages,
            "has_git_ranges": advisory.has_git_ranges or any(r.is_git for p in packages for r in p.readable_ranges),
            "vex": VexStatement.objects.filter(cve_id__in=advisory.cves).order_by("cve_id", "package", "status"),
            "references": _references(advisory.references),
        }


def _references(references) -> list[dict]:
    """Only http(s) addresses become links: a feed must not be able to plant javascript: URLs."""
    readable = []
    for ref in references or []:
        if isinstance(ref, dict) and ref.get("url"):
            url = str(ref["url"])
            readable.append(
                {"type": str(ref.get("type", "")), "url": url, "link": url.startswith(("https://", "http://"))}
            )
    return readable
