from __future__ import annotations

from rest_framework import serializers

from patches.explain import explain
from patches.models import Finding

__all__ = ["CveExposureSerializer", "FindingDetailSerializer", "FindingSerializer"]


class FindingSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    device = serializers.UUIDField(source="device.uid", read_only=True)
    hostname = serializers.CharField(source="device.hostname", read_only=True)

    class Meta:
        model = Finding
        fields = [
            "id",
            "tenant",
            "device",
            "hostname",
            "kind",
            "reference",
            "package_name",
            "source_package",
            "installed_version",
            "fixed_version",
            "cves",
            "severity",
            "kev",
            "kev_due",
            "ransomware",
            "epss",
            "cvss",
            "score",
            "label",
            "state",
            "first_seen_at",
            "fixed_at",
        ]
        read_only_fields = fields


class FactorSerializer(serializers.Serializer):
    factor = serializers.CharField()
    points = serializers.CharField()


class FindingDetailSerializer(FindingSerializer):
    """One finding with the factors behind its score, recomputed now."""

    factors = serializers.SerializerMethodField()

    class Meta(FindingSerializer.Meta):
        fields = [*FindingSerializer.Meta.fields, "factors"]
        read_only_fields = fields

    def get_factors(self, finding) -> list[dict]:
        return [{"factor": factor, "points": points} for factor, points in explain(finding)["parts"]]


class CveExposureSerializer(serializers.Serializer):
    """A CVE as the world knows it, and the findings it causes in the caller's visible tenants."""

    cve_id = serializers.CharField()
    description = serializers.CharField(source="cve.description", default="")
    published = serializers.DateTimeField(source="cve.published", default=None)
    cvss3_score = serializers.DecimalField(max_digits=3, decimal_places=1, source="cve.cvss3_score", default=None)
    cvss3_vector = serializers.CharField(source="cve.cvss3_vector", default="")
    cvss4_score = serializers.DecimalField(max_digits=3, decimal_places=1, source="cve.cvss4_score", default=None)
    kev = serializers.SerializerMethodField()
    epss = serializers.SerializerMethodField()
    advisories = serializers.SerializerMethodField()
    open_findings = serializers.IntegerField()
    findings = FindingSerializer(many=True)

    def get_kev(self, facts) -> dict | None:
        kev = facts["kev"]
        if kev is None:
            return None
        return {
            "date_added": kev.date_added,
            "due_date": kev.due_date,
            "ransomware": kev.ransomware,
            "required_action": kev.required_action,
        }

    def get_epss(self, facts) -> dict | None:
        epss = facts["epss"]
        return None if epss is None else {"score": epss.score, "percentile": epss.percentile, "date": epss.scored_on}

    def get_advisories(self, facts) -> list[str]:
        return [a.advisory_id for a in facts["advisories"]]
