from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.response import Response

from patches.api import serializers
from patches.filters import FindingFilter
from patches.models import Finding, FindingState
from patches.views.cves import CVE_PATTERN, cve_exposure
from portal.viewsets import TenantScopedReadOnlyViewSet

__all__ = ["CveViewSet", "FindingViewSet"]

# A CVE answer lists at most this many findings; the rest are at /findings/?cve=<id>.
CVE_FINDINGS_LIMIT = 200


class FindingViewSet(TenantScopedReadOnlyViewSet):
    """Findings of the tenants you can see, riskiest first. Order by score or first_seen_at."""

    queryset = Finding.objects.select_related("tenant", "device")
    serializer_class = serializers.FindingSerializer
    filterset_class = FindingFilter
    read_capability = "finding.view"
    ordering_fields = ["score", "first_seen_at"]
    ordering = ["-score", "id"]

    def get_serializer_class(self):
        return serializers.FindingDetailSerializer if self.action == "retrieve" else serializers.FindingSerializer


class CveViewSet(viewsets.ViewSet):
    """A CVE (any signed-in user): NVD, KEV and EPSS data, the advisories naming it, and its
    findings in the tenants you can see (riskiest first, at most 200)."""

    lookup_field = "cve_id"
    lookup_value_regex = CVE_PATTERN

    @extend_schema(responses=serializers.CveExposureSerializer)
    def retrieve(self, request, cve_id=None):
        facts = cve_exposure(request._request.access, cve_id)
        findings = facts["findings"]
        facts["open_findings"] = findings.filter(state=FindingState.OPEN).count()
        facts["findings"] = list(findings[:CVE_FINDINGS_LIMIT])
        return Response(serializers.CveExposureSerializer(facts).data)
