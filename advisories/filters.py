"""Filters for advisory lists, shared by the advisories page and the REST API."""

from __future__ import annotations

import django_filters
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Exists, OuterRef, Q

from advisories.access import finding_tenants
from advisories.models import Advisory, AffectedPackage, FeedKind, KevEntry, Severity

__all__ = ["AdvisoryFilter"]

SEVERITY_CHOICES = [(value, label) for value, label in Severity.choices if value]


class AdvisoryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search (id, CVE, text)")
    kind = django_filters.ChoiceFilter(choices=FeedKind.choices, label="Feed kind")
    ecosystem = django_filters.CharFilter(method="in_ecosystem", label="Ecosystem (prefix)")
    severity = django_filters.ChoiceFilter(choices=SEVERITY_CHOICES, label="Severity")
    kev = django_filters.BooleanFilter(method="in_kev", label="Names a CVE in CISA KEV")
    affects_fleet = django_filters.BooleanFilter(method="affecting_fleet", label="Has open findings in my tenants")

    class Meta:
        model = Advisory
        fields = ["q", "kind", "ecosystem", "severity", "kev", "affects_fleet"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(advisory_id__icontains=value)
            | Q(cves__contains=[value.upper()])
            | Q(aliases__contains=[value])
            | Q(summary__icontains=value)
            | Q(details__icontains=value)
        )

    def in_ecosystem(self, queryset, name, value):
        packages = AffectedPackage.objects.filter(advisory=OuterRef("pk"), ecosystem__istartswith=value.strip())
        return queryset.filter(Exists(packages))

    def in_kev(self, queryset, name, value):
        # KEV holds a few thousand CVEs: one array of them, overlapped with each advisory's.
        listed = Q(cves__overlap=ArraySubquery(KevEntry.objects.values("cve_id")))
        return queryset.filter(listed if value else ~listed)

    def affecting_fleet(self, queryset, name, value):
        exposed = Advisory.objects.filter(Q(findings__state="open") & finding_tenants(self.request.access)).values("pk")
        return queryset.filter(pk__in=exposed) if value else queryset.exclude(pk__in=exposed)
