"""Query filters of the deployments endpoints."""

from __future__ import annotations

import django_filters

from deployments.models import BlackoutPeriod, Deployment, Job, MaintenanceWindow, Ring

__all__ = ["BlackoutFilter", "DeploymentFilter", "JobFilter", "RingFilter", "WindowFilter"]


class _TenantFilter(django_filters.FilterSet):
    tenant = django_filters.CharFilter(field_name="tenant__slug", help_text="Tenant slug.")


class RingFilter(_TenantFilter):
    class Meta:
        model = Ring
        fields = ["tenant"]


class WindowFilter(_TenantFilter):
    class Meta:
        model = MaintenanceWindow
        fields = ["tenant", "purpose", "recurrence", "active"]


class BlackoutFilter(_TenantFilter):
    ends_after = django_filters.DateFilter(field_name="ends_on", lookup_expr="gte", help_text="Ends on or after.")

    class Meta:
        model = BlackoutPeriod
        fields = ["tenant", "ends_after"]


class DeploymentFilter(_TenantFilter):
    class Meta:
        model = Deployment
        fields = ["tenant", "state", "run_now", "dry_run", "origin"]


class JobFilter(_TenantFilter):
    device = django_filters.UUIDFilter(field_name="device__uid", help_text="The device's uid.")
    state = django_filters.MultipleChoiceFilter(choices=Job._meta.get_field("state").choices)

    class Meta:
        model = Job
        fields = ["tenant", "deployment", "stage", "state", "device", "kind"]
