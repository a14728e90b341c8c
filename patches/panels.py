"""What patches adds to other apps' pages: the device's findings, the tenant summary panel,
and the exposure columns of the MSP overview."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, Min, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from advisories.access import msp_can
from patches import queries
from patches.explain import device_risk
from patches.models import Finding, FindingState

__all__ = ["device_findings", "overview_exposure", "tenant_findings_panel"]

DEVICE_PAGE_SIZE = 50
TOP_FINDINGS = 5


def device_findings(request, device) -> dict:
    """The device page's Findings section: open findings riskiest first (all with ?state=all)."""
    findings = Finding.objects.filter(device=device).select_related("device")
    show_all = request.GET.get("state") == "all"
    if not show_all:
        findings = findings.filter(state=FindingState.OPEN)
    page = Paginator(queries.ranked(findings), DEVICE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = queries.explained(page.object_list)
    return {
        "risk": device_risk(device),
        "findings_page": page,
        "rows": rows,
        "kev_cves": queries.kev_cves(rows),
        "show_all": show_all,
        "link_advisories": msp_can(request.access, "advisory.view"),
    }


def tenant_findings_panel(request, tenant) -> dict:
    findings = Finding.objects.in_tenant(tenant)
    top = queries.ranked(findings.filter(state=FindingState.OPEN).select_related("device"))[:TOP_FINDINGS]
    return {
        "template": "patches/_tenant_panel.html",
        "counts": queries.summary(findings),
        "top": list(top),
        "can_view": request.access.can(tenant.pk, "finding.view"),
    }


def _open_findings_per_tenant(**conditions):
    return Finding.objects.filter(tenant=OuterRef("pk"), state=FindingState.OPEN, **conditions).values("tenant")


def overview_exposure(tenants):
    """Per tenant: open critical and KEV findings and the oldest open one, as subqueries so the
    overview's other joins (sites, people, devices) do not multiply them."""

    def count(**conditions):
        counted = _open_findings_per_tenant(**conditions).annotate(n=Count("id")).values("n")
        return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))

    oldest = _open_findings_per_tenant().annotate(first=Min("first_seen_at")).values("first")
    return tenants.annotate(
        findings_open_critical=count(severity="critical"),
        findings_open_kev=count(kev=True),
        findings_oldest_open_at=Subquery(oldest),
    )
