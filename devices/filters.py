"""Filters for device lists, shared by the pages and the REST API."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from devices.models import Criticality, Device, DeviceGroup, DeviceState, OsFamily


class DeviceFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    tenant = django_filters.CharFilter(field_name="tenant__slug", label="Tenant")
    site = django_filters.NumberFilter(field_name="site_id", label="Site")
    group = django_filters.NumberFilter(method="in_group", label="Group")
    os_family = django_filters.ChoiceFilter(choices=OsFamily.choices, label="OS")
    ecosystem = django_filters.CharFilter(field_name="ecosystem", lookup_expr="istartswith", label="Ecosystem")
    state = django_filters.ChoiceFilter(choices=DeviceState.choices, method="in_state", label="State")
    tag = django_filters.CharFilter(method="has_tag", label="Tag")
    criticality = django_filters.ChoiceFilter(choices=Criticality.choices, label="Criticality")
    simulated = django_filters.BooleanFilter(field_name="is_simulated", label="Simulated")

    class Meta:
        model = Device
        fields = ["q", "tenant", "site", "group", "os_family", "ecosystem", "state", "tag", "criticality"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(hostname__icontains=value) | Q(fqdn__icontains=value) | Q(os_name__icontains=value))

    def in_group(self, queryset, name, value):
        group = DeviceGroup.objects.filter(pk=value).first()
        return queryset.filter(pk__in=group.devices().values("pk")) if group else queryset.none()

    def in_state(self, queryset, name, value):
        return queryset.in_state(value)

    def has_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value])
