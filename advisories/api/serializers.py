from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from advisories.forms import MIN_INTERVAL_MINUTES, clean_location
from advisories.models import Advisory, AffectedPackage, FeedRun, FeedSource

__all__ = [
    "AdvisoryDetailSerializer",
    "AdvisorySerializer",
    "AffectedPackageSerializer",
    "FeedRunSerializer",
    "FeedSourceSerializer",
]


class AffectedPackageSerializer(serializers.ModelSerializer):
    class Meta:
        model = AffectedPackage
        fields = ["ecosystem", "name", "purl", "ranges", "versions", "fixed_versions", "severity"]


class AdvisorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Advisory
        fields = [
            "advisory_id",
            "kind",
            "summary",
            "aliases",
            "cves",
            "severity",
            "cvss_score",
            "cvss_vector",
            "published",
            "modified",
            "withdrawn",
            "has_git_ranges",
        ]
        read_only_fields = fields


class AdvisoryDetailSerializer(AdvisorySerializer):
    affected = AffectedPackageSerializer(many=True, read_only=True)

    class Meta(AdvisorySerializer.Meta):
        fields = [*AdvisorySerializer.Meta.fields, "details", "references", "affected"]
        read_only_fields = fields


class FeedSourceSerializer(serializers.ModelSerializer):
    healthy = serializers.BooleanField(read_only=True)

    class Meta:
        model = FeedSource
        fields = [
            "id",
            "name",
            "kind",
            "url",
            "interval_minutes",
            "enabled",
            "etag",
            "last_modified",
            "last_attempt_at",
            "last_success_at",
            "last_failure_at",
            "last_error",
            "record_count",
            "healthy",
            "created_at",
        ]
        read_only_fields = [f for f in fields if f not in ("name", "kind", "url", "interval_minutes", "enabled")]

    def validate_url(self, value):
        try:
            return clean_location(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    def validate_interval_minutes(self, value):
        if value < MIN_INTERVAL_MINUTES:
            raise serializers.ValidationError(f"At least {MIN_INTERVAL_MINUTES} minutes.")
        return value


class FeedRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = FeedRun
        fields = [
            "id",
            "source",
            "kind",
            "location",
            "started_at",
            "finished_at",
            "status",
            "added",
            "updated",
            "unchanged",
            "skipped",
            "errors",
            "error",
        ]
        read_only_fields = fields
