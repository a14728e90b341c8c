import django_filters

from tenants.models import AuditEntry, Membership, Site, Tenant


class TenantFilter(django_filters.FilterSet):
    archived = django_filters.BooleanFilter(field_name="archived_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Tenant
        fields = ["is_active", "slug"]


class SiteFilter(django_filters.FilterSet):
    tenant = django_filters.CharFilter(field_name="tenant__slug")

    class Meta:
        model = Site
        fields = ["tenant", "name"]


class MembershipFilter(django_filters.FilterSet):
    tenant = django_filters.CharFilter(field_name="tenant__slug")

    class Meta:
        model = Membership
        fields = ["tenant", "role"]


class AuditEntryFilter(django_filters.FilterSet):
    tenant = django_filters.CharFilter(field_name="tenant__slug")
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields = ["tenant", "action", "source", "object_type", "object_id", "since", "until"]
