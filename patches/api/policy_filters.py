"""Query filters of the policy and accepted-risk endpoints."""

from __future__ import annotations

import django_filters

from patches.models import PatchPolicy, RiskException

__all__ = ["PolicyFilter", "RiskExceptionFilter"]


class PolicyFilter(django_filters.FilterSet):
    tenant = django_filters.CharFilter(field_name="tenant__slug", help_text="Tenant slug.")

    class Meta:
        model = PatchPolicy
        fields = ["tenant", "scope"]


class RiskExceptionFilter(django_filters.FilterSet):
    tenant = django_filters.CharFilter(field_name="tenant__slug", help_text="Tenant slug.")
    revoked = django_filters.BooleanFilter(field_name="revoked_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = RiskException
        fields = ["tenant", "covers", "revoked"]
