"""The patch catalogue for MSP staff: every known patch, and one patch with what it fixes, what
it replaces, the decisions about it and where it is missing.

Patches belong to no tenant (the MSP role decides who reads them); the approvals and device
counts shown with them are limited to the tenants the staff member works on.
"""

from __future__ import annotations

from collections import Counter

from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import get_object_or_404, render
from django.views import View

from advisories.access import MspView
from advisories.models import KevEntry
from patches.filters import SEVERITY_CHOICES, PatchFilter
from patches.models import Approval, Classification, Finding, FindingState, Patch, PatchKind
from patches.models.approvals import CLOSED_STATES
from tenants.models import Tenant

__all__ = ["PatchDetailView", "PatchListView", "devices_missing"]

PAGE_SIZE = 50


class PatchListView(MspView, View):
    msp_capability = "patch.view"

    def get(self, request):
        patches = Patch.objects.select_related("superseded_by")
        filterset = PatchFilter(request.GET, queryset=patches, request=request)
        ordered = filterset.qs.order_by(F("released_on").desc(nulls_last=True), "name", "version", "id")
        page = Paginator(ordered, PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "page": page,
            "filters": request.GET.dict(),
            "query": query.urlencode(),
            "kinds": PatchKind.choices,
            "classifications": Classification.choices,
            "severities": SEVERITY_CHOICES,
        }
        template = "patches/patch_list.html"
        if request.htmx and not request.htmx.boosted:
            template = "patches/_patch_rows.html"
        response = render(request, template, context)
        response["Vary"] = "HX-Request"
        return response


class PatchDetailView(MspView, View):
    msp_capability = "patch.view"

    def get(self, request, pk):
        patch = get_object_or_404(Patch.objects.select_related("superseded_by"), pk=pk)
        access = request.access
        tenants = {t.pk: t for t in Tenant.objects.visible_to(access).filter(archived_at__isnull=True)}
        missing = devices_missing(patch, list(tenants)) if not patch.is_superseded else {}
        approvals = (
            Approval.objects.visible_to(access, "approval.view")
            .filter(patch=patch)
            .exclude(state__in=CLOSED_STATES)
            .select_related("tenant", "site", "group", "device", "decided_by", "policy")
            .order_by("tenant__name", "scope", "id")
        )
        context = {
            "patch": patch,
            "advisories": patch.advisories.order_by("advisory_id"),
            "kev_cves": set(KevEntry.objects.filter(cve_id__in=patch.cves).values_list("cve_id", flat=True)),
            "replaces": Patch.objects.filter(superseded_by=patch).order_by("name", "version"),
            "approvals": approvals,
            "missing": sorted(((tenants[t], n) for t, n in missing.items()), key=lambda pair: pair[0].name),
            "can_decide": access.can_anywhere("approval.decide"),
        }
        return render(request, "patches/patch_detail.html", context)


def devices_missing(patch: Patch, tenant_ids: list[int]) -> dict[int, int]:
    """Per tenant, the devices that miss the patch, counted as the approval queue counts them:
    an open finding it (or a patch it supersedes) fixes, or an offered update not installed."""
    from devices.models import DeviceUpdate

    covered = [patch.pk, *Patch.objects.filter(superseded_by=patch).values_list("pk", flat=True)]
    pairs = set(
        Finding.objects.filter(state=FindingState.OPEN, tenant_id__in=tenant_ids, patch_id__in=covered).values_list(
            "tenant_id", "device_id"
        )
    )
    pairs |= set(
        DeviceUpdate.objects.filter(
            installed=False, tenant_id__in=tenant_ids, device__retired_at__isnull=True, update__patches__in=covered
        ).values_list("tenant_id", "device_id")
    )
    return dict(Counter(tenant_id for tenant_id, _ in pairs))
