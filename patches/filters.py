"""Filters for finding lists, shared by the findings page and the REST API."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from advisories.models import Severity
from patches.models import Approval, ApprovalState, Classification, Finding, FindingState, Patch, PatchKind, Scope

__all__ = ["LABEL_CHOICES", "SEVERITY_CHOICES", "ApprovalFilter", "FindingFilter", "PatchFilter"]

LABEL_CHOICES = [("act", "Act"), ("attend", "Attend"), ("track*", "Track*"), ("track", "Track")]
SEVERITY_CHOICES = [(value, label) for value, label in Severity.choices if value]


class FindingFilter(django_filters.FilterSet):
    tenant = django_filters.CharFilter(field_name="tenant__slug", label="Tenant (slug)")
    device = django_filters.UUIDFilter(field_name="device__uid", label="Device (id)")
    state = django_filters.ChoiceFilter(choices=FindingState.choices, label="State")
    severity = django_filters.ChoiceFilter(choices=SEVERITY_CHOICES, label="Severity")
    kev = django_filters.BooleanFilter(field_name="kev", label="In CISA KEV")
    label = django_filters.ChoiceFilter(choices=LABEL_CHOICES, label="Label")
    cve = django_filters.CharFilter(method="names_cve", label="CVE")
    host = django_filters.CharFilter(field_name="device__hostname", lookup_expr="icontains", label="Device")
    package = django_filters.CharFilter(method="search_package", label="Package")
    reference = django_filters.CharFilter(field_name="reference", lookup_expr="icontains", label="Advisory or KB")

    class Meta:
        model = Finding
        fields = ["tenant", "device", "state", "severity", "kev", "label", "cve", "host", "package", "reference"]

    def names_cve(self, queryset, name, value):
        return queryset.naming_cve(value.strip().upper())

    def search_package(self, queryset, name, value):
        return queryset.filter(Q(package_name__icontains=value) | Q(source_package__icontains=value))


class PatchFilter(django_filters.FilterSet):
    """The patch catalogue's filters, shared by the catalogue page and the REST API."""

    q = django_filters.CharFilter(method="search", label="Search (name, title, product, KB, CVE)")
    kind = django_filters.ChoiceFilter(choices=PatchKind.choices, label="Kind")
    classification = django_filters.ChoiceFilter(choices=Classification.choices, label="Classification")
    severity = django_filters.ChoiceFilter(choices=SEVERITY_CHOICES, label="Severity")
    kev = django_filters.BooleanFilter(field_name="kev", label="Fixes a CVE in CISA KEV")
    superseded = django_filters.BooleanFilter(
        field_name="superseded_by", lookup_expr="isnull", exclude=True, label="Superseded by a newer patch"
    )

    class Meta:
        model = Patch
        fields = ["q", "kind", "classification", "severity", "kev", "superseded"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(name__icontains=value)
            | Q(title__icontains=value)
            | Q(product__icontains=value)
            | Q(cves__contains=[value.upper()])
        )


class ApprovalFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=ApprovalState.choices, label="State")
    scope = django_filters.ChoiceFilter(choices=Scope.choices, label="Scope")
    tenant = django_filters.CharFilter(field_name="tenant__slug", label="Tenant (slug)")
    patch = django_filters.NumberFilter(field_name="patch_id", label="Patch (id)")
    awaiting_client = django_filters.BooleanFilter(method="waiting_for_client", label="Waiting for the client")

    class Meta:
        model = Approval
        fields = ["state", "scope", "tenant", "patch", "awaiting_client"]

    def waiting_for_client(self, queryset, name, value):
        waiting = Q(state=ApprovalState.PENDING, needs_client=True, client_requested_at__isnull=False)
        return queryset.filter(waiting) if value else queryset.exclude(waiting)
